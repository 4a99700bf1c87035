//! Virtual time, in whole milliseconds since the emulation started.

use std::fmt;
use std::time::Duration;

/// A point in virtual time, or a span of it. Whole milliseconds keep scheduling
/// exact and deterministic (no drift from adding floating-point intervals).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct VirtualTime(u64);

impl VirtualTime {
    pub const ZERO: VirtualTime = VirtualTime(0);

    pub const fn from_millis(millis: u64) -> VirtualTime {
        VirtualTime(millis)
    }

    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// From seconds, rounded to the millisecond; `None` for infinite or negative.
    pub fn from_secs(seconds: f64) -> Option<VirtualTime> {
        (seconds.is_finite() && seconds >= 0.0)
            .then(|| VirtualTime((seconds * 1000.0).round() as u64))
    }

    /// The virtual span as long as a wall-clock `duration` (milliseconds, rounded down).
    pub fn from_duration(duration: Duration) -> VirtualTime {
        VirtualTime(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX))
    }

    /// From seconds for an interval: at least one millisecond.
    pub fn interval(seconds: f64) -> VirtualTime {
        VirtualTime(Self::from_secs(seconds).map_or(u64::MAX, |time| time.0.max(1)))
    }

    pub fn as_secs(self) -> f64 {
        self.0 as f64 / 1000.0
    }

    /// The wall-clock duration as long as this span.
    pub fn as_duration(self) -> Duration {
        Duration::from_millis(self.0)
    }

    pub fn saturating_add(self, other: VirtualTime) -> VirtualTime {
        VirtualTime(self.0.saturating_add(other.0))
    }

    /// The span from `earlier` to `self`; zero if `earlier` is later.
    pub fn saturating_sub(self, earlier: VirtualTime) -> VirtualTime {
        VirtualTime(self.0.saturating_sub(earlier.0))
    }

    /// This span `times` times over.
    pub fn saturating_mul(self, times: u64) -> VirtualTime {
        VirtualTime(self.0.saturating_mul(times))
    }
}

impl fmt::Display for VirtualTime {
    fn fmt(&self, out: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(out, "{:.1}s", self.as_secs())
    }
}
