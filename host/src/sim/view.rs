//! Read-only views of the simulation's hosts and series: what the mixer, the
//! status report and tests may know of them. The state itself stays private to
//! the simulation.

use crate::model::{HostConfig, MetricConfig, MetricKind};

use super::clock::VirtualTime;
use super::engine::{HostState, Simulation};
use super::ids::{HostId, SeriesId};
use super::series::{Sample, SeriesCold, SeriesState};

/// One host as it stands.
#[derive(Clone, Copy)]
pub struct HostView<'a> {
    sim: &'a Simulation,
    id: HostId,
    state: &'a HostState,
}

impl<'a> HostView<'a> {
    pub(super) fn new(sim: &'a Simulation, id: HostId, state: &'a HostState) -> Self {
        Self { sim, id, state }
    }

    pub fn id(&self) -> HostId {
        self.id
    }

    /// The host as configured (identity filled).
    pub fn config(&self) -> &'a HostConfig {
        &self.state.config
    }

    pub fn name(&self) -> &'a str {
        &self.state.config.name
    }

    /// Whether the host has not yet reached its TTL.
    pub fn is_alive(&self) -> bool {
        self.state.alive
    }

    /// When the host reaches its TTL; `None` for never.
    pub fn expires_at(&self) -> Option<VirtualTime> {
        self.state.expires_at
    }

    /// When the host last reported its series (what `reported` samples are
    /// as of); `None` before its first report.
    pub fn reported_at(&self) -> Option<VirtualTime> {
        self.state.reported_at
    }

    /// How long the host (this incarnation of it) has lived: until now, or
    /// until its TTL once expired.
    pub fn uptime(&self) -> VirtualTime {
        let now = self.sim.now();
        self.state
            .expires_at
            .map_or(now, |expiry| expiry.min(now))
            .saturating_sub(self.state.born_at)
    }

    /// When this incarnation of the host started (zero unless it respawned).
    pub fn born_at(&self) -> VirtualTime {
        self.state.born_at
    }

    /// How many times the host respawned (`respawn = true`); each time it
    /// has a new name, `host` and `address`.
    pub fn incarnation(&self) -> u32 {
        self.state.incarnation
    }

    /// Time left until its TTL (zero once expired); `None` for never.
    pub fn ttl_remaining(&self) -> Option<VirtualTime> {
        self.state.expires_at.map(|expiry| {
            if self.state.alive {
                expiry.saturating_sub(self.sim.now())
            } else {
                VirtualTime::ZERO
            }
        })
    }

    /// The host's series, in config order.
    pub fn series(&self) -> impl ExactSizeIterator<Item = SeriesView<'a>> + 'a {
        let sim = self.sim;
        self.state
            .series
            .clone()
            .map(move |index| sim.series_view(SeriesId::new(index)))
    }

    /// The host's series for `metric`, if it has one.
    pub fn metric(&self, metric: &str) -> Option<SeriesView<'a>> {
        self.series().find(|series| series.metric().name == metric)
    }
}

/// One series as it stands.
#[derive(Clone, Copy)]
pub struct SeriesView<'a> {
    id: SeriesId,
    state: &'a SeriesState,
    cold: &'a SeriesCold,
}

impl<'a> SeriesView<'a> {
    pub(super) fn new(id: SeriesId, state: &'a SeriesState, cold: &'a SeriesCold) -> Self {
        Self { id, state, cold }
    }

    pub fn id(&self) -> SeriesId {
        self.id
    }

    pub fn host(&self) -> HostId {
        self.cold.host
    }

    /// The metric as configured.
    pub fn metric(&self) -> &'a MetricConfig {
        &self.state.config
    }

    /// Gauge value, counter increment or histogram observation of the last step.
    pub fn value(&self) -> f64 {
        self.state.value
    }

    /// The value other series see through links (a counter's total).
    pub fn linked_value(&self) -> f64 {
        self.state.linked_value()
    }

    /// The series' sample as it stands (what its host would report now).
    pub fn current(&self) -> Sample {
        self.state.sample(self.cold)
    }

    /// A histogram's cumulative bucket counts, sum and count as they stand,
    /// borrowed (`None` for gauges and counters, whose sample is
    /// [`Self::linked_value`]).
    pub fn histogram(&self) -> Option<(&'a [u64], f64, u64)> {
        self.cold
            .histogram
            .as_deref()
            .map(|histogram| (histogram.buckets.as_slice(), histogram.sum, histogram.count))
    }

    /// A histogram's bucket upper bounds (empty for gauges and counters).
    pub fn bounds(&self) -> &'a [f64] {
        if self.state.config.kind == MetricKind::Histogram {
            self.state.bounds()
        } else {
            &[]
        }
    }

    /// What the host last reported for this series; `None` when not exposed.
    pub fn reported(&self) -> Option<&'a Sample> {
        self.cold.reported.as_ref()
    }

    /// Steps taken (scheduled and for events), faulty ones included.
    pub fn steps(&self) -> u64 {
        self.state.steps
    }

    /// Steps that faulted.
    pub fn faults(&self) -> u64 {
        self.cold.faults
    }

    /// Whether the fault policy `drop` removed the series.
    pub fn is_dropped(&self) -> bool {
        self.state.dropped
    }
}

/// What the hosts last reported, series by series: the part of the simulation
/// that readers on other threads may share (see [`Simulation::reports`]).
#[derive(Clone, Copy)]
pub struct Reports<'a> {
    series: &'a [SeriesCold],
}

impl<'a> Reports<'a> {
    pub(super) fn new(series: &'a [SeriesCold]) -> Self {
        Self { series }
    }

    /// What the host of `series` last reported for it; `None` when not exposed.
    pub fn of(&self, series: SeriesId) -> Option<&'a Sample> {
        self.series[series.index()].reported.as_ref()
    }
}
