//! Deny-all WASI for components built with a WASI toolchain (Python, JS,
//! cargo-component): no files, no network, no environment, no arguments, a frozen
//! wall clock, seeded randomness and output captured to a bounded buffer.

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
        let mut builder = WasiCtxBuilder::new();
        builder
            .stdout(MemoryOutputPipe::new(CAPTURED_OUTPUT_BYTES))
            .stderr(MemoryOutputPipe::new(CAPTURED_OUTPUT_BYTES))
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
        }
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
