//! Where a sink sends and how it is let in: the URL, credentials (basic auth or
//! a bearer token, inline or from a file), extra headers (a tenant header, say)
//! and TLS (a custom CA, a client certificate, or an explicit opt-out of
//! verification). The same settings serve the Pushgateway and every remote-write
//! target; TOML configs write them as in Prometheus' `remote_write` section:
//!
//! ```toml
//! [[remote_write]]
//! url = "https://mimir.example:9009/api/v1/push"
//! headers = { "X-Scope-OrgID" = "team-a" }
//! basic_auth = { username = "promemu", password_file = "secrets/password" }
//! tls = { ca_file = "ca.pem", cert_file = "client.pem", key_file = "client.key" }
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// A sink's target and how to reach it.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Endpoint {
    pub url: String,
    pub basic_auth: Option<BasicAuth>,
    /// `Authorization: Bearer <token>`.
    pub bearer_token: Option<Secret>,
    /// A file holding the bearer token (read when the run starts; surrounding
    /// whitespace ignored).
    pub bearer_token_file: Option<PathBuf>,
    /// Sent with every request.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub tls: TlsSettings,
}

/// `Authorization: Basic ...`; the password inline or from a file.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasicAuth {
    pub username: String,
    pub password: Option<Secret>,
    pub password_file: Option<PathBuf>,
}

/// How the target's certificate is checked and which certificate we show.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSettings {
    /// PEM certificates to trust besides the system's (a private CA).
    pub ca_file: Option<PathBuf>,
    /// PEM client certificate (chain), shown when the server asks for one.
    pub cert_file: Option<PathBuf>,
    /// PEM private key of `cert_file`.
    pub key_file: Option<PathBuf>,
    /// Accept any server certificate. Only for tests and throwaway setups.
    #[serde(default)]
    pub insecure_skip_verify: bool,
}

/// A password or token: kept out of `Debug` output and logs.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, out: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        out.write_str("<secret>")
    }
}

impl Endpoint {
    /// An endpoint at `url` with no credentials, headers or TLS settings.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            ..Self::default()
        }
    }

    /// The same settings with relative file paths taken from `folder` (a
    /// config file's folder).
    pub fn relative_to(mut self, folder: &Path) -> Self {
        let resolve = |path: &mut Option<PathBuf>| {
            if let Some(path) = path
                && path.is_relative()
            {
                *path = folder.join(&*path);
            }
        };
        resolve(&mut self.bearer_token_file);
        if let Some(basic) = &mut self.basic_auth {
            resolve(&mut basic.password_file);
        }
        resolve(&mut self.tls.ca_file);
        resolve(&mut self.tls.cert_file);
        resolve(&mut self.tls.key_file);
        self
    }

    /// Whether the URL goes over TLS.
    pub fn is_https(&self) -> bool {
        self.url
            .get(..8)
            .is_some_and(|scheme| scheme.eq_ignore_ascii_case("https://"))
    }
}
