//! The periodic status report in the log, in the original's shape.

use std::time::Duration;

use super::{Sink, SinkTask, Snapshots, StopSignal, with_fresh_status};
use crate::sim::HOSTS_LOGGED_ONE_BY_ONE;

/// Logs the status report every interval.
#[derive(Debug, Clone)]
pub struct StatusLog {
    interval: Duration,
    /// Log the whole report (with every metric's value) whatever the fleet's size.
    show_metrics: bool,
}

impl StatusLog {
    pub fn new(interval: Duration, show_metrics: bool) -> Self {
        Self {
            interval,
            show_metrics,
        }
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
                let snapshot = with_fresh_status(&snapshots).await;
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
                let churn = &status.churn;
                if churn.respawns > 0 {
                    tracing::info!(
                        "Churn: {} respawns; series created {:.2}/min, ended {:.2}/min",
                        churn.respawns,
                        churn.created_per_minute,
                        churn.ended_per_minute
                    );
                }
                // The whole report grows with the fleet: for large fleets it is in
                // the debug log and at /status, unless metrics were asked for.
                let full = || serde_json::to_string_pretty(status).unwrap_or_default();
                if status.total_hosts <= HOSTS_LOGGED_ONE_BY_ONE || self.show_metrics {
                    tracing::info!("Status: {}", full());
                } else {
                    tracing::info!(
                        "Status: {} jobs, {} series, virtual time {} (the whole report: /status, or --debug)",
                        status.total_jobs,
                        status.total_metrics,
                        status.virtual_time
                    );
                    if tracing::enabled!(tracing::Level::DEBUG) {
                        tracing::debug!("Status: {}", full());
                    }
                }
            }
        })
    }
}
