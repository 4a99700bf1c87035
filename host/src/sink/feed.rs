//! What every sink reads: the latest snapshot and the run's stop signal.

use std::sync::Arc;

use tokio::sync::watch;

use crate::mixer::Snapshot;

/// The latest snapshot the simulation published.
pub type Snapshots = watch::Receiver<Arc<Snapshot>>;

/// Fires once, when the run stops; every sink holds a copy.
#[derive(Debug, Clone)]
pub struct StopSignal(watch::Receiver<bool>);

/// Sets off the [`StopSignal`]s made from it.
#[derive(Debug)]
pub struct StopTrigger(watch::Sender<bool>);

/// A stop signal and the trigger that fires it.
pub fn stop_signal() -> (StopTrigger, StopSignal) {
    let (trigger, signal) = watch::channel(false);
    (StopTrigger(trigger), StopSignal(signal))
}

impl StopTrigger {
    /// Fires every signal made from this trigger.
    pub fn fire(&self) {
        self.0.send_replace(true);
    }
}

impl StopSignal {
    /// Resolves once the run stops (at once if it already has).
    pub async fn stopped(&mut self) {
        // An error means the trigger is gone, which also means stopping.
        let _ = self.0.wait_for(|stopped| *stopped).await;
    }
}
