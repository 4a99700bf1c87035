//! The Pushgateway sink: one push loop per job, each pushing its group every push
//! interval with doubling backoff after failures and one log line per burst of
//! failures; the groups of this run are deleted on start and on finish.

use std::time::{Duration, Instant};

use super::feed::{Snapshots, StopSignal};
use super::http::{backoff, log_failure};
use super::pushgateway::Pushgateway;
use super::{Sink, SinkError, SinkTask};
use crate::model::Endpoint;

/// Longest time the cleanup on finish may take before the emulator exits anyway.
pub const CLEANUP_TIME_LIMIT: Duration = Duration::from_secs(10);

/// Longest time one request may take.
const MAX_REQUEST_TIME: Duration = Duration::from_secs(10);

/// Which Pushgateway to push to, and whether the run's groups are deleted
/// there before the first push and after the last.
#[derive(Debug, Clone)]
pub struct PushTarget {
    pub endpoint: Endpoint,
    pub cleanup_on_start: bool,
    pub cleanup_on_finish: bool,
}

/// Where and how often to push.
#[derive(Debug, Clone)]
pub struct PushOptions {
    pub target: PushTarget,
    pub interval: Duration,
}

/// Pushes every job of the run to one Pushgateway.
#[derive(Debug)]
pub struct PushgatewaySink {
    gateway: Pushgateway,
    options: PushOptions,
    jobs: Vec<String>,
    reachability: Reachability,
}

impl PushgatewaySink {
    /// A sink for `jobs`; deletes their groups first when asked to.
    pub async fn open(options: &PushOptions, jobs: &[String]) -> Result<Self, SinkError> {
        let timeout = options.interval.min(MAX_REQUEST_TIME);
        let gateway = Pushgateway::new(&options.target.endpoint, timeout)?;
        let reachability = if options.target.cleanup_on_start {
            delete_groups(&gateway, jobs, "on start").await
        } else {
            Reachability::Reachable
        };
        Ok(Self {
            gateway,
            options: options.clone(),
            jobs: jobs.to_vec(),
            reachability,
        })
    }
}

impl Sink for PushgatewaySink {
    fn name(&self) -> &'static str {
        "Pushgateway"
    }

    fn run(self: Box<Self>, snapshots: Snapshots, stop: StopSignal) -> SinkTask {
        Box::pin(async move {
            let loops: Vec<_> = self
                .jobs
                .iter()
                .map(|job| {
                    tokio::spawn(push_loop(
                        self.gateway.clone(),
                        job.clone(),
                        snapshots.clone(),
                        self.options.interval,
                        self.reachability,
                        stop.clone(),
                    ))
                })
                .collect();
            let mut pushed_jobs = Vec::new();
            for (job, pusher) in self.jobs.iter().zip(loops) {
                match pusher.await {
                    Ok(outcome) if !outcome.may_own_group => {
                        tracing::info!(
                            "No push of job <{job}> reached the Pushgateway: nothing to clean up"
                        );
                    }
                    _ => pushed_jobs.push(job.clone()),
                }
            }
            if self.options.target.cleanup_on_finish
                && tokio::time::timeout(
                    CLEANUP_TIME_LIMIT,
                    delete_groups(&self.gateway, &pushed_jobs, "on finish"),
                )
                .await
                .is_err()
            {
                tracing::warn!(
                    "Cleanup on finish took longer than {CLEANUP_TIME_LIMIT:?}; some groups may remain"
                );
            }
        })
    }
}

/// Whether the Pushgateway answered when its groups were last cleaned up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reachability {
    Reachable,
    /// Not reachable, and already reported: a pusher that starts then stays quiet
    /// about its first failed attempt.
    ReportedUnreachable,
}

/// Deletes the groups of `jobs`; failures are warnings. A Pushgateway that cannot
/// be reached is reported once, not once per job.
async fn delete_groups(gateway: &Pushgateway, jobs: &[String], when: &str) -> Reachability {
    for job in jobs {
        match gateway.delete(job).await {
            Ok(()) => tracing::info!("Cleaned up job <{job}> in the Pushgateway {when}"),
            Err(err) if err.never_arrived() => {
                tracing::warn!(
                    "The Pushgateway is not reachable {when}, so nothing was cleaned up; pushes will be retried with backoff: {err}"
                );
                return Reachability::ReportedUnreachable;
            }
            Err(err) => tracing::warn!("Cannot clean up job <{job}> {when}: {err}"),
        }
    }
    Reachability::Reachable
}

/// What a push loop leaves behind when it stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PushOutcome {
    /// Whether any request may have reached the Pushgateway, so that a group of
    /// this run may be there to clean up.
    may_own_group: bool,
}

/// Pushes `job` every `interval` until `stop`.
async fn push_loop(
    gateway: Pushgateway,
    job: String,
    snapshots: Snapshots,
    interval: Duration,
    reachability: Reachability,
    mut stop: StopSignal,
) -> PushOutcome {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failures: u32 = 0;
    let mut retry_at = Instant::now();
    let mut deleted = false;
    let mut outcome = PushOutcome {
        may_own_group: false,
    };
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            () = stop.stopped() => return outcome,
        }
        if Instant::now() < retry_at {
            continue;
        }
        let Some(current) = snapshots
            .borrow()
            .jobs
            .iter()
            .find(|snapshot| snapshot.name == job)
            .cloned()
        else {
            return outcome;
        };
        let attempt = Instant::now();
        let result = if current.live_hosts == 0 {
            if deleted {
                continue;
            }
            gateway.delete(&job).await.inspect(|()| {
                deleted = true;
                tracing::debug!("Deleted job <{job}>: no live hosts left");
            })
        } else {
            deleted = false;
            let bytes = current.text.len();
            gateway.push(&job, current.text).await.inspect(|()| {
                tracing::debug!(
                    "Pushed job <{job}>: {} hosts, {bytes} bytes in {:?}",
                    current.live_hosts,
                    attempt.elapsed()
                );
            })
        };
        outcome.may_own_group |= !matches!(&result, Err(err) if err.never_arrived());
        match result {
            Ok(()) => {
                if failures > 0 {
                    let attempts = if failures == 1 { "attempt" } else { "attempts" };
                    tracing::info!(
                        "Push of job <{job}> works again after {failures} failed {attempts}"
                    );
                }
                failures = 0;
            }
            Err(err) => {
                failures += 1;
                let backoff = backoff(interval, failures);
                retry_at = Instant::now() + backoff;
                let announced =
                    reachability == Reachability::ReportedUnreachable && !outcome.may_own_group;
                log_failure(
                    &format!("Push of job <{job}>"),
                    &err,
                    failures,
                    backoff,
                    announced,
                );
            }
        }
    }
}
