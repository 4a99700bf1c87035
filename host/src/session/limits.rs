//! A config's `plugin_limits`, applied over the command line's limits.

use std::collections::BTreeMap;
use std::time::Duration;

use super::SessionError;
use crate::model::LimitOverrides;
use crate::plugin::{Limits, Plugin};

/// Applies `overrides` to the plugins they name (by file name, path or
/// `builtin`); naming a plugin that is not loaded is an error.
pub fn apply(
    plugins: &mut [Plugin],
    overrides: &BTreeMap<String, LimitOverrides>,
) -> Result<(), SessionError> {
    for (key, limits) in overrides {
        let Some(plugin) = plugins.iter_mut().find(|plugin| plugin.is_named(key)) else {
            let loaded: Vec<&str> = plugins.iter().map(Plugin::name).collect();
            return Err(SessionError::UnknownPluginInLimits {
                key: key.clone(),
                loaded: loaded.join(", "),
            });
        };
        let merged = merge(plugin.limits(), limits);
        tracing::info!("Limits for plugin {}: {merged:?}", plugin.name());
        *plugin = plugin.with_limits(merged);
    }
    Ok(())
}

/// `base` with every limit `overrides` sets.
fn merge(base: Limits, overrides: &LimitOverrides) -> Limits {
    let bytes = |value: u64| usize::try_from(value).unwrap_or(usize::MAX);
    Limits {
        call_deadline: overrides
            .call_deadline
            .map_or(base.call_deadline, Duration::from_secs_f64),
        memory_bytes: overrides.memory_bytes.map_or(base.memory_bytes, bytes),
        events_per_call: overrides.events_per_step.unwrap_or(base.events_per_call),
        log_bytes_per_call: overrides
            .log_bytes_per_step
            .map_or(base.log_bytes_per_call, bytes),
        cpu_share: overrides.cpu_share.unwrap_or(base.cpu_share),
    }
}
