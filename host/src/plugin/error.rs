//! Typed errors of the plugin runtime.

use std::path::PathBuf;

/// What went wrong loading, instantiating or calling a plugin.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    #[error("cannot read plugin {path}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("plugin {plugin} is not a WebAssembly component: {reason}")]
    NotAComponent { plugin: String, reason: String },

    #[error("plugin {plugin} could not be compiled: {reason}")]
    Compile { plugin: String, reason: String },

    #[error(
        "plugin {plugin} exports neither promemu:plugin/scenarios@0.1.x nor promemu:plugin/config-builder@0.1.x; it exports: {exports}"
    )]
    NoContractExport { plugin: String, exports: String },

    #[error("plugin reference '{reference}': {problem}")]
    BadReference { reference: String, problem: String },

    #[error(
        "no plugin named '{name}' on the plugin path (looked for {name}.wasm in: {searched}; set PME_PLUGIN_PATH, or give a path)"
    )]
    NotOnPluginPath { name: String, searched: String },

    #[error(
        "plugin {plugin} is not the pack its reference pins: expected {expected}, its bytes are {actual}"
    )]
    DigestMismatch {
        plugin: String,
        expected: String,
        actual: String,
    },

    #[error("plugin {plugin}: metadata")]
    Metadata {
        plugin: String,
        #[source]
        source: super::identity::MetadataError,
    },

    #[error(
        "plugin {plugin} exports {interface} with types that do not match the contract: {reason}"
    )]
    WrongExportTypes {
        plugin: String,
        interface: String,
        reason: String,
    },

    #[error("plugin {plugin} imports {import}, which the host does not provide ({reason})")]
    UnsupportedImport {
        plugin: String,
        import: String,
        reason: String,
    },

    #[error(
        "plugin {plugin} uses {item}: it targets contract version {found}, this host implements {} (compatible: 0.1.x)",
        super::bindings::CONTRACT_VERSION
    )]
    IncompatibleVersion {
        plugin: String,
        item: String,
        found: String,
    },

    #[error("plugin {plugin} does not export {interface}")]
    MissingInterface {
        plugin: String,
        interface: &'static str,
    },

    #[error("plugin {plugin} trapped in {call}: {fault}")]
    Trap {
        plugin: String,
        call: String,
        fault: Fault,
    },

    /// A nested call was not made: the calling scenario's deadline had no time
    /// left for it.
    #[error("plugin {plugin}: {call} not made: the calling scenario's deadline left no time")]
    NoTimeLeft { plugin: String, call: String },

    /// A scenario nested through the host failed (`fault` says which plugin and
    /// why); the caller's own instance is intact and was not rebuilt.
    #[error("{fault} (nested in plugin {plugin}, {call})")]
    NestedFault {
        plugin: String,
        call: String,
        fault: String,
    },

    #[error("{plugin}: {message}")]
    Rejected { plugin: String, message: String },

    #[error("plugin {plugin}: {message}")]
    Runtime { plugin: String, message: String },
}

impl PluginError {
    /// A plugin's refusal, its message bounded and with control characters escaped.
    pub fn rejected(plugin: &str, message: &str) -> Self {
        PluginError::Rejected {
            plugin: plugin.to_string(),
            message: super::text::sanitize(message, super::text::ERROR_TEXT_BYTES),
        }
    }

    /// Whether the error comes from bad input (a bad plugin file, a plugin that
    /// faults while it is loaded, listed, built or creates its series, or bad
    /// parameters) rather than from a failure of the host itself. Faults while a
    /// run steps are handled by the fault policy and never end a run.
    pub fn is_bad_input(&self) -> bool {
        !matches!(self, PluginError::Runtime { .. })
    }
}

/// What stopped a call into a plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// A WebAssembly trap, by kind: `Interrupt` for a missed call deadline,
    /// `StackOverflow`, `UnreachableCodeReached` for a Rust guest's panic, ...
    Trap(wasmtime::Trap),
    /// Any other failure: the memory cap reached, the host stopping a flood of
    /// events or log lines, a failed import.
    Other(String),
}

impl Fault {
    /// The fault behind a failed call.
    pub fn of(err: &wasmtime::Error) -> Self {
        match err.downcast_ref::<wasmtime::Trap>() {
            Some(trap) => Fault::Trap(*trap),
            None => Fault::Other(err.root_cause().to_string()),
        }
    }
}

impl std::fmt::Display for Fault {
    fn fmt(&self, out: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fault::Trap(trap) => write!(out, "{trap}"),
            Fault::Other(message) => out.write_str(message),
        }
    }
}
