//! Where compiled components are cached. Compiling a component takes tens of
//! milliseconds (seconds for a Python or JavaScript one); loading a cached
//! artefact a fraction of one. wasmtime's own cache does the work: it keys
//! artefacts on the component's bytes and the engine's settings and checks them
//! when loading, so nothing here deserialises native code by hand.

use std::path::{Path, PathBuf};

use wasmtime::{Cache, CacheConfig};

/// Where compiled components are kept: `$PME_CACHE_DIR`, else
/// `$XDG_CACHE_HOME/promemu`, else `~/.cache/promemu` (the platform's cache
/// folder elsewhere than Linux); `PME_CACHE_DIR=off` disables it.
pub fn default_cache_dir() -> Option<PathBuf> {
    match std::env::var_os("PME_CACHE_DIR") {
        Some(dir) if dir == "off" => None,
        Some(dir) => Some(PathBuf::from(dir)),
        None => dirs::cache_dir().map(|base| base.join("promemu")),
    }
}

/// wasmtime's compilation cache in `dir`; `None` (compile every time) when it
/// cannot be set up there.
pub fn open(dir: &Path) -> Option<Cache> {
    let mut config = CacheConfig::new();
    config.with_directory(dir);
    match Cache::new(config) {
        Ok(cache) => Some(cache),
        Err(err) => {
            tracing::debug!(
                "not caching compiled components in {}: {err}",
                dir.display()
            );
            None
        }
    }
}
