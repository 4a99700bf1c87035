//! Deny-all WASI for components built with a WASI toolchain (Python, JS,
//! cargo-component): no files, no network, no environment, no arguments, a frozen
//! wall clock, a virtual monotonic clock, seeded randomness and stdout/stderr
//! captured (up to 64 KiB per stream and instance) and handed on as the plugin's
//! log lines.
//!
//! No WASI call may block the host: the monotonic clock reads the virtual time of
//! the current call (it does not move during a call), and every clock pollable is
//! ready at once, so a plugin that sleeps wakes immediately, and one that waits for
//! the clock to move spins until its call deadline stops it. Same seed, same
//! values, whatever the plugin reads from its clocks.

use wasmtime::component::{Linker, Resource, ResourceTable};
use wasmtime_wasi::p2::bindings::clocks::monotonic_clock;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::p2::{DynPollable, Pollable, subscribe};
use wasmtime_wasi::{HostWallClock, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use super::state::{StoreState, stream_for};

/// Bytes of stdout and stderr a plugin may write before output is discarded.
const CAPTURED_OUTPUT_BYTES: usize = 64 << 10;

/// The WASI context of one store.
pub struct WasiState {
    ctx: WasiCtx,
    table: ResourceTable,
    stdout: MemoryOutputPipe,
    stderr: MemoryOutputPipe,
    /// Bytes of stdout and stderr already handed on as log lines.
    forwarded: (usize, usize),
    /// The monotonic clock's reading: virtual time of the current call, in ns.
    virtual_now_nanos: u64,
}

/// Links deny-all WASI into `linker`, with the virtual monotonic clock in place
/// of the real one.
pub fn add_to_linker(linker: &mut Linker<StoreState>) -> wasmtime::Result<()> {
    wasmtime_wasi::p2::add_to_linker_sync(linker)?;
    linker.allow_shadowing(true);
    monotonic_clock::add_to_linker::<_, wasmtime::component::HasSelf<_>>(linker, |state| state)?;
    linker.allow_shadowing(false);
    Ok(())
}

/// A clock pollable: always ready, since virtual time does not pass in a call.
struct Ready;

#[wasmtime_wasi::async_trait]
impl Pollable for Ready {
    async fn ready(&mut self) {}
}

/// A wall clock stopped at the Unix epoch: plugins never see the real time; they
/// get virtual time through the step context.
struct FrozenClock;

impl HostWallClock for FrozenClock {
    fn resolution(&self) -> std::time::Duration {
        std::time::Duration::from_secs(1)
    }

    fn now(&self) -> std::time::Duration {
        std::time::Duration::ZERO
    }
}

impl WasiState {
    /// A context that grants nothing.
    pub fn deny_all(seed: u64, plugin: &str) -> Self {
        let stdout = MemoryOutputPipe::new(CAPTURED_OUTPUT_BYTES);
        let stderr = MemoryOutputPipe::new(CAPTURED_OUTPUT_BYTES);
        let mut builder = WasiCtxBuilder::new();
        builder
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .wall_clock(FrozenClock)
            .secure_random(stream_for(seed, &format!("wasi-secure/{plugin}")))
            .insecure_random(stream_for(seed, &format!("wasi-insecure/{plugin}")))
            .insecure_random_seed(u128::from(seed));
        Self {
            ctx: builder.build(),
            table: ResourceTable::new(),
            stdout,
            stderr,
            forwarded: (0, 0),
            virtual_now_nanos: 0,
        }
    }

    /// Sets the monotonic clock to `seconds` of virtual time.
    pub fn set_virtual_time(&mut self, seconds: f64) {
        // `as` saturates: negative or NaN reads 0, beyond u64 reads u64::MAX.
        self.virtual_now_nanos = (seconds * 1e9) as u64;
    }

    /// What the plugin wrote to stdout and stderr since the last call, one entry
    /// per stream that has new text.
    pub fn take_output(&mut self) -> Vec<(&'static str, String)> {
        let mut output = Vec::new();
        for (name, pipe, forwarded) in [
            ("stdout", &self.stdout, &mut self.forwarded.0),
            ("stderr", &self.stderr, &mut self.forwarded.1),
        ] {
            let contents = pipe.contents();
            if contents.len() > *forwarded {
                output.push((
                    name,
                    String::from_utf8_lossy(&contents[*forwarded..])
                        .trim_end()
                        .to_string(),
                ));
                *forwarded = contents.len();
            }
        }
        output
    }
}

impl WasiView for StoreState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        let wasi = self.wasi_state();
        WasiCtxView {
            ctx: &mut wasi.ctx,
            table: &mut wasi.table,
        }
    }
}

impl StoreState {
    /// Sets the clocks a WASI plugin reads to `seconds` of virtual time.
    pub(super) fn set_virtual_time(&mut self, seconds: f64) {
        if let Some(wasi) = &mut self.wasi {
            wasi.set_virtual_time(seconds);
        }
    }

    fn wasi_state(&mut self) -> &mut WasiState {
        self.wasi
            .as_mut()
            .expect("the WASI linker is only used for stores created with a WASI context")
    }

    fn ready_pollable(&mut self) -> wasmtime::Result<Resource<DynPollable>> {
        let table = &mut self.wasi_state().table;
        let ready = table.push(Ready)?;
        subscribe(table, ready)
    }
}

impl monotonic_clock::Host for StoreState {
    fn now(&mut self) -> wasmtime::Result<monotonic_clock::Instant> {
        Ok(self.wasi_state().virtual_now_nanos)
    }

    fn resolution(&mut self) -> wasmtime::Result<monotonic_clock::Duration> {
        Ok(1_000_000)
    }

    fn subscribe_instant(
        &mut self,
        _when: monotonic_clock::Instant,
    ) -> wasmtime::Result<Resource<DynPollable>> {
        self.ready_pollable()
    }

    fn subscribe_duration(
        &mut self,
        _duration: monotonic_clock::Duration,
    ) -> wasmtime::Result<Resource<DynPollable>> {
        self.ready_pollable()
    }
}
