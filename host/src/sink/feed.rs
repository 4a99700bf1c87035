//! What every sink reads: the latest snapshot and the run's stop signal.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::mixer::{HostsPage, PageRange, Snapshot};

/// The latest snapshot the simulation published.
pub type Snapshots = watch::Receiver<Arc<Snapshot>>;

/// Longest wait for a fresh status report; past it the last one built is used
/// (the simulation may have ended, or be busy with a long call).
pub const STATUS_WAIT: Duration = Duration::from_secs(2);

/// The latest snapshot with a status report built after this call (asked for,
/// then awaited up to [`STATUS_WAIT`]).
pub async fn with_fresh_status(snapshots: &Snapshots) -> Arc<Snapshot> {
    fresh_snapshot(snapshots, Snapshot::request_status, |snapshot, before| {
        !Arc::ptr_eq(&snapshot.status, &before.status)
    })
    .await
}

/// The hosts of `range` as of after this call (asked for, then awaited up to
/// [`STATUS_WAIT`]); the last page built, if that one is of `range` too.
pub async fn fresh_page(snapshots: &Snapshots, range: PageRange) -> Option<Arc<HostsPage>> {
    let is_fresh = |snapshot: &Snapshot, before: &Snapshot| match (&snapshot.page, &before.page) {
        (Some(page), Some(old)) => page.range == range && !Arc::ptr_eq(page, old),
        (Some(page), None) => page.range == range,
        (None, _) => false,
    };
    let snapshot =
        fresh_snapshot(snapshots, |snapshot| snapshot.request_page(range), is_fresh).await;
    snapshot.page.clone().filter(|page| page.range == range)
}

/// The latest snapshot once `fresh` says it has what `ask` asked for
/// (compared with the snapshot before asking), or after [`STATUS_WAIT`].
async fn fresh_snapshot(
    snapshots: &Snapshots,
    ask: impl FnOnce(&Snapshot),
    fresh: impl Fn(&Snapshot, &Snapshot) -> bool,
) -> Arc<Snapshot> {
    let mut watching = snapshots.clone();
    let before = watching.borrow_and_update().clone();
    ask(&before);
    let found = tokio::time::timeout(
        STATUS_WAIT,
        watching.wait_for(|snapshot| fresh(snapshot, &before)),
    )
    .await
    .ok()
    .and_then(Result::ok)
    .map(|snapshot| snapshot.clone());
    found.unwrap_or_else(|| watching.borrow().clone())
}

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
    /// Whether the run is stopping.
    pub fn is_stopped(&self) -> bool {
        *self.0.borrow()
    }

    /// Resolves once the run stops (at once if it already has).
    pub async fn stopped(&mut self) {
        // An error means the trigger is gone, which also means stopping.
        let _ = self.0.wait_for(|stopped| *stopped).await;
    }
}
