//! The async shell: paces the simulation in real time on its own thread, hands the
//! mixer's snapshots to the sinks (Pushgateway pushers, the scrape endpoint, the
//! status report) and stops cleanly on a signal, after `--duration`, or when every
//! host has expired.

mod pacing;
mod push;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::watch;

use crate::mixer::{Mixer, Snapshot, StatusOptions};
use crate::sim::Simulation;
use crate::sink::{Pushgateway, serve};

/// Longest time the cleanup on finish may take before the emulator exits anyway.
pub const CLEANUP_TIME_LIMIT: Duration = Duration::from_secs(10);

/// Where and how to push.
#[derive(Debug, Clone)]
pub struct PushOptions {
    pub url: String,
    pub cleanup_on_start: bool,
    pub cleanup_on_finish: bool,
}

/// How a run behaves.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub push: Option<PushOptions>,
    pub push_interval: Duration,
    /// Address of the local `/metrics` endpoint; `None` to serve nothing.
    pub listen: Option<SocketAddr>,
    /// Seconds between status reports in the log; `None` for none.
    pub status_interval: Option<Duration>,
    /// Stop after this much time (`--duration`).
    pub stop_after: Option<Duration>,
    pub status: StatusOptions,
}

/// Why a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunEnd {
    /// Every host reached its TTL.
    AllHostsExpired,
    /// `--duration` elapsed.
    DurationElapsed,
    /// SIGINT (Ctrl+C) or SIGTERM.
    Signal(&'static str),
}

/// Runs the emulation until it ends; returns why.
pub async fn run(sim: Simulation, mixer: Mixer, options: RunOptions) -> anyhow::Result<RunEnd> {
    let stop = Arc::new(AtomicBool::new(false));
    let first = mixer.snapshot(&sim, &options.status);
    let (snapshots_tx, snapshots) = watch::channel(first);
    let (stopping_tx, stopping) = watch::channel(false);

    let job_names: Vec<String> = mixer.jobs().iter().map(|job| job.name.clone()).collect();
    let gateway = match &options.push {
        Some(push) => Some(Pushgateway::new(
            &push.url,
            options.push_interval.min(Duration::from_secs(10)),
        )?),
        None => None,
    };
    let reachability = match (&gateway, &options.push) {
        (Some(gateway), Some(push)) if push.cleanup_on_start => {
            push::delete_groups(gateway, &job_names, "on start").await
        }
        _ => push::Reachability::Reachable,
    };

    let endpoint = match options.listen {
        Some(address) => {
            let mut stopping = stopping.clone();
            let shutdown = async move {
                let _ = stopping.wait_for(|stopping| *stopping).await;
            };
            let (bound, task) = serve(address, snapshots.clone(), shutdown)
                .await
                .map_err(|err| {
                    anyhow::anyhow!("cannot serve metrics on {address}: {err} (choose another address with --listen, or --no-listen)")
                })?;
            tracing::info!("Serving metrics at http://{bound}/metrics");
            Some(task)
        }
        None => None,
    };

    let sim_thread = pacing::spawn(
        sim,
        mixer,
        options.status.clone(),
        snapshots_tx,
        stop.clone(),
    );

    let mut pushers = Vec::new();
    if let Some(gateway) = &gateway {
        for job in &job_names {
            pushers.push(tokio::spawn(push::push_loop(
                gateway.clone(),
                job.clone(),
                snapshots.clone(),
                options.push_interval,
                reachability,
                stopping.clone(),
            )));
        }
    }
    let reporter = options
        .status_interval
        .map(|interval| tokio::spawn(status_loop(snapshots.clone(), interval, stopping.clone())));

    let end = wait_for_end(snapshots.clone(), options.stop_after).await;
    tracing::info!("Stopping: {}", describe(end));
    stop.store(true, Ordering::SeqCst);
    let _ = stopping_tx.send(true);
    let _ = tokio::task::spawn_blocking(move || sim_thread.join()).await;
    let mut pushed_jobs = Vec::new();
    for (job, pusher) in job_names.iter().zip(pushers) {
        match pusher.await {
            Ok(outcome) if !outcome.may_own_group => {
                tracing::info!(
                    "No push of job <{job}> reached the Pushgateway: nothing to clean up"
                );
            }
            _ => pushed_jobs.push(job.clone()),
        }
    }
    if let Some(reporter) = reporter {
        let _ = reporter.await;
    }
    if let (Some(gateway), Some(push)) = (&gateway, &options.push)
        && push.cleanup_on_finish
        && tokio::time::timeout(
            CLEANUP_TIME_LIMIT,
            push::delete_groups(gateway, &pushed_jobs, "on finish"),
        )
        .await
        .is_err()
    {
        tracing::warn!(
            "Cleanup on finish took longer than {CLEANUP_TIME_LIMIT:?}; some groups may remain"
        );
    }
    if let Some(endpoint) = endpoint {
        let _ = endpoint.await;
    }
    Ok(end)
}

fn describe(end: RunEnd) -> String {
    match end {
        RunEnd::AllHostsExpired => "every host reached its TTL".into(),
        RunEnd::DurationElapsed => "--duration elapsed".into(),
        RunEnd::Signal(name) => format!("received {name}"),
    }
}

async fn wait_for_end(
    mut snapshots: watch::Receiver<Arc<Snapshot>>,
    stop_after: Option<Duration>,
) -> RunEnd {
    let finished = async move {
        let _ = snapshots.wait_for(|snapshot| snapshot.finished).await;
    };
    let elapsed = async move {
        match stop_after {
            Some(duration) => tokio::time::sleep(duration).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        () = finished => RunEnd::AllHostsExpired,
        () = elapsed => RunEnd::DurationElapsed,
        name = signal() => RunEnd::Signal(name),
    }
}

/// Waits for SIGINT or SIGTERM; a second one exits at once, without cleanup, with
/// status 128 + the signal's number.
async fn signal() -> &'static str {
    let name = first_signal().await;
    tokio::spawn(async {
        let second = first_signal().await;
        eprintln!("received {second} again: exiting without cleanup");
        std::process::exit(if second == "SIGTERM" { 143 } else { 130 });
    });
    name
}

#[cfg(unix)]
async fn first_signal() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate()).expect("installing the SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => "SIGINT",
        _ = terminate.recv() => "SIGTERM",
    }
}

#[cfg(not(unix))]
async fn first_signal() -> &'static str {
    let _ = tokio::signal::ctrl_c().await;
    "SIGINT"
}

/// Logs the status report every `interval`, in the original's shape.
async fn status_loop(
    snapshots: watch::Receiver<Arc<Snapshot>>,
    interval: Duration,
    mut stopping: watch::Receiver<bool>,
) {
    let mut ticker = tokio::time::interval(interval);
    ticker.tick().await;
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stopping.wait_for(|stopping| *stopping) => return,
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
            status["active_hosts"],
            status["total_hosts"]
        );
        tracing::info!(
            "Status: {}",
            serde_json::to_string_pretty(status).unwrap_or_default()
        );
    }
}
