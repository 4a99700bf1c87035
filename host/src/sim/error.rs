//! Typed errors of building a simulation.

use crate::plugin::PluginError;

/// Why a simulation could not be built from a (validated) model.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error(
        "host '{host}', metric '{metric}', field 'scenario': unknown scenario '{scenario}'; available: {available} (a scenario of another plugin needs --plugin FILE; `promemu scenarios --plugin FILE` lists a file's)"
    )]
    UnknownScenario {
        host: String,
        metric: String,
        scenario: String,
        available: String,
    },

    #[error("host '{host}', metric '{metric}', field 'scenario_data': {message} (plugin {plugin})")]
    BadScenario {
        host: String,
        metric: String,
        plugin: String,
        message: String,
    },

    #[error(
        "host '{host}', metric '{metric}': reads metric '{link}', which host '{host}' does not have"
    )]
    UnknownLink {
        host: String,
        metric: String,
        link: String,
    },

    #[error("host '{host}', metric '{metric}'")]
    Plugin {
        host: String,
        metric: String,
        source: Box<PluginError>,
    },

    #[error(transparent)]
    Instantiate(Box<PluginError>),
}

impl SimError {
    /// A plugin's error while creating a series of `metric` on `host`: its own
    /// refusal (bad parameters) or a failure.
    pub(super) fn from_plugin(
        host: &crate::model::HostConfig,
        metric: &crate::model::MetricConfig,
        err: PluginError,
    ) -> Self {
        match err {
            PluginError::Rejected { plugin, message } => SimError::BadScenario {
                host: host.name.clone(),
                metric: metric.name.clone(),
                plugin,
                message,
            },
            other => SimError::Plugin {
                host: host.name.clone(),
                metric: metric.name.clone(),
                source: Box::new(other),
            },
        }
    }
}
