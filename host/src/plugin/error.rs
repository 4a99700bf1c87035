//! Typed errors of the plugin runtime.

use std::path::PathBuf;

/// What went wrong loading, instantiating or calling a plugin.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    #[error("cannot read plugin {path}: {source}")]
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
        "plugin {plugin} uses {item}: it targets contract version {found}, this host implements 0.1.0 (compatible: 0.1.x)"
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

    #[error("plugin {plugin} trapped in {call}: {trap}")]
    Trap {
        plugin: String,
        call: String,
        trap: String,
    },

    /// A scenario nested through the host failed; the caller's own instance is
    /// intact and was not rebuilt.
    #[error("plugin {plugin}, {call}: a nested scenario failed: {fault}")]
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
    /// Whether the error comes from bad input (a bad plugin file or bad parameters)
    /// rather than from a failure while running.
    pub fn is_bad_input(&self) -> bool {
        !matches!(
            self,
            PluginError::Trap { .. }
                | PluginError::NestedFault { .. }
                | PluginError::Runtime { .. }
        )
    }
}
