//! Typed errors of preparing and running a session.

use crate::configs::ConfigError;
use crate::model::ModelError;
use crate::plugin::PluginError;
use crate::registry::RegistryError;
use crate::replay::preview::PreviewError;
use crate::sim::SimError;
use crate::sink::SinkError;

/// Why a session could not be prepared or run.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error(transparent)]
    Plugin(#[from] PluginError),

    #[error(transparent)]
    Config(#[from] ConfigError),

    #[error("config '{config}' is not valid:{}", listed(problems))]
    Invalid {
        config: String,
        problems: Vec<ModelError>,
    },

    #[error("plugin_limits names '{key}', which is not a loaded plugin (loaded: {loaded})")]
    UnknownPluginInLimits { key: String, loaded: String },

    /// Building the simulation creates every series before anything runs.
    #[error("config '{config}'")]
    Simulation {
        config: String,
        source: Box<SimError>,
    },

    #[error(transparent)]
    Sink(#[from] SinkError),

    #[error("cannot start the async runtime")]
    AsyncRuntime(#[source] std::io::Error),

    #[error(transparent)]
    Preview(#[from] PreviewError),

    #[error(transparent)]
    Registry(#[from] RegistryError),

    #[error("cannot write the backfill")]
    Backfill(#[source] std::io::Error),
}

fn listed(problems: &[ModelError]) -> String {
    problems
        .iter()
        .map(|problem| format!("\n  - {problem}"))
        .collect()
}

impl SessionError {
    /// Whether the user's input is wrong (flags, configs, plugins: exit status 2)
    /// rather than something failing while running (exit status 1).
    pub fn is_bad_input(&self) -> bool {
        match self {
            SessionError::Plugin(err) => err.is_bad_input(),
            SessionError::Config(err) => err.is_bad_input(),
            // A scenario that refuses or faults while every series is created is a
            // bad config or a bad plugin.
            SessionError::Invalid { .. }
            | SessionError::UnknownPluginInLimits { .. }
            | SessionError::Simulation { .. } => true,
            SessionError::Preview(err) => !matches!(err, PreviewError::Draw { .. }),
            SessionError::Registry(err) => err.is_bad_input(),
            SessionError::Sink(err) => matches!(err, SinkError::Endpoint(_)),
            SessionError::AsyncRuntime(_) | SessionError::Backfill(_) => false,
        }
    }
}
