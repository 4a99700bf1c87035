//! The async shell: paces the simulation in real time on its own thread, feeds
//! its snapshots to the sinks, and stops cleanly on a signal, after `--duration`,
//! or when every host has expired.

mod pacing;
mod signal;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::watch;

pub use pacing::{Pace, Speed, unix_millis};
pub use signal::Signal;

use crate::mixer::{Mixer, StatusOptions};
use crate::sim::{Simulation, VirtualTime};
use crate::sink::{
    self, EncodedLabels, LineFeed, SinkError, SinkOptions, Snapshots, line_feed, stop_signal,
};

/// How long stopping waits for the simulation thread to finish its current
/// call; past it the run ends without it (sinks still get the last snapshot).
pub const SIMULATION_STOP_LIMIT: Duration = Duration::from_secs(5);

/// How a run behaves.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub sinks: SinkOptions,
    /// Stop after this much virtual time (`--duration`).
    pub stop_after: Option<VirtualTime>,
    /// How fast virtual time goes.
    pub pace: Pace,
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
    Signal(Signal),
}

impl std::fmt::Display for RunEnd {
    fn fmt(&self, out: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunEnd::AllHostsExpired => out.write_str("every host reached its TTL"),
            RunEnd::DurationElapsed => out.write_str("--duration elapsed"),
            RunEnd::Signal(signal) => write!(out, "received {signal}"),
        }
    }
}

/// How a run ended, and whether a signal cut its shutdown short.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunOutcome {
    pub end: RunEnd,
    /// The signal that arrived while stopping: the shutdown (cleanup included)
    /// was abandoned and the process should exit at once.
    pub cut_short: Option<Signal>,
}

/// Runs the emulation until it ends and its sinks have wound down.
pub async fn run(
    sim: Simulation,
    mixer: Mixer,
    options: RunOptions,
) -> Result<RunOutcome, SinkError> {
    let first = mixer.starting_snapshot(&sim, &options.status);
    let job_names: Vec<String> = first.jobs.iter().map(|job| job.name.clone()).collect();
    let (snapshots_tx, snapshots) = watch::channel(first);
    let (publisher, lines) = if mixer.line_count() > 0 {
        let wait = options.pace.speed == Speed::Max;
        let (publisher, captures) = line_feed(options.sinks.remote_write.len(), wait);
        let feed = LineFeed {
            labels: Arc::new(EncodedLabels::encode(|line| {
                mixer.for_each_line_labels(&sim, |labels| line(labels));
            })),
            captures,
            origin: options.pace.start.unwrap_or_else(unix_millis),
            wait,
        };
        (Some(publisher), Some(feed))
    } else {
        (None, None)
    };
    let sinks = sink::open(&options.sinks, &job_names, lines).await?;

    let stop_sim = Arc::new(AtomicBool::new(false));
    let sim_thread = pacing::spawn(
        sim,
        mixer,
        options.status.clone(),
        pacing::Outputs {
            snapshots: snapshots_tx,
            lines: publisher,
        },
        options.pace,
        options.stop_after,
        stop_sim.clone(),
    );
    let (trigger, stop) = stop_signal();
    let tasks: Vec<_> = sinks
        .into_iter()
        .map(|sink| {
            tracing::debug!("Starting sink: {}", sink.name());
            tokio::spawn(sink.run(snapshots.clone(), stop.clone()))
        })
        .collect();

    let end = wait_for_end(snapshots).await;
    tracing::info!("Stopping: {end}");
    stop_sim.store(true, Ordering::SeqCst);
    sim_thread.thread().unpark();
    trigger.fire();
    let shutdown = async move {
        let joined = tokio::task::spawn_blocking(move || sim_thread.join());
        if tokio::time::timeout(SIMULATION_STOP_LIMIT, joined)
            .await
            .is_err()
        {
            tracing::warn!(
                "the simulation did not stop within {SIMULATION_STOP_LIMIT:?}; ending without it"
            );
        }
        for task in tasks {
            let _ = task.await;
        }
    };
    let cut_short = tokio::select! {
        () = shutdown => None,
        signal = signal::next() => {
            tracing::warn!("Received {signal} while stopping: exiting without cleanup");
            Some(signal)
        }
    };
    Ok(RunOutcome { end, cut_short })
}

async fn wait_for_end(mut snapshots: Snapshots) -> RunEnd {
    let ended = async move {
        match snapshots
            .wait_for(|snapshot| snapshot.finished || snapshot.duration_reached)
            .await
        {
            Ok(snapshot) if snapshot.finished => RunEnd::AllHostsExpired,
            Ok(_) => RunEnd::DurationElapsed,
            // The simulation thread is gone without saying why: nothing more will come.
            Err(_) => RunEnd::AllHostsExpired,
        }
    };
    tokio::select! {
        end = ended => end,
        signal = signal::next() => RunEnd::Signal(signal),
    }
}
