//! What happened at the instants the simulation ran through: the series that
//! took a value and the events on the bus. Kept only when a reader asks for it
//! (backfill and preview replay a span and write down every step); a live run
//! reads snapshots instead and keeps none.

use super::clock::VirtualTime;
use super::ids::SeriesId;

/// The steps and events since the journal was last taken.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Journal {
    /// Series that took a step's value, in the order they took it (a series
    /// stepped twice at one instant, for its schedule and for an event, is here twice).
    pub stepped: Vec<Stepped>,
    /// Events delivered on the bus, in the order they were sent.
    pub events: Vec<JournalEvent>,
}

/// A series that took a step's value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stepped {
    pub series: SeriesId,
    /// What other series see of it after the step (see
    /// [`SeriesView::linked_value`](super::SeriesView::linked_value)): a gauge's
    /// value, a counter's total, a histogram's last observation.
    pub value: f64,
}

/// One event as the bus carried it.
#[derive(Debug, Clone, PartialEq)]
pub struct JournalEvent {
    pub time: VirtualTime,
    pub name: String,
    /// The source the event names (a host, by the contract's convention).
    pub source: String,
}

impl Journal {
    pub fn is_empty(&self) -> bool {
        self.stepped.is_empty() && self.events.is_empty()
    }

    /// Empties the journal, keeping its allocations.
    pub fn clear(&mut self) {
        self.stepped.clear();
        self.events.clear();
    }
}
