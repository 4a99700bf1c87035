//! Sandbox limits applied to every plugin instance and every call into it.

use std::time::Duration;

/// How far a plugin may go before the host stops it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Wall time one call into the plugin may take before it is interrupted.
    pub call_deadline: Duration,
    /// Linear memory one plugin instance may grow to, in bytes.
    pub memory_bytes: usize,
    /// Events one call may emit; the rest are dropped and counted.
    pub events_per_call: usize,
    /// Log bytes one call may write; the rest are dropped and counted.
    pub log_bytes_per_call: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            call_deadline: Duration::from_millis(100),
            memory_bytes: 64 << 20,
            events_per_call: 64,
            log_bytes_per_call: 16 << 10,
        }
    }
}

/// How often the engine's epoch advances; call deadlines are counted in these ticks.
pub const EPOCH_TICK: Duration = Duration::from_millis(5);

impl Limits {
    /// The call deadline in epoch ticks (at least one).
    pub fn deadline_ticks(&self) -> u64 {
        let ticks = self.call_deadline.as_micros() / EPOCH_TICK.as_micros();
        u64::try_from(ticks).unwrap_or(u64::MAX).max(1)
    }
}
