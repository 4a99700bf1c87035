//! Finding a pack from what a user wrote (`--plugin`, a config's `plugins`): a
//! path, or a name looked up on the plugin search path (`PME_PLUGIN_PATH`, then
//! the per-user folder), optionally pinned to the sha256 digest of its bytes
//! (`sawtooth@sha256:<hex>`); a pinned pack whose bytes differ is refused.

use std::path::{Path, PathBuf};

use super::error::PluginError;
use super::identity::digest;

/// The plugin search path's variable: folders separated by `:`.
pub const PLUGIN_PATH_VAR: &str = "PME_PLUGIN_PATH";

/// A pack as referred to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackRef {
    pub target: PackTarget,
    /// `sha256:<hex>` the pack's bytes must have.
    pub pin: Option<String>,
}

/// Where a pack is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PackTarget {
    /// A file (relative paths are taken from the referring config's folder).
    Path(PathBuf),
    /// A name looked up on the plugin search path (`sawtooth` finds `sawtooth.wasm`).
    Name(String),
    /// A registry reference (`oci://host/repo:tag`).
    Registry(String),
}

impl PackRef {
    /// Reads a reference. `oci://` starts a registry reference (kept whole,
    /// `@sha256:` included). Text with a `/`, ending in `.wasm`, or naming an
    /// existing file is a path (joined to `base` when relative); other text is
    /// a name. `@sha256:<hex>` at the end of a path or name pins its bytes.
    pub fn parse(text: &str, base: Option<&Path>) -> Result<Self, PluginError> {
        // A registry reference keeps its `@sha256:`: there it is the digest of
        // the manifest, which the registry client checks.
        if let Some(reference) = text.strip_prefix("oci://") {
            return Ok(Self {
                target: PackTarget::Registry(reference.into()),
                pin: None,
            });
        }
        let (body, pin) = match text.rsplit_once("@sha256:") {
            Some((body, hex)) => {
                if hex.len() != 64 || !hex.bytes().all(|byte| byte.is_ascii_hexdigit()) {
                    return Err(PluginError::BadReference {
                        reference: text.into(),
                        problem: "a pin is @sha256: and 64 hexadecimal digits".into(),
                    });
                }
                (body, Some(format!("sha256:{}", hex.to_ascii_lowercase())))
            }
            None => (text, None),
        };
        if body.is_empty() {
            return Err(PluginError::BadReference {
                reference: text.into(),
                problem: "no path or name before the pin".into(),
            });
        }
        let target = if body.contains('/') || body.ends_with(".wasm") || Path::new(body).is_file() {
            let path = Path::new(body);
            PackTarget::Path(match base {
                Some(base) if path.is_relative() => base.join(path),
                _ => path.to_path_buf(),
            })
        } else {
            PackTarget::Name(body.into())
        };
        Ok(Self { target, pin })
    }

    /// The file this reference names.
    pub fn locate(&self) -> Result<PathBuf, PluginError> {
        match &self.target {
            PackTarget::Path(path) => Ok(path.clone()),
            PackTarget::Name(name) => {
                let folders = search_path();
                folders
                    .iter()
                    .map(|folder| folder.join(format!("{name}.wasm")))
                    .find(|candidate| candidate.is_file())
                    .ok_or_else(|| PluginError::NotOnPluginPath {
                        name: name.clone(),
                        searched: folders
                            .iter()
                            .map(|folder| folder.display().to_string())
                            .collect::<Vec<_>>()
                            .join(", "),
                    })
            }
            PackTarget::Registry(reference) => Err(PluginError::BadReference {
                reference: format!("oci://{reference}"),
                problem: "a registry reference is pulled, not located on disk".into(),
            }),
        }
    }

    /// Refuses `bytes` (read from `path`) when they are not what the pin says.
    pub fn check_pin(&self, path: &Path, bytes: &[u8]) -> Result<(), PluginError> {
        let Some(expected) = &self.pin else {
            return Ok(());
        };
        let actual = digest(bytes);
        if &actual == expected {
            Ok(())
        } else {
            Err(PluginError::DigestMismatch {
                plugin: path.display().to_string(),
                expected: expected.clone(),
                actual,
            })
        }
    }
}

/// Folders searched for a pack given by name: those of `PME_PLUGIN_PATH` in
/// order, then the per-user folder (`$XDG_DATA_HOME/promemu/plugins`, else
/// `~/.local/share/promemu/plugins`; the platform's data folder elsewhere than
/// Linux).
pub fn search_path() -> Vec<PathBuf> {
    let mut folders: Vec<PathBuf> = std::env::var_os(PLUGIN_PATH_VAR)
        .map(|value| {
            std::env::split_paths(&value)
                .filter(|folder| !folder.as_os_str().is_empty())
                .collect()
        })
        .unwrap_or_default();
    if let Some(data_home) = dirs::data_dir() {
        folders.push(data_home.join("promemu/plugins"));
    }
    folders
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_paths_names_or_registries_with_an_optional_pin() {
        let hex = "ab".repeat(32);
        assert_eq!(
            PackRef::parse("sawtooth", None).unwrap(),
            PackRef {
                target: PackTarget::Name("sawtooth".into()),
                pin: None
            }
        );
        assert_eq!(
            PackRef::parse(
                &format!("packs/saw.wasm@sha256:{}", hex.to_uppercase()),
                Some(Path::new("/etc/fleet"))
            )
            .unwrap(),
            PackRef {
                target: PackTarget::Path("/etc/fleet/packs/saw.wasm".into()),
                pin: Some(format!("sha256:{hex}"))
            }
        );
        assert_eq!(
            PackRef::parse("/abs/saw.wasm", Some(Path::new("/etc")))
                .unwrap()
                .target,
            PackTarget::Path("/abs/saw.wasm".into())
        );
        assert_eq!(
            PackRef::parse("oci://127.0.0.1:5000/packs/square:1.0", None)
                .unwrap()
                .target,
            PackTarget::Registry("127.0.0.1:5000/packs/square:1.0".into())
        );
        for bad in ["saw@sha256:12".to_string(), format!("@sha256:{hex}")] {
            assert!(PackRef::parse(&bad, None).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_pin_refuses_other_bytes_and_names_both_digests() {
        let bytes = b"\0asm component";
        let pinned = PackRef::parse(&format!("x.wasm@{}", digest(bytes)), None).unwrap();
        assert!(pinned.check_pin(Path::new("x.wasm"), bytes).is_ok());
        let err = pinned
            .check_pin(Path::new("x.wasm"), b"other")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&digest(bytes)) && err.contains(&digest(b"other")),
            "{err}"
        );
    }
}
