//! Typed errors of config loading.

use crate::plugin::PluginError;

/// Why a config could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("no config named '{config}'; available: {known}")]
    NotFound { config: String, known: String },

    #[error(
        "config name '{config}' is ambiguous: it is part of {candidates}; give more of the name"
    )]
    Ambiguous { config: String, candidates: String },

    #[error("cannot read {file}")]
    Read {
        file: String,
        source: std::io::Error,
    },

    /// The message of the TOML parser names line and column.
    #[error("{file}: {message}")]
    Toml { file: String, message: String },

    #[error("{file}: {location}: {problem}")]
    Field {
        file: String,
        location: String,
        problem: String,
    },

    #[error("{config}: --config-args: {problem}")]
    Args { config: String, problem: String },

    #[error("config {config}")]
    Plugin { config: String, source: PluginError },

    #[error("config {config}: --class {class} matches no builder; available: {available}")]
    UnknownClass {
        config: String,
        class: String,
        available: String,
    },

    #[error(
        "config {config}: the plugin offers several builders ({available}); choose one with --class"
    )]
    AmbiguousClass { config: String, available: String },
}

impl ConfigError {
    /// Whether the user's input is wrong (always, but for a plugin that failed
    /// while running).
    pub fn is_bad_input(&self) -> bool {
        match self {
            ConfigError::Plugin { source, .. } => source.is_bad_input(),
            _ => true,
        }
    }
}
