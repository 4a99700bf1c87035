//! Per-store state and the host side of the `host` interface: per-series random
//! streams, log capture and the event outbox, each bounded per call.

use std::sync::Arc;
use std::time::Instant;

use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use sha2::{Digest, Sha256};

use super::bindings::{host, types};
use super::limits::{Limits, MemoryFamily, MemoryMeter};
use super::nested::Nesting;
use super::wasi::WasiState;

/// Past this many times its limit of events or log bytes, a call is stopped (a
/// trap, handled like any other fault) instead of being allowed to flood on.
pub const FLOOD_FACTOR: usize = 15;

/// Bytes an event's name, or the sender it names, may have.
pub const EVENT_NAME_BYTES: usize = 256;

/// Bytes an event's payload may have. Events are copied into every listener's
/// memory, so the bound is the sender's: a larger event is dropped at `emit`.
pub const EVENT_PAYLOAD_BYTES: usize = 64 << 10;

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
    /// Of `events_dropped`, those over the size bounds.
    pub events_oversized: usize,
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
    /// When the current call must end; its nested calls end sooner.
    pub(super) deadline: Instant,
    /// Who sent the event that triggered the current step, if one did.
    pub(super) event_sender: Option<types::Sender>,
}

impl StoreState {
    pub(super) fn new(
        limits: Limits,
        family: Arc<MemoryFamily>,
        wasi: Option<WasiState>,
        seed: u64,
        plugin: &str,
        nesting: Nesting,
    ) -> Self {
        Self {
            memory: MemoryMeter::new(&limits, family),
            limits,
            wasi,
            streams: Vec::new(),
            plugin_stream: stream_for(seed, &format!("plugin/{plugin}")),
            current: None,
            capture: CallCapture::default(),
            nesting,
            deadline: Instant::now(),
            event_sender: None,
        }
    }

    /// The stream of the series the current call is made for (or the plugin's).
    pub(super) fn current_stream(&mut self) -> &mut ChaCha8Rng {
        match self.current {
            Some(index) => &mut self.streams[index],
            None => &mut self.plugin_stream,
        }
    }

    /// Prepares for a call on behalf of `series` (or of the plugin itself) that
    /// must end by `deadline`.
    pub(super) fn begin_call(&mut self, series: Option<usize>, deadline: Instant) {
        self.current = series;
        self.deadline = deadline;
        self.capture = CallCapture::default();
    }

    /// Takes what the last call produced.
    pub(super) fn end_call(&mut self) -> CallCapture {
        self.current = None;
        if let Some(wasi) = &mut self.wasi {
            for (stream, text) in wasi.take_output() {
                // Past the call's log limit, as any log line; the call is over, so
                // a flood is dropped rather than stopped.
                let _ = self.record_log(types::LogLevel::Info, format!("{stream}: {text}"));
            }
        }
        std::mem::take(&mut self.capture)
    }

    /// Keeps a log line of the current call within its byte limit; far past the
    /// limit, says the call floods.
    fn record_log(&mut self, level: types::LogLevel, message: String) -> Result<(), String> {
        let capture = &mut self.capture;
        let limit = self.limits.log_bytes_per_call;
        if capture.log_bytes + message.len() > limit {
            capture.log_bytes_dropped += message.len();
            if capture.log_bytes_dropped > limit.saturating_mul(FLOOD_FACTOR) {
                return Err(format!(
                    "log flood: more than {} bytes in one call (limit {limit})",
                    limit.saturating_mul(FLOOD_FACTOR + 1)
                ));
            }
            return Ok(());
        }
        capture.log_bytes += message.len();
        capture.logs.push(PluginLogLine { level, message });
        Ok(())
    }

    /// Why an event may not go on the bus, if it may not.
    fn oversized(name: &str, source: &str, payload: &str) -> Option<String> {
        let too_long = |what: &str, text: &str, limit: usize| {
            (text.len() > limit)
                .then(|| format!("its {what} has {} bytes (at most {limit})", text.len()))
        };
        too_long("name", name, EVENT_NAME_BYTES)
            .or_else(|| too_long("source", source, EVENT_NAME_BYTES))
            .or_else(|| too_long("payload", payload, EVENT_PAYLOAD_BYTES))
    }
}

impl types::Host for StoreState {}

impl host::Host for StoreState {
    fn random(&mut self) -> f64 {
        self.current_stream().random::<f64>()
    }

    fn log(&mut self, level: types::LogLevel, message: String) -> wasmtime::Result<()> {
        self.record_log(level, message)
            .map_err(wasmtime::Error::msg)
    }

    fn event_sender(&mut self) -> Option<types::Sender> {
        self.event_sender.clone()
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
        if let Some(reason) = Self::oversized(&name, &source, &payload) {
            capture.events_dropped += 1;
            if capture.events_oversized == 0 {
                let name = super::text::sanitize(&name, 64);
                let message = format!("event '{name}' dropped at emit: {reason}");
                capture.logs.push(PluginLogLine {
                    level: types::LogLevel::Warn,
                    message,
                });
            }
            capture.events_oversized += 1;
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
