//! Virtual time, in whole milliseconds since the emulation started.

use std::fmt;

/// A point in virtual time. Whole milliseconds keep scheduling exact and
/// deterministic (no drift from adding floating-point intervals).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct VirtualTime(pub u64);

impl VirtualTime {
    pub const ZERO: VirtualTime = VirtualTime(0);

    /// From seconds, rounded to the millisecond; `None` for infinite or negative.
    pub fn from_secs(seconds: f64) -> Option<VirtualTime> {
        (seconds.is_finite() && seconds >= 0.0)
            .then(|| VirtualTime((seconds * 1000.0).round() as u64))
    }

    /// From seconds for an interval: at least one millisecond.
    pub fn interval(seconds: f64) -> VirtualTime {
        VirtualTime(Self::from_secs(seconds).map_or(u64::MAX, |time| time.0.max(1)))
    }

    pub fn as_secs(self) -> f64 {
        self.0 as f64 / 1000.0
    }

    pub fn saturating_add(self, other: VirtualTime) -> VirtualTime {
        VirtualTime(self.0.saturating_add(other.0))
    }
}

impl fmt::Display for VirtualTime {
    fn fmt(&self, out: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(out, "{:.1}s", self.as_secs())
    }
}
