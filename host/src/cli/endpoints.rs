//! Flags of the network sinks' endpoints: credentials, headers and TLS, once
//! for the Pushgateway (`--push-*`) and once for every `--remote-write-url`
//! (`--remote-write-*`). A TOML config's `[[remote_write]]` targets carry
//! their own settings.

use std::path::PathBuf;

use clap::Args;

use crate::model::{BasicAuth, Endpoint, Secret, TlsSettings};

/// Declares the flags of one kind of endpoint, named `--<prefix>-...`, read
/// from `<ENV>_...` too.
macro_rules! endpoint_flags {
    ($name:ident, $prefix:literal, $env:literal, $what:literal) => {
        #[doc = concat!("Credentials, headers and TLS of ", $what, ".")]
        #[derive(Debug, Clone, Default, Args)]
        pub struct $name {
            #[arg(id = concat!($prefix, "-username"), long = concat!($prefix, "-username"), env = concat!($env, "_USERNAME"), value_name = "USER",
                help = concat!("User name for basic auth to ", $what))]
            pub username: Option<String>,

            #[arg(id = concat!($prefix, "-password"), long = concat!($prefix, "-password"), env = concat!($env, "_PASSWORD"), hide_env_values = true, value_name = "PASSWORD",
                help = concat!("Password for basic auth to ", $what, " (better: the variable ", $env, "_PASSWORD, or a file)"))]
            pub password: Option<String>,

            #[arg(id = concat!($prefix, "-password-file"), long = concat!($prefix, "-password-file"), value_name = "FILE",
                help = concat!("File holding the basic-auth password for ", $what))]
            pub password_file: Option<PathBuf>,

            #[arg(id = concat!($prefix, "-bearer-token"), long = concat!($prefix, "-bearer-token"), env = concat!($env, "_BEARER_TOKEN"), hide_env_values = true, value_name = "TOKEN",
                help = concat!("Bearer token for ", $what, " (better: the variable ", $env, "_BEARER_TOKEN, or a file)"))]
            pub bearer_token: Option<String>,

            #[arg(id = concat!($prefix, "-bearer-token-file"), long = concat!($prefix, "-bearer-token-file"), value_name = "FILE",
                help = concat!("File holding the bearer token for ", $what))]
            pub bearer_token_file: Option<PathBuf>,

            #[arg(id = concat!($prefix, "-header"), long = concat!($prefix, "-header"), value_name = "NAME: VALUE", value_parser = parse_header,
                help = concat!("Header sent with every request to ", $what, " (e.g. 'X-Scope-OrgID: team-a'); repeatable"))]
            pub headers: Vec<(String, String)>,

            #[arg(id = concat!($prefix, "-ca-file"), long = concat!($prefix, "-ca-file"), value_name = "FILE",
                help = concat!("PEM certificates to trust for ", $what, ", besides the system's"))]
            pub ca_file: Option<PathBuf>,

            #[arg(id = concat!($prefix, "-cert-file"), long = concat!($prefix, "-cert-file"), value_name = "FILE",
                help = concat!("PEM client certificate to show ", $what))]
            pub cert_file: Option<PathBuf>,

            #[arg(id = concat!($prefix, "-key-file"), long = concat!($prefix, "-key-file"), value_name = "FILE",
                help = concat!("PEM private key of --", $prefix, "-cert-file"))]
            pub key_file: Option<PathBuf>,

            #[arg(id = concat!($prefix, "-insecure-skip-verify"), long = concat!($prefix, "-insecure-skip-verify"),
                help = concat!("Accept any certificate from ", $what, " (tests and throwaway setups only)"))]
            pub insecure_skip_verify: bool,
        }

        impl $name {
            /// The endpoint at `url` with these settings.
            pub fn endpoint(&self, url: &str) -> Endpoint {
                let basic_auth = self.username.as_ref().map(|username| BasicAuth {
                    username: username.clone(),
                    password: self.password.clone().map(Secret),
                    password_file: self.password_file.clone(),
                });
                Endpoint {
                    url: url.to_string(),
                    basic_auth,
                    bearer_token: self.bearer_token.clone().map(Secret),
                    bearer_token_file: self.bearer_token_file.clone(),
                    headers: self.headers.iter().cloned().collect(),
                    tls: TlsSettings {
                        ca_file: self.ca_file.clone(),
                        cert_file: self.cert_file.clone(),
                        key_file: self.key_file.clone(),
                        insecure_skip_verify: self.insecure_skip_verify,
                    },
                }
            }
        }
    };
}

endpoint_flags!(PushEndpointArgs, "push", "PME_PUSH", "the Pushgateway");
endpoint_flags!(
    RemoteWriteEndpointArgs,
    "remote-write",
    "PME_REMOTE_WRITE",
    "every --remote-write-url"
);

/// `Name: Value` (or `Name=Value`).
fn parse_header(text: &str) -> Result<(String, String), String> {
    let split = text
        .find(':')
        .into_iter()
        .chain(text.find('='))
        .min()
        .ok_or_else(|| format!("'{text}' is not a header; expected 'Name: Value'"))?;
    let (name, value) = (text[..split].trim(), text[split + 1..].trim());
    if name.is_empty() {
        return Err(format!(
            "'{text}' has no header name; expected 'Name: Value'"
        ));
    }
    Ok((name.to_string(), value.to_string()))
}

#[cfg(test)]
mod tests {
    use super::parse_header;

    #[test]
    fn headers_are_name_colon_value() {
        assert_eq!(
            parse_header("X-Scope-OrgID: team-a").unwrap(),
            ("X-Scope-OrgID".into(), "team-a".into())
        );
        assert_eq!(parse_header("a=b:c").unwrap(), ("a".into(), "b:c".into()));
        assert!(
            parse_header("novalue")
                .unwrap_err()
                .contains("expected 'Name: Value'")
        );
        assert!(parse_header(": x").is_err());
    }
}
