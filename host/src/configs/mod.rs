//! Finding and loading configs: TOML files and config-builder plugins, both
//! producing the one model in `model`. Owns name resolution, `--config-args` and
//! listing; it runs no emulation.

mod builder;
mod duration;
mod error;
mod toml_file;

use std::path::{Path, PathBuf};

pub use builder::{BUILTIN_BUILDERS_NAME, BUILTIN_BUILDERS_WASM, BuilderPlugin, class_matches};
pub use duration::parse_seconds;
pub use error::ConfigError;
pub use toml_file::{EMBEDDED_TOML, load_text as load_toml_text, parse_bytes, parse_toml};

use crate::model::MixerConfig;
use crate::plugin::{Plugin, PluginRuntime};

/// The config a run uses when none is named.
pub const DEFAULT_CONFIG: &str = "hosts_load_with_peaks";

/// What the user asked for on the command line.
#[derive(Debug, Clone, Default)]
pub struct ConfigRequest {
    /// A config name, or a path to a `.toml` or `.wasm` file.
    pub config: String,
    /// The builder to use when a plugin offers several (`--class`).
    pub class: Option<String>,
    /// `--config-args key=value ...`
    pub args: Vec<(String, String)>,
}

/// Where configs are looked up.
#[derive(Debug, Clone)]
pub struct ConfigCatalog {
    /// The folder of TOML files and builder plugins (`configs/` by default).
    pub dir: Option<PathBuf>,
    /// Builder plugins: the embedded one, those in `dir`, and `--plugin` files.
    pub builders: Vec<BuilderPlugin>,
}

/// One entry of `--list-configs`.
#[derive(Debug, Clone, PartialEq)]
pub struct ListedConfig {
    pub name: String,
    pub origin: String,
    pub description: String,
    /// Other names `--config` takes for it (TOML `aliases`).
    pub aliases: Vec<String>,
}

impl ListedConfig {
    /// The name without `.toml`: a builder and its TOML twin share it.
    fn stem(&self) -> &str {
        self.name.strip_suffix(".toml").unwrap_or(&self.name)
    }
}

impl ConfigCatalog {
    /// The embedded builders, every `*.wasm` builder plugin in `dir` and the
    /// builder plugins among `extra`.
    pub fn discover(
        runtime: &PluginRuntime,
        dir: Option<PathBuf>,
        extra: &[Plugin],
    ) -> Result<Self, ConfigError> {
        let mut builders = vec![
            runtime
                .load_bytes(BUILTIN_BUILDERS_NAME, BUILTIN_BUILDERS_WASM)
                .map_err(|source| ConfigError::Plugin {
                    config: BUILTIN_BUILDERS_NAME.into(),
                    source,
                })?,
        ];
        if let Some(dir) = &dir {
            for path in files_with_extension(dir, "wasm") {
                if std::fs::read(&path).is_ok_and(|bytes| bytes == BUILTIN_BUILDERS_WASM) {
                    continue; // the committed source of the embedded builders
                }
                let plugin = runtime
                    .load_file(&path)
                    .map_err(|source| ConfigError::Plugin {
                        config: path.display().to_string(),
                        source,
                    })?;
                if plugin.offers_builders() {
                    builders.push(plugin);
                }
            }
        }
        builders.extend(
            extra
                .iter()
                .filter(|plugin| plugin.offers_builders())
                .cloned(),
        );
        let builders = builders
            .into_iter()
            .map(BuilderPlugin::list)
            .collect::<Result<_, _>>()?;
        Ok(Self { dir, builders })
    }

    /// Every config: builders first (by plugin), then TOML files (embedded, then `dir`).
    pub fn list(&self) -> Vec<ListedConfig> {
        let mut listed = Vec::new();
        for builders in &self.builders {
            for info in &builders.builders {
                listed.push(ListedConfig {
                    name: info.name.clone(),
                    origin: format!("builder in {}", builders.plugin.name()),
                    description: info.description.clone(),
                    aliases: Vec::new(),
                });
            }
        }
        for (file, text) in EMBEDDED_TOML {
            let (description, aliases) = toml_file::description_and_aliases(text);
            listed.push(ListedConfig {
                name: file.to_string(),
                origin: "TOML (embedded)".into(),
                description,
                aliases,
            });
        }
        if let Some(dir) = &self.dir {
            for path in files_with_extension(dir, "toml") {
                let file = path
                    .file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .to_string();
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                let origin = format!("TOML {}", path.display());
                let (description, aliases) = toml_file::description_and_aliases(&text);
                if let Some(entry) = listed.iter_mut().find(|entry| entry.name == file) {
                    entry.origin = origin;
                    entry.aliases = aliases;
                } else {
                    listed.push(ListedConfig {
                        name: file,
                        origin,
                        description,
                        aliases,
                    });
                }
            }
        }
        listed
    }

    /// Loads the requested config into the model (not yet validated).
    pub fn load(
        &self,
        runtime: &PluginRuntime,
        request: &ConfigRequest,
    ) -> Result<MixerConfig, ConfigError> {
        let config = request.config.as_str();
        let path = Path::new(config);
        if config.ends_with(".wasm") {
            let plugin = runtime
                .load_file(path)
                .map_err(|source| ConfigError::Plugin {
                    config: config.into(),
                    source,
                })?;
            return builder::build_from(&[BuilderPlugin::list(plugin)?], config, request);
        }
        if config.ends_with(".toml") {
            if path.is_file() {
                return toml_file::load_file(path, &request.args);
            }
            if let Some(dir) = &self.dir
                && dir.join(config).is_file()
            {
                return toml_file::load_file(&dir.join(config), &request.args);
            }
            if let Some((file, text)) = EMBEDDED_TOML.iter().find(|(file, _)| *file == config) {
                return toml_file::load_text(file, text, &request.args);
            }
            return Err(ConfigError::NotFound {
                config: config.into(),
                known: self.known_names(),
            });
        }
        if builder::offers(&self.builders, config)
            || request.class.is_some() && !self.builders.is_empty()
        {
            return builder::build_from(&self.builders, config, request);
        }
        let as_toml = format!("{config}.toml");
        if self
            .dir
            .as_ref()
            .is_some_and(|dir| dir.join(&as_toml).is_file())
            || EMBEDDED_TOML.iter().any(|(file, _)| *file == as_toml)
        {
            return self.load(
                runtime,
                &ConfigRequest {
                    config: as_toml,
                    ..request.clone()
                },
            );
        }
        match self.names_meant_by(config).as_slice() {
            [meant] if meant != config => self.load(
                runtime,
                &ConfigRequest {
                    config: meant.clone(),
                    ..request.clone()
                },
            ),
            many @ [_, _, ..] => Err(ConfigError::Ambiguous {
                config: config.into(),
                candidates: many.join(", "),
            }),
            _ => Err(ConfigError::NotFound {
                config: config.into(),
                known: self.known_names(),
            }),
        }
    }

    /// The config names `typed` may stand for: the one that declares it as an
    /// alias, else every name it is a part of (ignoring case, `-` for `_`). A
    /// builder and its TOML twin count once, as their shared name.
    fn names_meant_by(&self, typed: &str) -> Vec<String> {
        let listed = self.list();
        if let Some(entry) = listed
            .iter()
            .find(|entry| entry.aliases.iter().any(|alias| alias == typed))
        {
            return vec![entry.stem().to_string()];
        }
        let part = typed.to_ascii_lowercase().replace('-', "_");
        let mut names: Vec<String> = Vec::new();
        for entry in &listed {
            let stem = entry.stem();
            if !part.is_empty()
                && stem.to_ascii_lowercase().contains(&part)
                && !names.iter().any(|name| name == stem)
            {
                names.push(stem.to_string());
            }
        }
        names
    }

    fn known_names(&self) -> String {
        self.list()
            .into_iter()
            .map(|entry| entry.name)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// `configs/` under the current directory, or `$PME_CONFIGS_DIR`.
pub fn default_configs_dir() -> Option<PathBuf> {
    match std::env::var_os("PME_CONFIGS_DIR") {
        Some(dir) => Some(PathBuf::from(dir)),
        None => Some(PathBuf::from("configs")).filter(|dir| dir.is_dir()),
    }
}

fn files_with_extension(dir: &Path, extension: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.is_file() && path.extension().is_some_and(|ext| ext == extension))
        .collect();
    files.sort();
    files
}
