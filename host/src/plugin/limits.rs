//! Sandbox limits applied to every plugin instance and every call into it.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
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
    /// Share of one core the plugin's calls may take per second of virtual time
    /// (all its instances together); past it, its steps are skipped for a while.
    pub cpu_share: f64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            call_deadline: Duration::from_millis(100),
            memory_bytes: 64 << 20,
            events_per_call: 64,
            log_bytes_per_call: 16 << 10,
            cpu_share: 0.5,
        }
    }
}

/// How often the engine's epoch advances; call deadlines are counted in these ticks.
pub const EPOCH_TICK: Duration = Duration::from_millis(5);

impl Limits {
    /// The call deadline in epoch ticks (at least one).
    pub fn deadline_ticks(&self) -> u64 {
        deadline_ticks(self.call_deadline)
    }
}

/// `time` in epoch ticks (at least one).
pub fn deadline_ticks(time: Duration) -> u64 {
    let ticks = time.as_micros() / EPOCH_TICK.as_micros();
    u64::try_from(ticks).unwrap_or(u64::MAX).max(1)
}

/// What a call that nests scenarios keeps of its own deadline for itself: its
/// nested calls end this long before it must (a fifth, at least two ticks).
pub fn nesting_reserve(deadline: Duration) -> Duration {
    (deadline / 5).max(EPOCH_TICK * 2)
}

/// Bytes a table element is counted as (a reference: one pointer).
pub const TABLE_ELEMENT_BYTES: usize = 8;

/// Memories, tables and core instances a store may have; the bytes they hold are
/// capped by [`MemoryMeter`] whatever their number.
const MAX_STORE_ITEMS: usize = 10_000;

/// The memory of a plugin instance and of every private instance nested in it
/// (see `nested`): one cap for them all, so nesting cannot multiply it.
#[derive(Debug)]
pub struct MemoryFamily {
    cap: usize,
    held: AtomicUsize,
}

impl MemoryFamily {
    pub fn new(cap: usize) -> Arc<Self> {
        Arc::new(Self {
            cap,
            held: AtomicUsize::new(0),
        })
    }
}

/// The store's resource limiter. It counts every byte the store's linear
/// memories and tables hold, against the instance's cap and against its family's
/// (so neither extra memories, nor tables, nor nested instances get around the
/// cap), and reports what the store holds so callers can spread series over
/// several instances before one reaches its cap.
pub struct MemoryMeter {
    cap: usize,
    /// Bytes of memories and tables granted so far, over every one of the store.
    granted: usize,
    family: Arc<MemoryFamily>,
}

impl MemoryMeter {
    pub fn new(limits: &Limits, family: Arc<MemoryFamily>) -> Self {
        Self {
            cap: limits.memory_bytes,
            granted: 0,
            family,
        }
    }

    /// Bytes of memories and tables the store holds.
    pub fn granted(&self) -> usize {
        self.granted
    }

    /// The family this store counts against.
    pub fn family(&self) -> &Arc<MemoryFamily> {
        &self.family
    }

    /// Stops counting what the store holds: it is being replaced (a restart
    /// after a trap), and must not keep its successor from instantiating.
    pub fn release(&mut self) {
        self.family.held.fetch_sub(self.granted, Ordering::Relaxed);
        self.granted = 0;
    }

    /// Grants `bytes` more, or says which cap they would pass (a trap).
    fn grow(&mut self, what: &str, bytes: usize) -> wasmtime::Result<bool> {
        let own = self.granted.saturating_add(bytes);
        let family = self
            .family
            .held
            .load(Ordering::Relaxed)
            .saturating_add(bytes);
        if own > self.cap {
            return Err(wasmtime::Error::msg(format!(
                "memory cap reached: growing a {what} by {bytes} bytes would pass the instance's cap of {} bytes (its memories and tables together)",
                self.cap
            )));
        }
        if family > self.family.cap {
            return Err(wasmtime::Error::msg(format!(
                "memory cap reached: growing a {what} by {bytes} bytes would pass the cap of {} bytes that nested instances share with the instance that runs them",
                self.family.cap
            )));
        }
        self.granted = own;
        self.family.held.fetch_add(bytes, Ordering::Relaxed);
        Ok(true)
    }
}

impl Drop for MemoryMeter {
    fn drop(&mut self) {
        self.release();
    }
}

impl wasmtime::ResourceLimiter for MemoryMeter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if maximum.is_some_and(|maximum| desired > maximum) {
            return Ok(false);
        }
        self.grow("linear memory", desired.saturating_sub(current))
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if maximum.is_some_and(|maximum| desired > maximum) {
            return Ok(false);
        }
        let elements = desired.saturating_sub(current);
        self.grow("table", elements.saturating_mul(TABLE_ELEMENT_BYTES))
    }

    fn instances(&self) -> usize {
        MAX_STORE_ITEMS
    }

    fn tables(&self) -> usize {
        MAX_STORE_ITEMS
    }

    fn memories(&self) -> usize {
        MAX_STORE_ITEMS
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmtime::{Engine, Instance, Module, Store};

    /// A store whose limiter is a meter of `cap` bytes in `family`.
    fn store(engine: &Engine, cap: usize, family: &Arc<MemoryFamily>) -> Store<MemoryMeter> {
        let limits = Limits {
            memory_bytes: cap,
            ..Limits::default()
        };
        let mut store = Store::new(engine, MemoryMeter::new(&limits, family.clone()));
        store.limiter(|meter| meter);
        store
    }

    #[test]
    fn many_memories_tables_and_a_family_share_one_cap() {
        let engine = Engine::default();
        let cap = 4 << 20;
        // Three memories of 1.5 MiB (24 pages each): each under the cap, together over.
        let memories =
            wat::parse_str("(module (memory 24) (memory 24) (memory 24) (func (export \"f\")))")
                .unwrap();
        let module = Module::new(&engine, &memories).unwrap();
        let family = MemoryFamily::new(cap);
        let mut lone = store(&engine, cap, &family);
        let err = Instance::new(&mut lone, &module, &[]).expect_err("refused");
        assert!(format!("{err:#}").contains("memory cap reached"), "{err:#}");

        // A table grown by a million entries (8 MB) traps.
        let tables = wat::parse_str(
            r#"(module (table 1 funcref)
                 (func (export "grow") (result i32)
                   (table.grow (ref.null func) (i32.const 1000000))))"#,
        )
        .unwrap();
        let module = Module::new(&engine, &tables).unwrap();
        let mut grower = store(&engine, cap, &MemoryFamily::new(cap));
        let instance = Instance::new(&mut grower, &module, &[]).unwrap();
        let grow = instance
            .get_typed_func::<(), i32>(&mut grower, "grow")
            .unwrap();
        let err = grow.call(&mut grower, ()).expect_err("traps");
        assert!(format!("{err:#}").contains("table"), "{err:#}");
        assert_eq!(grower.data().granted(), TABLE_ELEMENT_BYTES, "one entry");

        // Two stores of one family: the second gets what the first left.
        let one_memory = Module::new(
            &engine,
            wat::parse_str("(module (memory 40))").unwrap(), // 2.5 MiB
        )
        .unwrap();
        let family = MemoryFamily::new(cap);
        let mut first = store(&engine, cap, &family);
        Instance::new(&mut first, &one_memory, &[]).expect("fits");
        let mut second = store(&engine, cap, &family);
        assert!(Instance::new(&mut second, &one_memory, &[]).is_err());
        drop(first);
        assert_eq!(
            family.held.load(Ordering::Relaxed),
            0,
            "a dropped store gives back"
        );
        Instance::new(&mut second, &one_memory, &[]).expect("fits once the first is gone");
    }
}
