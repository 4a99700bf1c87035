//! Deny-all WASI for components built with a WASI toolchain (Python, JS,
//! cargo-component): no files, no network, no environment, no arguments, a frozen
//! wall clock, seeded randomness and stdout/stderr captured (up to 64 KiB per stream
//! and instance) and handed on as the plugin's log lines.

use wasmtime::component::ResourceTable;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
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
        }
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
        let wasi = self
            .wasi
            .as_mut()
            .expect("the WASI linker is only used for stores created with a WASI context");
        WasiCtxView {
            ctx: &mut wasi.ctx,
            table: &mut wasi.table,
        }
    }
}
