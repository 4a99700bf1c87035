//! Sinks: where snapshots go. Each sink reads the same snapshots and the run's
//! stop signal, owns its own retry policy, and runs on its own tasks, so a slow
//! sink never slows the simulation or another sink. All network I/O of the
//! emulator lives here.
//!
//! Adding a sink is a new file here with a type implementing [`Sink`], plus one
//! line in [`open`].

mod feed;
mod http;
mod lines;
mod own_metrics;
mod push;
mod pushgateway;
mod remote_write;
mod scrape;
mod status_log;

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crate::model::Endpoint;

pub use feed::{STATUS_WAIT, Snapshots, StopSignal, stop_signal, with_fresh_status};
pub use http::{EndpointError, HttpError, HttpTarget};
pub use lines::{LineCapture, LineCaptures, LinePublisher, line_feed};
pub use push::{CLEANUP_TIME_LIMIT, PushOptions, PushTarget, PushgatewaySink};
pub use pushgateway::{PushError, Pushgateway, group_path};
pub use remote_write::{
    EncodedLabels, MAX_SAMPLES_PER_SEND, RemoteWriteOptions, RemoteWriteSink, STALE_NAN, proto,
};
pub use scrape::ScrapeEndpoint;
pub use status_log::StatusLog;

/// What a running sink has to do until the run stops.
pub type SinkTask = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A consumer of snapshots. Setting it up (binding a port, a first cleanup)
/// happens when it is opened, before the simulation starts; `run` then follows
/// the snapshots until the stop signal, and finishes what stopping asks of it
/// (such as deleting the groups it pushed).
pub trait Sink: Send {
    /// Its name in logs.
    fn name(&self) -> &'static str;

    /// Follows `snapshots` until `stop` fires, then winds down.
    fn run(self: Box<Self>, snapshots: Snapshots, stop: StopSignal) -> SinkTask;
}

/// Which sinks a run feeds.
#[derive(Debug, Clone, Default)]
pub struct SinkOptions {
    /// Push every job to a Pushgateway.
    pub push: Option<PushOptions>,
    /// Send every series to these remote-write receivers.
    pub remote_write: Vec<Endpoint>,
    /// Serve `/metrics` and `/status` on this address.
    pub listen: Option<SocketAddr>,
    /// Log the status report this often.
    pub status_interval: Option<Duration>,
    /// Log the whole status report, with every metric's value.
    pub show_metrics_status: bool,
}

/// Why a sink could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    #[error(
        "cannot serve metrics on {address} (choose another address with --listen, or --no-listen)"
    )]
    Bind {
        address: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Endpoint(#[from] EndpointError),
}

/// What remote-write sinks send: every line's labels, one queue of captures
/// per `options.remote_write` target, where virtual time zero is on the wall
/// clock (Unix ms), and whether the simulation waits for a full queue.
#[derive(Debug)]
pub struct LineFeed {
    pub labels: Arc<EncodedLabels>,
    pub captures: Vec<LineCaptures>,
    pub origin: u64,
    pub wait: bool,
}

/// Opens every sink `options` ask for; `jobs` are the run's job names, `lines`
/// what remote write sends (needed when `options` name remote-write targets).
pub async fn open(
    options: &SinkOptions,
    jobs: &[String],
    lines: Option<LineFeed>,
) -> Result<Vec<Box<dyn Sink>>, SinkError> {
    let mut sinks: Vec<Box<dyn Sink>> = Vec::new();
    if let Some(push) = &options.push {
        sinks.push(Box::new(PushgatewaySink::open(push, jobs).await?));
    }
    if let Some(lines) = lines {
        for (endpoint, captures) in options.remote_write.iter().zip(lines.captures) {
            let options = RemoteWriteOptions {
                endpoint: endpoint.clone(),
                origin: lines.origin,
                wait: lines.wait,
            };
            sinks.push(Box::new(RemoteWriteSink::open(
                &options,
                lines.labels.clone(),
                captures,
            )?));
        }
    }
    if let Some(address) = options.listen {
        sinks.push(Box::new(ScrapeEndpoint::bind(address).await?));
    }
    if let Some(interval) = options.status_interval {
        sinks.push(Box::new(StatusLog::new(
            interval,
            options.show_metrics_status,
        )));
    }
    Ok(sinks)
}
