//! The plugin runtime: one wasmtime engine, compiled components and their
//! instances, the host side of the `promemu:plugin` contract, sandbox limits and
//! recovery from guest faults.
//!
//! Owns everything that touches wasmtime. It must not know about hosts, jobs,
//! schedules or sinks: callers hand it a series description and a step context and
//! get back a value, the events the step emitted and its log lines.

mod bindings;
mod builtin;
mod cache;
mod convert;
mod engine;
mod error;
mod group;
mod identity;
mod inspect;
mod instance;
mod limits;
mod locate;
mod nested;
mod state;
mod text;
mod wasi;

pub use bindings::types::{
    BuilderInfo, Event, HostConfig, LinkedValue, LogLevel, MetricConfig, MetricInfo, MetricKind,
    MixerConfig, ParamInfo, ScenarioInfo, Sender,
};
pub use builtin::{BUILTIN_PACK_NAME, BUILTIN_PACK_WASM};
pub use engine::{Plugin, PluginRuntime, check_contract_versions};
pub use error::{Fault, PluginError};
pub use group::{GroupId, MemberId, QueuedAdds};
pub use identity::{MetadataError, PackIdentity, PackMetadata, digest};
pub use inspect::{ComponentSummary, componentize, inspect};
pub use instance::{
    PluginInstance, SeriesSpec, SlotId, StepInput, StepOutput, forward_logs as forward_plugin_logs,
};
pub use limits::Limits;
pub use locate::{PLUGIN_PATH_VAR, PackRef, PackTarget, search_path};
pub use nested::{MAX_NESTING_DEPTH, ScenarioDirectory, unqualified as unqualified_scenario};
pub use state::{EmittedEvent, PluginLogLine};
pub use text::sanitize as sanitize_plugin_text;
pub use wasmtime::Trap;
