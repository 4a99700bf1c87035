//! Configs produced by config-builder plugins (the original's `build(**kwargs)`
//! classes). A plugin may offer several builders; `--class` picks one.

use super::ConfigRequest;
use super::error::ConfigError;
use crate::model::MixerConfig;
use crate::plugin::{BuilderInfo, Plugin};

/// Name of the embedded first-party builder plugin in listings.
pub const BUILTIN_BUILDERS_NAME: &str = "builtin-configs";

/// The committed component built from `configs/builders`.
pub const BUILTIN_BUILDERS_WASM: &[u8] = include_bytes!("../../../configs/builders.wasm");

/// Builders are instantiated with a fixed seed: building must not depend on chance.
const BUILD_SEED: u64 = 0;

/// A builder plugin and the builders it offers, listed once when it is loaded.
#[derive(Debug, Clone)]
pub struct BuilderPlugin {
    pub plugin: Plugin,
    pub builders: Vec<BuilderInfo>,
}

impl BuilderPlugin {
    /// Asks `plugin` which builders it offers.
    pub fn list(plugin: Plugin) -> Result<Self, ConfigError> {
        let builders = plugin
            .instantiate(BUILD_SEED)
            .and_then(|mut instance| instance.list_builders())
            .map_err(|source| ConfigError::Plugin {
                config: plugin.name().into(),
                source,
            })?;
        Ok(Self { plugin, builders })
    }
}

/// Whether any of `plugins` offers a builder called `name`.
pub fn offers(plugins: &[BuilderPlugin], name: &str) -> bool {
    plugins
        .iter()
        .flat_map(|listed| &listed.builders)
        .any(|info| info.name == name)
}

/// Whether `--class` text names `builder`: its exact name, or the original's class
/// style (`HostsLoadWithPeaksConfig` for `hosts_load_with_peaks`).
pub fn class_matches(class: &str, builder: &str) -> bool {
    let normalise = |text: &str| {
        let text = text.strip_suffix("Config").unwrap_or(text);
        text.chars()
            .filter(|c| *c != '_' && *c != '-')
            .flat_map(char::to_lowercase)
            .collect::<String>()
    };
    class == builder || normalise(class) == normalise(builder)
}

/// Runs the builder chosen by `request` among `plugins`: the one named by
/// `--class`, else the one named like the config, else the only one.
pub fn build_from(
    plugins: &[BuilderPlugin],
    config: &str,
    request: &ConfigRequest,
) -> Result<MixerConfig, ConfigError> {
    let candidates: Vec<(&Plugin, &String)> = plugins
        .iter()
        .flat_map(|listed| {
            listed
                .builders
                .iter()
                .map(move |info| (&listed.plugin, &info.name))
        })
        .collect();
    let available = || {
        candidates
            .iter()
            .map(|(_, name)| name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let chosen = match &request.class {
        Some(class) => candidates
            .iter()
            .find(|(_, name)| class_matches(class, name))
            .ok_or_else(|| ConfigError::UnknownClass {
                config: config.into(),
                class: class.clone(),
                available: available(),
            })?,
        None => match candidates.iter().find(|(_, name)| *name == config) {
            Some(found) => found,
            None if candidates.len() == 1 => &candidates[0],
            None => {
                return Err(ConfigError::AmbiguousClass {
                    config: config.into(),
                    available: available(),
                });
            }
        },
    };
    let &(plugin, name) = chosen;
    let built = plugin
        .instantiate(BUILD_SEED)
        .and_then(|mut instance| instance.build(name, &request.args))
        .map_err(|source| ConfigError::Plugin {
            config: config.into(),
            source,
        })?;
    Ok(MixerConfig::from_plugin(name, built))
}

#[cfg(test)]
mod tests {
    use super::class_matches;

    #[test]
    fn classes_match_by_name_or_in_the_original_style() {
        assert!(class_matches(
            "hosts_load_with_peaks",
            "hosts_load_with_peaks"
        ));
        assert!(class_matches(
            "HostsLoadWithPeaksConfig",
            "hosts_load_with_peaks"
        ));
        assert!(!class_matches(
            "SingleHostLoadConfig",
            "hosts_load_with_peaks"
        ));
    }
}
