//! Per-store state and the host side of the `host` interface: per-series random
//! streams, log capture and the event outbox, each bounded per call.

use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use sha2::{Digest, Sha256};

use super::bindings::{host, types};
use super::limits::{Limits, MemoryMeter};
use super::nested::Nesting;
use super::wasi::WasiState;

/// Past this many times its limit of events or log bytes, a call is stopped (a
/// trap, handled like any other fault) instead of being allowed to flood on.
pub const FLOOD_FACTOR: usize = 15;

/// An event a plugin emitted during one call.
#[derive(Debug, Clone, PartialEq)]
pub struct EmittedEvent {
    pub name: String,
    /// The sender the plugin named, or `None` for the calling series' host.
    pub source: Option<String>,
    pub payload: String,
}

/// A log line a plugin wrote during one call.
#[derive(Debug, Clone, PartialEq)]
pub struct PluginLogLine {
    pub level: types::LogLevel,
    pub message: String,
}

/// What one call produced besides its return value.
#[derive(Debug, Default)]
pub struct CallCapture {
    pub events: Vec<EmittedEvent>,
    pub events_dropped: usize,
    pub logs: Vec<PluginLogLine>,
    pub log_bytes: usize,
    pub log_bytes_dropped: usize,
    /// Why a nested scenario failed during the call, if one did.
    pub nested_fault: Option<String>,
}

/// Derives a random stream from a seed and a key such as "job/host/metric".
/// Stable across runs and platforms: same seed and key, same stream.
pub fn stream_for(seed: u64, key: &str) -> ChaCha8Rng {
    let mut hasher = Sha256::new();
    hasher.update(seed.to_le_bytes());
    hasher.update(key.as_bytes());
    ChaCha8Rng::from_seed(hasher.finalize().into())
}

/// The data every store of a plugin instance carries.
pub struct StoreState {
    pub(super) memory: MemoryMeter,
    pub(super) limits: Limits,
    pub(super) wasi: Option<WasiState>,
    /// One random stream per series, indexed like the instance's series table.
    pub(super) streams: Vec<ChaCha8Rng>,
    /// Stream for calls not made on behalf of a series (listing, building).
    pub(super) plugin_stream: ChaCha8Rng,
    /// The series the current call is made for.
    pub(super) current: Option<usize>,
    pub(super) capture: CallCapture,
    /// Scenarios of other plugins run for this store's series.
    pub(super) nesting: Nesting,
}

impl StoreState {
    pub(super) fn new(
        limits: Limits,
        wasi: Option<WasiState>,
        seed: u64,
        plugin: &str,
        nesting: Nesting,
    ) -> Self {
        Self {
            memory: MemoryMeter::new(&limits),
            limits,
            wasi,
            streams: Vec::new(),
            plugin_stream: stream_for(seed, &format!("plugin/{plugin}")),
            current: None,
            capture: CallCapture::default(),
            nesting,
        }
    }

    /// The stream of the series the current call is made for (or the plugin's).
    pub(super) fn current_stream(&mut self) -> &mut ChaCha8Rng {
        match self.current {
            Some(index) => &mut self.streams[index],
            None => &mut self.plugin_stream,
        }
    }

    /// Prepares for a call on behalf of `series` (or of the plugin itself).
    pub(super) fn begin_call(&mut self, series: Option<usize>) {
        self.current = series;
        self.capture = CallCapture::default();
    }

    /// Takes what the last call produced.
    pub(super) fn end_call(&mut self) -> CallCapture {
        self.current = None;
        let mut capture = std::mem::take(&mut self.capture);
        if let Some(wasi) = &mut self.wasi {
            for (stream, text) in wasi.take_output() {
                capture.logs.push(PluginLogLine {
                    level: types::LogLevel::Info,
                    message: format!("{stream}: {text}"),
                });
            }
        }
        capture
    }
}

impl types::Host for StoreState {}

impl host::Host for StoreState {
    fn random(&mut self) -> f64 {
        self.current_stream().random::<f64>()
    }

    fn log(&mut self, level: types::LogLevel, message: String) -> wasmtime::Result<()> {
        let capture = &mut self.capture;
        let limit = self.limits.log_bytes_per_call;
        if capture.log_bytes + message.len() > limit {
            capture.log_bytes_dropped += message.len();
            if capture.log_bytes_dropped > limit.saturating_mul(FLOOD_FACTOR) {
                return Err(wasmtime::Error::msg(format!(
                    "log flood: more than {} bytes in one call (limit {limit})",
                    limit.saturating_mul(FLOOD_FACTOR + 1)
                )));
            }
            return Ok(());
        }
        capture.log_bytes += message.len();
        capture.logs.push(PluginLogLine { level, message });
        Ok(())
    }

    fn emit(&mut self, name: String, source: String, payload: String) -> wasmtime::Result<()> {
        let capture = &mut self.capture;
        let limit = self.limits.events_per_call;
        if capture.events.len() >= limit {
            capture.events_dropped += 1;
            if capture.events_dropped > limit.saturating_mul(FLOOD_FACTOR) {
                return Err(wasmtime::Error::msg(format!(
                    "event flood: more than {} events in one call (limit {limit})",
                    limit.saturating_mul(FLOOD_FACTOR + 1)
                )));
            }
            return Ok(());
        }
        let source = (!source.is_empty()).then_some(source);
        capture.events.push(EmittedEvent {
            name,
            source,
            payload,
        });
        Ok(())
    }
}
