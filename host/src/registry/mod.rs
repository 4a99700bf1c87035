//! OCI registries: packs shared as OCI artifacts in the layout that
//! wasm-pkg-tools (`wkg oci push/pull`) uses: an image manifest whose config is
//! `application/vnd.wasm.config.v0+json` and whose one layer is the component
//! (`application/wasm`), with the pack's metadata as OCI annotations. Pulled
//! packs are kept in a local cache by digest.
//!
//! Registries are reached over HTTPS, over plain HTTP only when listed in
//! `PME_INSECURE_REGISTRIES` (`host:port`, comma-separated). Credentials come
//! from `PME_REGISTRY_USERNAME` + `PME_REGISTRY_PASSWORD` (basic) or
//! `PME_REGISTRY_TOKEN` (bearer), for every registry; without them, each
//! registry gets its own from the login files of Docker and Podman (`docker
//! login`, `podman login`, credential helpers included). All of the emulator's
//! registry I/O is here.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use oci_client::client::{ClientConfig, ClientProtocol, Config, ImageLayer};
use oci_client::manifest::OciImageManifest;
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use serde::Serialize;

use crate::plugin::{PackIdentity, digest};

/// Media type of the manifest's config for a Wasm artifact.
pub const WASM_CONFIG_MEDIA_TYPE: &str = "application/vnd.wasm.config.v0+json";
/// Media type of the layer that holds the component.
pub const WASM_LAYER_MEDIA_TYPE: &str = "application/wasm";
/// Registries reached over plain HTTP.
pub const INSECURE_REGISTRIES_VAR: &str = "PME_INSECURE_REGISTRIES";

/// Why a pack could not be pushed or pulled.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error(
        "'{reference}' is not a registry reference ({reason}); expected HOST[:PORT]/REPOSITORY[:TAG][@sha256:DIGEST]"
    )]
    BadReference { reference: String, reason: String },

    #[error("{reference}: {message}")]
    Request { reference: String, message: String },

    #[error(
        "{reference}: the registry refused the credentials (log in with `docker login` or `podman login`, or set PME_REGISTRY_USERNAME and PME_REGISTRY_PASSWORD, or PME_REGISTRY_TOKEN): {message}"
    )]
    Unauthorized { reference: String, message: String },

    #[error(
        "{reference}: cannot read the credentials for {registry} from the Docker or Podman login files: {message}"
    )]
    Credentials {
        reference: String,
        registry: String,
        message: String,
    },

    #[error("{reference}: not found in the registry: {message}")]
    NotFound { reference: String, message: String },

    #[error("{reference} is not a Wasm component artifact: {problem}")]
    NotWasm { reference: String, problem: String },

    #[error("{reference} is pinned to {expected}, but the registry served {actual}")]
    DigestMismatch {
        reference: String,
        expected: String,
        actual: String,
    },

    #[error("cannot use the pack cache at {path}")]
    Cache {
        path: String,
        source: std::io::Error,
    },

    #[error("cannot start the registry client")]
    Runtime(#[source] std::io::Error),
}

impl RegistryError {
    /// Whether the user's input is wrong (a reference, credentials, a pin)
    /// rather than the registry or the network failing.
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            RegistryError::BadReference { .. }
                | RegistryError::Unauthorized { .. }
                | RegistryError::Credentials { .. }
                | RegistryError::NotFound { .. }
                | RegistryError::NotWasm { .. }
                | RegistryError::DigestMismatch { .. }
        )
    }
}

/// What a push stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushed {
    pub manifest_url: String,
    /// Digest of the manifest: what `REF@sha256:...` pins.
    pub manifest_digest: String,
    /// Digest of the component (the layer): the file's sha256.
    pub component_digest: String,
}

/// What a pull gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pulled {
    /// The component, in the cache.
    pub path: PathBuf,
    pub manifest_digest: String,
    pub component_digest: String,
    /// Whether it came from the cache without a download.
    pub cached: bool,
}

/// The Wasm artifact config, in the shape `wkg` writes.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct WasmConfig {
    created: String,
    author: Option<String>,
    architecture: &'static str,
    os: &'static str,
    layer_digests: Vec<String>,
    component: ComponentWorld,
}

#[derive(Debug, Serialize)]
struct ComponentWorld {
    exports: Vec<String>,
    imports: Vec<String>,
    target: Option<String>,
}

/// A client for every registry, with the credentials and insecure list of the
/// environment, and the pack cache.
pub struct Registry {
    client: Client,
    /// The `PME_REGISTRY_*` credentials, for every registry.
    given_auth: Option<RegistryAuth>,
    cache: PathBuf,
    runtime: tokio::runtime::Runtime,
}

impl Registry {
    /// A client set up from the environment, caching packs in `cache`.
    pub fn from_env(cache: PathBuf) -> Result<Self, RegistryError> {
        let insecure: Vec<String> = std::env::var(INSECURE_REGISTRIES_VAR)
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(String::from)
            .collect();
        let client = Client::new(ClientConfig {
            protocol: ClientProtocol::HttpsExcept(insecure),
            ..ClientConfig::default()
        });
        let env = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
        let given_auth = match (
            env("PME_REGISTRY_USERNAME"),
            env("PME_REGISTRY_PASSWORD"),
            env("PME_REGISTRY_TOKEN"),
        ) {
            (_, _, Some(token)) => Some(RegistryAuth::Bearer(token)),
            (Some(user), Some(password), None) => Some(RegistryAuth::Basic(user, password)),
            _ => None,
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(RegistryError::Runtime)?;
        Ok(Self {
            client,
            given_auth,
            cache,
            runtime,
        })
    }

    /// Pushes the component `bytes` (a pack with `identity`, whose world
    /// imports and exports the given names) as `reference`.
    pub fn push(
        &self,
        bytes: &[u8],
        identity: &PackIdentity,
        imports: Vec<String>,
        exports: Vec<String>,
        reference: &str,
    ) -> Result<Pushed, RegistryError> {
        let parsed = parse_reference(reference)?;
        let auth = self.auth_for(&parsed, reference)?;
        let component_digest = digest(bytes);
        let config = WasmConfig {
            created: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            author: identity.authors.clone(),
            architecture: "wasm",
            os: "wasip2",
            layer_digests: vec![component_digest.clone()],
            component: ComponentWorld {
                exports,
                imports,
                target: None,
            },
        };
        let config = Config::new(
            serde_json::to_vec(&config).expect("the config serialises"),
            WASM_CONFIG_MEDIA_TYPE.to_string(),
            None,
        );
        let layers = [ImageLayer::new(
            bytes.to_vec(),
            WASM_LAYER_MEDIA_TYPE.to_string(),
            None,
        )];
        let mut manifest = OciImageManifest::build(&layers, &config, Some(annotations(identity)));
        manifest.media_type = Some("application/vnd.oci.image.manifest.v1+json".to_string());
        let (response, manifest_digest) = self
            .runtime
            .block_on(async {
                let response = self
                    .client
                    .push(&parsed, &layers, config, &auth, Some(manifest))
                    .await?;
                // As the registry computed it.
                let digest = self.client.fetch_manifest_digest(&parsed, &auth).await?;
                Ok((response, digest))
            })
            .map_err(|err| classify(reference, err))?;
        Ok(Pushed {
            manifest_url: response.manifest_url,
            manifest_digest,
            component_digest,
        })
    }

    /// Pulls `reference` into the cache (or finds it there, for a reference
    /// pinned by digest that was pulled before) and returns where it is.
    pub fn pull(&self, reference: &str) -> Result<Pulled, RegistryError> {
        let parsed = parse_reference(reference)?;
        if let Some(pinned) = parsed.digest()
            && let Some(pulled) = self.cached(pinned)?
        {
            return Ok(pulled);
        }
        let auth = self.auth_for(&parsed, reference)?;
        // Tag and pin both given: the tag must still point at the pinned manifest.
        if let (Some(pinned), Some(tag)) = (parsed.digest(), parsed.tag()) {
            let tagged = Reference::with_tag(
                parsed.registry().to_string(),
                parsed.repository().to_string(),
                tag.to_string(),
            );
            let actual = self
                .runtime
                .block_on(self.client.fetch_manifest_digest(&tagged, &auth))
                .map_err(|err| classify(reference, err))?;
            if actual != pinned {
                return Err(RegistryError::DigestMismatch {
                    reference: reference.into(),
                    expected: pinned.into(),
                    actual,
                });
            }
        }
        let (manifest, manifest_digest) = self
            .runtime
            .block_on(self.client.pull_image_manifest(&parsed, &auth))
            .map_err(|err| classify(reference, err))?;
        if let Some(pinned) = parsed.digest()
            && pinned != manifest_digest
        {
            return Err(RegistryError::DigestMismatch {
                reference: reference.into(),
                expected: pinned.into(),
                actual: manifest_digest,
            });
        }
        if manifest.config.media_type != WASM_CONFIG_MEDIA_TYPE {
            return Err(RegistryError::NotWasm {
                reference: reference.into(),
                problem: format!("its config is {}", manifest.config.media_type),
            });
        }
        let [layer] = manifest.layers.as_slice() else {
            return Err(RegistryError::NotWasm {
                reference: reference.into(),
                problem: format!("it has {} layers, not one", manifest.layers.len()),
            });
        };
        if layer.media_type != WASM_LAYER_MEDIA_TYPE {
            return Err(RegistryError::NotWasm {
                reference: reference.into(),
                problem: format!("its layer is {}", layer.media_type),
            });
        }
        let path = self.blob_path(&layer.digest);
        let cached = path.is_file()
            && std::fs::read(&path).is_ok_and(|bytes| digest(&bytes) == layer.digest);
        if !cached {
            let mut bytes = Vec::new();
            self.runtime
                .block_on(self.client.pull_blob(&parsed, layer, &mut bytes))
                .map_err(|err| classify(reference, err))?;
            let actual = digest(&bytes);
            if actual != layer.digest {
                return Err(RegistryError::DigestMismatch {
                    reference: reference.into(),
                    expected: layer.digest.clone(),
                    actual,
                });
            }
            self.store(&path, &bytes)?;
        }
        self.store(
            &self.manifest_path(&manifest_digest),
            layer.digest.as_bytes(),
        )?;
        Ok(Pulled {
            path,
            manifest_digest,
            component_digest: layer.digest.clone(),
            cached,
        })
    }

    /// A pack pulled before by the manifest digest `pinned`, if its
    /// component is still in the cache and intact.
    fn cached(&self, pinned: &str) -> Result<Option<Pulled>, RegistryError> {
        let Ok(layer) = std::fs::read_to_string(self.manifest_path(pinned)) else {
            return Ok(None);
        };
        let path = self.blob_path(layer.trim());
        let intact = std::fs::read(&path).is_ok_and(|bytes| digest(&bytes) == layer.trim());
        Ok(intact.then(|| Pulled {
            path,
            manifest_digest: pinned.into(),
            component_digest: layer.trim().into(),
            cached: true,
        }))
    }

    fn blob_path(&self, digest: &str) -> PathBuf {
        self.cache
            .join("blobs")
            .join(format!("{}.wasm", digest.replace(':', "-")))
    }

    fn manifest_path(&self, digest: &str) -> PathBuf {
        self.cache.join("manifests").join(digest.replace(':', "-"))
    }

    /// Writes `bytes` to `path` whole (through a temporary file beside it).
    fn store(&self, path: &Path, bytes: &[u8]) -> Result<(), RegistryError> {
        let failed = |source| RegistryError::Cache {
            path: path.display().to_string(),
            source,
        };
        let folder = path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(folder).map_err(failed)?;
        let mut file = tempfile::NamedTempFile::new_in(folder).map_err(failed)?;
        std::io::Write::write_all(&mut file, bytes).map_err(failed)?;
        file.persist(path).map_err(|err| failed(err.error))?;
        Ok(())
    }
}

/// The folder pulled packs are kept in: `$PME_PACK_CACHE`, else
/// `$XDG_CACHE_HOME/promemu/packs`, else `~/.cache/promemu/packs` (the
/// platform's cache folder elsewhere than Linux; the temporary folder without one).
pub fn default_cache() -> PathBuf {
    if let Some(folder) = std::env::var_os("PME_PACK_CACHE") {
        return PathBuf::from(folder);
    }
    dirs::cache_dir()
        .unwrap_or_else(std::env::temp_dir)
        .join("promemu/packs")
}

impl Registry {
    /// The credentials for the registry of `parsed` (written `reference`): the
    /// `PME_REGISTRY_*` ones when given, else that registry's own in the login
    /// files of Docker (`$DOCKER_CONFIG/config.json`, `~/.docker/config.json`)
    /// or Podman (`$REGISTRY_AUTH_FILE`, `$XDG_RUNTIME_DIR/containers/auth.json`),
    /// else none. Another registry's credentials are never sent.
    fn auth_for(&self, parsed: &Reference, reference: &str) -> Result<RegistryAuth, RegistryError> {
        use docker_credential::{CredentialRetrievalError as Lookup, DockerCredential};
        if let Some(auth) = &self.given_auth {
            return Ok(auth.clone());
        }
        let registry = parsed.registry();
        let unreadable = |message: String| RegistryError::Credentials {
            reference: reference.into(),
            registry: registry.into(),
            message,
        };
        for lookup in [
            docker_credential::get_credential,
            docker_credential::get_podman_credential,
        ] {
            match lookup(registry) {
                Ok(DockerCredential::UsernamePassword(user, password)) => {
                    return Ok(RegistryAuth::Basic(user, password));
                }
                Ok(DockerCredential::IdentityToken(_)) => {
                    return Err(unreadable(
                        "it is an identity token, which promemu cannot use; log in with a username and password, or set PME_REGISTRY_TOKEN".into(),
                    ));
                }
                Err(
                    Lookup::NoCredentialConfigured
                    | Lookup::ConfigNotFound
                    | Lookup::ConfigReadError,
                ) => {}
                Err(other) => return Err(unreadable(other.to_string())),
            }
        }
        Ok(RegistryAuth::Anonymous)
    }
}

fn parse_reference(reference: &str) -> Result<Reference, RegistryError> {
    let bad = |reason: String| RegistryError::BadReference {
        reference: reference.into(),
        reason,
    };
    // Without a registry host, the OCI default would be Docker Hub: a pack
    // reference always names its registry.
    let host = reference.split('/').next().unwrap_or_default();
    if !reference.contains('/')
        || !(host.contains('.') || host.contains(':') || host == "localhost")
    {
        return Err(bad("it names no registry host".into()));
    }
    reference
        .parse::<Reference>()
        .map_err(|err| bad(err.to_string()))
}

/// The pack's metadata as OCI annotations (the standard `org.opencontainers.image.*` keys).
fn annotations(identity: &PackIdentity) -> BTreeMap<String, String> {
    [
        ("title", &identity.name),
        ("version", &identity.version),
        ("description", &identity.description),
        ("authors", &identity.authors),
        ("licenses", &identity.licenses),
        ("source", &identity.source),
        ("url", &identity.homepage),
        ("revision", &identity.revision),
    ]
    .into_iter()
    .filter_map(|(key, value)| {
        value
            .as_ref()
            .map(|value| (format!("org.opencontainers.image.{key}"), value.clone()))
    })
    .collect()
}

/// Sorts a client error into what the user can act on.
fn classify(reference: &str, err: oci_client::errors::OciDistributionError) -> RegistryError {
    use oci_client::errors::OciDistributionError as Oci;
    let message = err.to_string();
    let lower = message.to_ascii_lowercase();
    let unauthorized = matches!(
        err,
        Oci::AuthenticationFailure(_) | Oci::UnauthorizedError { .. }
    ) || lower.contains("code: 401")
        || lower.contains("unauthorized");
    let not_found = [
        "code: 404",
        "manifest unknown",
        "name unknown",
        "blob unknown",
        "not found",
    ]
    .iter()
    .any(|sign| lower.contains(sign));
    if unauthorized {
        RegistryError::Unauthorized {
            reference: reference.into(),
            message,
        }
    } else if not_found {
        RegistryError::NotFound {
            reference: reference.into(),
            message,
        }
    } else if lower.contains("https://") && lower.contains("error sending request") {
        RegistryError::Request {
            reference: reference.into(),
            message: format!(
                "{message} (a registry that speaks plain HTTP must be listed in {INSECURE_REGISTRIES_VAR})"
            ),
        }
    } else {
        RegistryError::Request {
            reference: reference.into(),
            message,
        }
    }
}
