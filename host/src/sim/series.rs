//! One series: its kind's semantics (gauge, counter, histogram), its activity
//! window and what its host last reported.

use std::sync::Arc;

use crate::model::{DEFAULT_BUCKETS, MetricConfig, MetricKind};
use crate::plugin::{MemberId, SlotId};

use super::clock::VirtualTime;
use super::ids::{GroupIndex, HostId, PluginId};

/// A metric of a host's metric list, which the hosts of a group share: a
/// series holds a pointer and an index, not a copy of its metric.
#[derive(Debug, Clone)]
pub(super) struct SharedMetric {
    list: Arc<Vec<MetricConfig>>,
    index: usize,
}

impl SharedMetric {
    pub(super) fn new(list: &Arc<Vec<MetricConfig>>, index: usize) -> Self {
        Self {
            list: list.clone(),
            index,
        }
    }

    /// Where the metric is in its host's metric list.
    pub(super) fn index(&self) -> usize {
        self.index
    }
}

impl std::ops::Deref for SharedMetric {
    type Target = MetricConfig;

    fn deref(&self) -> &MetricConfig {
        &self.list[self.index]
    }
}

/// Where a series' scenario runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Runner {
    /// Its own scenario handle in a plugin instance, stepped on its own.
    Single { plugin: PluginId, slot: SlotId },
    /// A member of a series group, stepped with the group (see `groups`).
    Grouped { group: GroupIndex, member: MemberId },
}

/// A reported value, ready for exposition. A histogram's is boxed, so that
/// every series' last report takes 16 bytes whatever its kind.
#[derive(Debug, Clone, PartialEq)]
pub enum Sample {
    Gauge(f64),
    Counter(f64),
    Histogram(Box<HistogramSample>),
}

/// A histogram's buckets (upper bounds and cumulative counts), sum and count.
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramSample {
    pub bounds: Vec<f64>,
    pub cumulative: Vec<u64>,
    pub sum: f64,
    pub count: u64,
}

impl Sample {
    /// A histogram's sample.
    pub fn histogram(bounds: Vec<f64>, cumulative: Vec<u64>, sum: f64, count: u64) -> Self {
        Sample::Histogram(Box::new(HistogramSample {
            bounds,
            cumulative,
            sum,
            count,
        }))
    }
}

/// What a histogram series counted since it became active: its cumulative
/// bucket counts (an observation counts into every bucket whose bound it is
/// under), its sum and count.
#[derive(Debug, Clone, Default)]
pub(super) struct HistogramState {
    pub(super) buckets: Vec<u64>,
    pub(super) sum: f64,
    pub(super) count: u64,
}

/// Why a step's value was not taken as it came.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueIssue {
    /// NaN or infinite: ignored, the last value is kept.
    NotFinite,
    /// Outside the metric's range: clamped.
    OutOfRange,
    /// A counter's total or a histogram's sum would have left the finite numbers:
    /// it started again from this value, as a restarted process's would (a reset
    /// that `rate()` and `increase()` understand).
    Reset,
}

/// A histogram metric's bucket bounds: its own, or the default ones.
fn bounds_of(metric: &MetricConfig) -> &[f64] {
    if metric.buckets.is_empty() {
        &DEFAULT_BUCKETS
    } else {
        &metric.buckets
    }
}

impl HistogramState {
    fn clear(&mut self) {
        self.buckets.iter_mut().for_each(|count| *count = 0);
        self.sum = 0.0;
        self.count = 0;
    }

    /// Counts `value` into every bucket whose bound (of `bounds`) it is under.
    fn observe(&mut self, bounds: &[f64], value: f64) {
        let first = bounds
            .iter()
            .position(|bound| value <= *bound)
            .unwrap_or(bounds.len());
        self.buckets
            .iter_mut()
            .skip(first)
            .for_each(|count| *count += 1);
        self.sum += value;
        self.count += 1;
    }
}

/// The state of one metric of one host that a step reads and writes: one
/// cache line (a group step walks it for each member), the rest of the state
/// kept apart in a [`SeriesCold`]. Only the simulation changes it; readers see
/// it through [`super::SeriesView`].
#[derive(Debug, Clone)]
pub(super) struct SeriesState {
    pub(super) config: SharedMetric,
    pub(super) active: bool,
    /// When the series was last activated, in seconds: what each step's
    /// elapsed time is taken from (without a division per step). The instant
    /// itself is [`SeriesCold::activated_at`].
    pub(super) activated_secs: f64,
    /// Gauge value, counter increment or histogram observation of the last step.
    pub(super) value: f64,
    pub(super) counter_total: f64,
    pub(super) steps: u64,
    /// Consecutive faulty steps, for logging once per burst.
    pub(super) fault_streak: u32,
    /// No steps or event deliveries before this time (fault backoff).
    pub(super) retry_at: VirtualTime,
    /// Removed for good after a fault (fault policy `drop`).
    pub(super) dropped: bool,
}

/// The state of a series that steps in groups do not touch (but a
/// histogram's, read only for histograms).
#[derive(Debug, Clone)]
pub(super) struct SeriesCold {
    pub(super) host: HostId,
    pub(super) runner: Runner,
    /// Other series of the same host this one reads, by metric name.
    pub(super) links: Box<[(String, super::SeriesId)]>,
    pub(super) interval: VirtualTime,
    /// When the series was last activated.
    pub(super) activated_at: VirtualTime,
    /// A histogram's counts (`None` for gauges and counters).
    pub(super) histogram: Option<Box<HistogramState>>,
    /// What the host last reported for this series (`None` when not exposed).
    pub(super) reported: Option<Sample>,
    pub(super) faults: u64,
    /// When the next step of a series stepped on its own is due (`None`
    /// while none is scheduled): a step task due at another time is stale.
    pub(super) next_step: Option<VirtualTime>,
}

impl SeriesCold {
    /// Counts a histogram's observation; says whether its sum would have
    /// overflowed (the counts start again).
    pub(super) fn observe(&mut self, bounds: &[f64], value: f64) -> bool {
        let Some(histogram) = &mut self.histogram else {
            return false;
        };
        let reset = !(histogram.sum + value).is_finite();
        if reset {
            histogram.clear();
        }
        histogram.observe(bounds, value);
        reset
    }
}

impl SeriesState {
    /// A series of `host` not yet active, and the rest of its state.
    pub(super) fn new(host: HostId, config: SharedMetric, runner: Runner) -> (Self, SeriesCold) {
        // Only histograms count into buckets.
        let histogram = match (config.kind, config.buckets.is_empty()) {
            (MetricKind::Histogram, true) => Some(DEFAULT_BUCKETS.len()),
            (MetricKind::Histogram, false) => Some(config.buckets.len()),
            _ => None,
        }
        .map(|buckets| {
            Box::new(HistogramState {
                buckets: vec![0; buckets],
                ..HistogramState::default()
            })
        });
        let cold = SeriesCold {
            host,
            runner,
            links: Box::default(),
            interval: VirtualTime::interval(config.update_interval),
            activated_at: VirtualTime::ZERO,
            histogram,
            reported: None,
            faults: 0,
            next_step: None,
        };
        let state = Self {
            value: config.default_value,
            active: false,
            activated_secs: 0.0,
            counter_total: 0.0,
            steps: 0,
            fault_streak: 0,
            retry_at: VirtualTime::ZERO,
            dropped: false,
            config,
        };
        (state, cold)
    }

    /// Starts the activity window: back to the default value, totals at zero.
    pub(super) fn activate(&mut self, cold: &mut SeriesCold, now: VirtualTime) {
        self.active = true;
        cold.activated_at = now;
        self.activated_secs = now.as_secs();
        self.value = self.config.default_value;
        self.counter_total = 0.0;
        if let Some(histogram) = &mut cold.histogram {
            histogram.clear();
        }
    }

    /// Seconds from the activation to `now_secs`.
    #[inline(always)]
    pub(super) fn elapsed_secs(&self, now_secs: f64) -> f64 {
        now_secs - self.activated_secs
    }

    /// Whether the series may step at `now` (active, not dropped, not backing off).
    pub(super) fn can_step(&self, now: VirtualTime) -> bool {
        self.active && !self.dropped && now >= self.retry_at
    }

    /// Takes a step's value by the kind's rules; says what was wrong with it, if anything.
    ///
    /// A histogram's observation goes to `observe` (see
    /// [`SeriesCold::observe`]), called for histograms only: their counts are
    /// in another cache line, which a gauge's or a counter's step must not load.
    #[inline]
    pub(super) fn apply(
        &mut self,
        raw: f64,
        observe: impl FnOnce(&[f64], f64) -> bool,
    ) -> Option<ValueIssue> {
        if !raw.is_finite() {
            return Some(ValueIssue::NotFinite);
        }
        // `+ 0.0` turns -0 into 0: the exposition never shows "-0".
        let value = raw.clamp(self.config.min, self.config.max) + 0.0;
        self.value = value;
        let mut reset = false;
        match self.config.kind {
            MetricKind::Gauge => {}
            MetricKind::Counter => {
                let total = self.counter_total + value.max(0.0);
                reset = !total.is_finite();
                self.counter_total = if reset { value.max(0.0) } else { total };
            }
            MetricKind::Histogram => reset = observe(bounds_of(&self.config), value),
        }
        if reset {
            Some(ValueIssue::Reset)
        } else {
            (value != raw).then_some(ValueIssue::OutOfRange)
        }
    }

    pub(super) fn bounds(&self) -> &[f64] {
        bounds_of(&self.config)
    }

    /// The value other series see through links: gauge value, counter total, or
    /// the last histogram observation.
    pub(super) fn linked_value(&self) -> f64 {
        match self.config.kind {
            MetricKind::Counter => self.counter_total,
            MetricKind::Gauge | MetricKind::Histogram => self.value,
        }
    }

    /// The series' current sample.
    pub(super) fn sample(&self, cold: &SeriesCold) -> Sample {
        match self.config.kind {
            MetricKind::Gauge => Sample::Gauge(self.value),
            MetricKind::Counter => Sample::Counter(self.counter_total),
            MetricKind::Histogram => {
                let histogram = cold.histogram.as_deref().cloned().unwrap_or_default();
                Sample::histogram(
                    self.bounds().to_vec(),
                    histogram.buckets,
                    histogram.sum,
                    histogram.count,
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A series' state and the rest of it.
    type Series = (SeriesState, SeriesCold);

    fn series(kind: MetricKind) -> Series {
        series_up_to(kind, 100.0)
    }

    fn series_up_to(kind: MetricKind, max: f64) -> Series {
        let mut config = MetricConfig::new("m");
        config.kind = kind;
        config.max = max;
        config.buckets = vec![1.0, 5.0, 10.0];
        let runner = Runner::Single {
            plugin: PluginId::new(0),
            slot: SlotId::new(0),
        };
        SeriesState::new(
            HostId::new(0),
            SharedMetric::new(&Arc::new(vec![config]), 0),
            runner,
        )
    }

    /// Applies `raw` to `series` as the simulation does.
    fn apply(series: &mut Series, raw: f64) -> Option<ValueIssue> {
        let (state, cold) = series;
        state.apply(raw, |bounds, value| cold.observe(bounds, value))
    }

    #[test]
    fn what_a_step_touches_fits_a_cache_line() {
        assert!(std::mem::size_of::<SeriesState>() <= 64);
    }

    #[test]
    fn a_counter_never_goes_down() {
        let mut counter = series(MetricKind::Counter);
        counter.0.activate(&mut counter.1, VirtualTime::ZERO);
        for increment in [3.0, -4.0, 2.0, 0.0] {
            apply(&mut counter, increment);
        }
        assert_eq!(counter.0.sample(&counter.1), Sample::Counter(5.0));
    }

    #[test]
    fn a_histogram_counts_observations_into_cumulative_buckets() {
        let mut histogram = series(MetricKind::Histogram);
        histogram.0.activate(&mut histogram.1, VirtualTime::ZERO);
        for observation in [0.5, 3.0, 7.0, 50.0] {
            apply(&mut histogram, observation);
        }
        assert_eq!(
            histogram.0.sample(&histogram.1),
            Sample::histogram(vec![1.0, 5.0, 10.0], vec![1, 2, 3], 60.5, 4)
        );
    }

    #[test]
    fn values_are_clamped_and_non_finite_values_ignored() {
        let mut gauge = series(MetricKind::Gauge);
        assert_eq!(apply(&mut gauge, 250.0), Some(ValueIssue::OutOfRange));
        assert_eq!(gauge.0.value, 100.0);
        assert_eq!(apply(&mut gauge, f64::NAN), Some(ValueIssue::NotFinite));
        assert_eq!(gauge.0.value, 100.0);
        assert_eq!(apply(&mut gauge, 42.0), None);
        apply(&mut gauge, -0.0);
        assert!(gauge.0.value.is_sign_positive(), "-0 is shown as 0");
    }

    #[test]
    fn a_total_that_would_overflow_starts_again() {
        let mut counter = series_up_to(MetricKind::Counter, f64::MAX);
        assert_eq!(apply(&mut counter, f64::MAX), None);
        assert_eq!(apply(&mut counter, f64::MAX), Some(ValueIssue::Reset));
        assert_eq!(counter.0.sample(&counter.1), Sample::Counter(f64::MAX));
        let mut histogram = series_up_to(MetricKind::Histogram, f64::MAX);
        apply(&mut histogram, f64::MAX);
        assert_eq!(apply(&mut histogram, f64::MAX), Some(ValueIssue::Reset));
        let Sample::Histogram(sample) = histogram.0.sample(&histogram.1) else {
            panic!("a histogram samples as one");
        };
        assert_eq!((sample.sum, sample.count), (f64::MAX, 1));
    }
}
