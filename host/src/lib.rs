//! PromEmu: emulates fleets of hosts that emit realistic Prometheus metrics.
//!
//! Data flows one way: `cli` -> `session` -> `configs` -> `model` -> `sim`
//! (driving `plugin`) -> `mixer` -> `sink`; `run` is the async shell that paces
//! the simulation and feeds the sinks. Scenarios and config builders are
//! sandboxed WebAssembly components behind the `promemu:plugin` contract (see
//! `wit/`).

pub mod authoring;
pub mod cli;
pub mod configs;
pub mod mixer;
pub mod model;
pub mod plugin;
pub mod registry;
pub mod replay;
pub mod run;
pub mod session;
pub mod sim;
pub mod sink;
