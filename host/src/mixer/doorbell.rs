//! Wakes the thread that builds snapshots when a reader asks for something
//! (a status report, a page of hosts), so that thread can sleep until its next
//! task is due instead of polling.

use std::sync::{Arc, OnceLock};
use std::thread::Thread;

/// Rings the snapshot-building thread once it has registered itself; before
/// that, ringing does nothing (the thread looks at its requests when it starts).
#[derive(Debug, Clone, Default)]
pub struct Doorbell(Arc<OnceLock<Thread>>);

impl Doorbell {
    /// Makes `thread` the one a ring wakes (only the first call counts).
    pub fn answer_on(&self, thread: Thread) {
        let _ = self.0.set(thread);
    }

    /// Wakes the registered thread from its sleep (or makes its next sleep
    /// return at once).
    pub fn ring(&self) {
        if let Some(thread) = self.0.get() {
            thread.unpark();
        }
    }
}
