//! Loading the packs a run names (`--plugin`, a config's `plugins`): files,
//! names on the plugin search path, and registry references, which are pulled
//! into the local pack cache first.

use std::path::Path;

use super::SessionError;
use crate::plugin::{PackRef, PackTarget, Plugin, PluginRuntime};
use crate::registry::{Registry, default_cache};

/// Loads the pack `text` refers to (relative paths from `base`); a pack from a
/// registry is named by its reference (`oci://...`).
pub fn load_pack(
    runtime: &PluginRuntime,
    text: &str,
    base: Option<&Path>,
) -> Result<Plugin, SessionError> {
    let reference = PackRef::parse(text, base)?;
    let PackTarget::Registry(registry_ref) = &reference.target else {
        return Ok(runtime.load_ref(&reference)?);
    };
    let pulled = Registry::from_env(default_cache())?.pull(registry_ref)?;
    tracing::info!(
        "Pack oci://{registry_ref}: manifest {}, component {}{}",
        pulled.manifest_digest,
        pulled.component_digest,
        if pulled.cached { " (cached)" } else { "" }
    );
    let bytes = std::fs::read(&pulled.path).map_err(|source| crate::plugin::PluginError::Read {
        path: pulled.path.clone(),
        source,
    })?;
    Ok(runtime.load_bytes(&format!("oci://{registry_ref}"), &bytes)?)
}
