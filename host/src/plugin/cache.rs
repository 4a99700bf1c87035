//! Compiled-component cache: compiling a component takes tens of milliseconds,
//! loading a cached native artefact a fraction of one. Keyed on the component's
//! sha256 and the engine's compatibility hash; any cache failure falls back to
//! compiling.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

/// Where compiled components are kept: `$PME_CACHE_DIR`, else
/// `$XDG_CACHE_HOME/promemu`, else `~/.cache/promemu`; `PME_CACHE_DIR=off` disables it.
pub fn default_cache_dir() -> Option<PathBuf> {
    match std::env::var_os("PME_CACHE_DIR") {
        Some(dir) if dir == "off" => None,
        Some(dir) => Some(PathBuf::from(dir)),
        None => std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cache")))
            .map(|base| base.join("promemu")),
    }
}

/// Loads `bytes` as a component, from the cache when possible.
pub fn load_component(
    engine: &Engine,
    bytes: &[u8],
    cache_dir: Option<&Path>,
) -> wasmtime::Result<Component> {
    let Some(dir) = cache_dir else {
        return Component::new(engine, bytes);
    };
    let path = dir.join(format!("{}.cwasm", cache_key(engine, bytes)));
    if let Some(component) = read_cached(engine, &path) {
        return Ok(component);
    }
    let component = Component::new(engine, bytes)?;
    if let Err(err) = write_cached(&component, dir, &path) {
        tracing::debug!(
            "not caching compiled component at {}: {err}",
            path.display()
        );
    }
    Ok(component)
}

fn cache_key(engine: &Engine, bytes: &[u8]) -> String {
    let mut engine_hasher = DefaultHasher::new();
    engine
        .precompile_compatibility_hash()
        .hash(&mut engine_hasher);
    let mut hasher = Sha256::new();
    hasher.update(bytes);
    hasher.update(engine_hasher.finish().to_le_bytes());
    hasher.update(env!("CARGO_PKG_VERSION").as_bytes());
    hex::encode(hasher.finalize())
}

#[allow(unsafe_code)]
fn read_cached(engine: &Engine, path: &Path) -> Option<Component> {
    if !path.is_file() {
        return None;
    }
    // SAFETY: the file was written by `write_cached` from `Component::serialize` of
    // the same engine configuration (the key includes its compatibility hash), into
    // the user's own cache directory. wasmtime checks the header and refuses
    // artefacts from another engine configuration or version.
    match unsafe { Component::deserialize_file(engine, path) } {
        Ok(component) => Some(component),
        Err(err) => {
            tracing::debug!("ignoring cached component {}: {err}", path.display());
            None
        }
    }
}

fn write_cached(component: &Component, dir: &Path, path: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let bytes = component.serialize().map_err(std::io::Error::other)?;
    let partial = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&partial, bytes)?;
    std::fs::rename(&partial, path)
}
