//! PromEmu: emulates fleets of hosts that emit realistic Prometheus metrics.
//!
//! Data flows one way: `cli` -> `configs` -> `model` -> `sim` (driving `plugin`)
//! -> `mixer` -> `sink`. Scenarios and config builders are sandboxed WebAssembly
//! components behind the `promemu:plugin` contract (see `wit/`).

pub mod cli;
pub mod plugin;
