//! The periodic status report in the log, in the original's shape.

use std::time::Duration;

use super::{Sink, SinkTask, Snapshots, StopSignal};

/// Logs the status report every interval.
#[derive(Debug, Clone)]
pub struct StatusLog {
    interval: Duration,
}

impl StatusLog {
    pub fn new(interval: Duration) -> Self {
        Self { interval }
    }
}

impl Sink for StatusLog {
    fn name(&self) -> &'static str {
        "status report"
    }

    fn run(self: Box<Self>, snapshots: Snapshots, mut stop: StopSignal) -> SinkTask {
        Box::pin(async move {
            let mut ticker = tokio::time::interval(self.interval);
            ticker.tick().await;
            loop {
                tokio::select! {
                    _ = ticker.tick() => {}
                    () = stop.stopped() => return,
                }
                let snapshot = snapshots.borrow().clone();
                let status = &snapshot.status;
                tracing::info!("--- Status Report ---");
                tracing::info!(
                    "{}",
                    if snapshot.finished {
                        "Finished"
                    } else {
                        "Running"
                    }
                );
                tracing::info!(
                    "Hosts: <{}/{}> active",
                    status.active_hosts,
                    status.total_hosts
                );
                tracing::info!(
                    "Status: {}",
                    serde_json::to_string_pretty(status).unwrap_or_default()
                );
            }
        })
    }
}
