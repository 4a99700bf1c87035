//! Replays a span of virtual time as fast as the simulation goes, ahead of the
//! wall clock, and hands each instant's journal (the series that stepped, the
//! events on the bus) to a recorder: the engine behind `promemu backfill`
//! (OpenMetrics history, see [`history`]) and `promemu preview` (charts, see
//! [`preview`]). Live runs are paced by `run` instead.

pub mod direct_file;
pub mod history;
pub mod pages;
pub mod preview;
pub mod text;

use crate::sim::{Journal, Simulation, VirtualTime};

/// How far a replay got.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReplayStats {
    /// Instants at which something ran.
    pub instants: u64,
    /// Steps whose values were taken.
    pub steps: u64,
    /// Events on the bus.
    pub events: u64,
    /// The virtual time the replay ended at.
    pub reached: VirtualTime,
    /// Every host reached its TTL before the end of the span: nothing steps
    /// after `reached`.
    pub hosts_ended_early: bool,
}

/// Runs `sim` through every instant up to and including `until` (or until
/// every host has expired; its hosts take no reports, see
/// [`Simulation::skip_reports`]), calling `at_instant` after each with the
/// simulation and what happened at that instant; `progress` hears the virtual
/// time now and then. Stops at the first error of `at_instant`.
pub fn replay<E>(
    sim: &mut Simulation,
    until: VirtualTime,
    mut at_instant: impl FnMut(&Simulation, &Journal) -> Result<(), E>,
    mut progress: impl FnMut(VirtualTime, &ReplayStats),
) -> Result<ReplayStats, E> {
    /// Instants between two progress calls.
    const PROGRESS_EVERY: u64 = 256;
    sim.keep_journal();
    sim.skip_reports();
    let mut stats = ReplayStats::default();
    let mut spare = Journal::default();
    while let Some(due) = sim.next_due().filter(|due| *due <= until) {
        sim.advance_to(due);
        let journal = sim.swap_journal(std::mem::take(&mut spare));
        stats.instants += 1;
        stats.steps += journal.stepped.len() as u64;
        stats.events += journal.events.len() as u64;
        stats.reached = due;
        at_instant(sim, &journal)?;
        spare = journal;
        spare.clear();
        if sim.is_finished() {
            stats.hosts_ended_early = due < until;
            break;
        }
        if stats.instants % PROGRESS_EVERY == 0 {
            progress(due, &stats);
        }
    }
    progress(stats.reached, &stats);
    Ok(stats)
}
