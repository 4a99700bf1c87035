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

/// The store's resource limiter: wasmtime's `StoreLimits`, plus a count of the
/// linear memory the instance holds, so callers can spread series over several
/// instances before one reaches its cap.
pub struct MemoryMeter {
    limits: wasmtime::StoreLimits,
    /// Bytes of linear memory granted so far, over every memory of the store.
    granted: usize,
}

impl MemoryMeter {
    pub fn new(limits: &Limits) -> Self {
        Self {
            limits: wasmtime::StoreLimitsBuilder::new()
                .memory_size(limits.memory_bytes)
                .trap_on_grow_failure(true)
                .build(),
            granted: 0,
        }
    }

    /// Bytes of linear memory the store holds.
    pub fn granted(&self) -> usize {
        self.granted
    }
}

impl wasmtime::ResourceLimiter for MemoryMeter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let allowed = self.limits.memory_growing(current, desired, maximum)?;
        if allowed {
            self.granted += desired.saturating_sub(current);
        }
        Ok(allowed)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.limits.table_growing(current, desired, maximum)
    }

    fn instances(&self) -> usize {
        self.limits.instances()
    }

    fn tables(&self) -> usize {
        self.limits.tables()
    }

    fn memories(&self) -> usize {
        self.limits.memories()
    }
}
