//! What the HTTP sinks share: a client made from an [`Endpoint`]'s settings
//! (credentials, headers, TLS), requests whose failures say which service
//! refused what, and the retry pacing (doubling backoff, a log line per burst).

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue};

use crate::model::Endpoint;

/// Longest wait between attempts after repeated failures.
pub const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// Longest answer text kept in an error, so a proxy's error page cannot flood the log.
const MAX_MESSAGE_CHARS: usize = 300;

/// Why an endpoint's settings cannot be used (found before anything runs).
#[derive(Debug, thiserror::Error)]
pub enum EndpointError {
    #[error("{service} at {url}: cannot read the {what} {}", path.display())]
    ReadFile {
        service: &'static str,
        url: String,
        what: &'static str,
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("{service} at {url}: the {what} {} is not usable: {message}", path.display())]
    Pem {
        service: &'static str,
        url: String,
        what: &'static str,
        path: std::path::PathBuf,
        message: String,
    },
    #[error("{service} at {url}: {problem}")]
    Settings {
        service: &'static str,
        url: String,
        problem: String,
    },
}

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// No answer. `connect` says the connection was never made, so nothing of the
    /// request reached the service (a timeout, by contrast, may have landed).
    #[error("cannot reach the {service} at {url}: {reason}")]
    Unreachable {
        service: &'static str,
        url: String,
        reason: String,
        connect: bool,
    },
    /// The service (or a proxy in front of it) answered with an error;
    /// `message` is its own text, on one line.
    #[error("the {service} refused {method} {url} with {}: {message}", status_text(*status))]
    Refused {
        service: &'static str,
        method: &'static str,
        url: String,
        status: u16,
        message: String,
        /// What a 429 or 503 asked for in `Retry-After` (seconds).
        retry_after: Option<Duration>,
    },
}

impl HttpError {
    /// Whether retrying later can help (unreachable, 5xx, 408, 429) or not
    /// (other 4xx, such as a type conflict or a refused credential).
    pub fn is_transient(&self) -> bool {
        match self {
            HttpError::Unreachable { .. } => true,
            HttpError::Refused { status, .. } => *status >= 500 || matches!(status, 408 | 429),
        }
    }

    /// Whether the request surely never reached the service.
    pub fn never_arrived(&self) -> bool {
        matches!(self, HttpError::Unreachable { connect: true, .. })
    }

    /// The wait the service asked for, if it did.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            HttpError::Refused { retry_after, .. } => *retry_after,
            HttpError::Unreachable { .. } => None,
        }
    }
}

/// A client of one service, with the endpoint's credentials, headers and TLS.
#[derive(Debug, Clone)]
pub struct HttpTarget {
    pub client: reqwest::Client,
    /// The endpoint's URL without a trailing `/`.
    pub base: String,
    pub service: &'static str,
}

impl HttpTarget {
    /// A client for `endpoint` (a `service` such as "Pushgateway", named in
    /// errors) with a per-request `timeout`. Reads the credential, CA and
    /// certificate files now, so a bad one is found before the run starts.
    pub fn open(
        service: &'static str,
        endpoint: &Endpoint,
        timeout: Duration,
    ) -> Result<Self, EndpointError> {
        let url = endpoint.url.trim_end_matches('/').to_string();
        let settings = |problem: String| EndpointError::Settings {
            service,
            url: url.clone(),
            problem,
        };
        let read = |what: &'static str, path: &std::path::Path| {
            std::fs::read(path).map_err(|source| EndpointError::ReadFile {
                service,
                url: url.clone(),
                what,
                path: path.to_path_buf(),
                source,
            })
        };
        let pem =
            |what: &'static str, path: &std::path::Path, err: reqwest::Error| EndpointError::Pem {
                service,
                url: url.clone(),
                what,
                path: path.to_path_buf(),
                message: error_causes(&err),
            };
        reqwest::Url::parse(&url)
            .map_err(|err| settings(format!("'{url}' is not a URL ({err})")))?;

        let mut headers = HeaderMap::new();
        for (name, value) in &endpoint.headers {
            let header = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| settings(format!("'{name}' is not a header name")))?;
            if header == AUTHORIZATION {
                return Err(settings(
                    "set credentials with basic auth or a bearer token, not an Authorization header"
                        .into(),
                ));
            }
            let value = HeaderValue::from_str(value)
                .map_err(|_| settings(format!("the value of header '{name}' is not valid")))?;
            headers.insert(header, value);
        }
        if let Some(authorization) = authorization(endpoint, &read) {
            let mut value = HeaderValue::from_str(&authorization?)
                .map_err(|_| settings("the credentials hold characters a header cannot".into()))?;
            value.set_sensitive(true);
            headers.insert(AUTHORIZATION, value);
        }
        if endpoint.basic_auth.is_some()
            && (endpoint.bearer_token.is_some() || endpoint.bearer_token_file.is_some())
        {
            return Err(settings(
                "give basic auth or a bearer token, not both".into(),
            ));
        }

        let tls = &endpoint.tls;
        let mut builder = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(concat!("promemu/", env!("CARGO_PKG_VERSION")))
            .default_headers(headers)
            .danger_accept_invalid_certs(tls.insecure_skip_verify);
        if let Some(path) = &tls.ca_file {
            let certificates = reqwest::Certificate::from_pem_bundle(&read("CA file", path)?)
                .map_err(|err| pem("CA file", path, err))?;
            if certificates.is_empty() {
                return Err(EndpointError::Pem {
                    service,
                    url: url.clone(),
                    what: "CA file",
                    path: path.clone(),
                    message: "it holds no PEM certificate".into(),
                });
            }
            for certificate in certificates {
                builder = builder.add_root_certificate(certificate);
            }
        }
        match (&tls.cert_file, &tls.key_file) {
            (Some(cert), Some(key)) => {
                let mut both = read("client certificate", cert)?;
                both.push(b'\n');
                both.extend(read("client key", key)?);
                let identity = reqwest::Identity::from_pem(&both)
                    .map_err(|err| pem("client certificate and key", cert, err))?;
                builder = builder.identity(identity);
            }
            (None, None) => {}
            _ => {
                return Err(settings(
                    "a client certificate needs both cert_file and key_file".into(),
                ));
            }
        }
        let client = builder
            .build()
            .map_err(|err| settings(format!("cannot set up the client: {}", error_causes(&err))))?;
        if !endpoint.is_https()
            && (endpoint.basic_auth.is_some()
                || endpoint.bearer_token.is_some()
                || endpoint.bearer_token_file.is_some())
        {
            tracing::warn!("Credentials for the {service} at {url} go over plain HTTP");
        }
        Ok(Self {
            client,
            base: url,
            service,
        })
    }

    /// Sends `request` (to `url`, by `method`, for messages); any 2xx is success.
    pub async fn send(
        &self,
        method: &'static str,
        url: String,
        request: reqwest::RequestBuilder,
    ) -> Result<(), HttpError> {
        let service = self.service;
        let response = request.send().await.map_err(|err| HttpError::Unreachable {
            service,
            url: url.clone(),
            reason: if err.is_timeout() {
                "timed out".into()
            } else {
                error_causes(&err)
            },
            connect: err.is_connect(),
        })?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(|text| text.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let message = answer_message(&response.text().await.unwrap_or_default());
        Err(HttpError::Refused {
            service,
            method,
            url,
            status: status.as_u16(),
            message,
            retry_after,
        })
    }
}

/// The `Authorization` value the endpoint's credentials make, if any.
fn authorization(
    endpoint: &Endpoint,
    read: &impl Fn(&'static str, &std::path::Path) -> Result<Vec<u8>, EndpointError>,
) -> Option<Result<String, EndpointError>> {
    let text = |what, path: &std::path::Path| {
        read(what, path).map(|bytes| String::from_utf8_lossy(&bytes).trim().to_string())
    };
    if let Some(basic) = &endpoint.basic_auth {
        let password = match (&basic.password, &basic.password_file) {
            (Some(password), _) => Ok(password.0.clone()),
            (None, Some(path)) => text("password file", path),
            (None, None) => Ok(String::new()),
        };
        return Some(password.map(|password| {
            format!(
                "Basic {}",
                STANDARD.encode(format!("{}:{password}", basic.username))
            )
        }));
    }
    let token = match (&endpoint.bearer_token, &endpoint.bearer_token_file) {
        (Some(token), _) => Ok(token.0.clone()),
        (None, Some(path)) => text("bearer token file", path),
        (None, None) => return None,
    };
    Some(token.map(|token| format!("Bearer {token}")))
}

/// Doubles the wait per consecutive failure, from `base` up to [`MAX_BACKOFF`]
/// (or `base`, when that is longer).
pub fn backoff(base: Duration, failures: u32) -> Duration {
    let factor = 2u32.saturating_pow(failures.saturating_sub(1).min(16));
    base.saturating_mul(factor).min(MAX_BACKOFF.max(base))
}

/// Logs a failed attempt without flooding: a refusal for good (bad
/// credentials, say) is one error line per burst; a transient failure warns at
/// the first of a burst (unless `announced` already) and then at every power of
/// two. The rest go to debug. `what` names the attempt ("Push of job <web>").
pub fn log_failure(what: &str, err: &HttpError, failures: u32, retry: Duration, announced: bool) {
    let first_to_report = if announced { 2 } else { 1 };
    if !err.is_transient() {
        if failures == first_to_report {
            tracing::error!(
                "{what} failed and will keep failing until this is fixed (retrying every {retry:?} or so, quietly): {err}"
            );
        } else {
            tracing::debug!("{what} failed ({failures} in a row): {err}");
        }
    } else if failures == first_to_report
        || (failures > first_to_report && failures.is_power_of_two())
    {
        tracing::warn!("{what} failed ({failures} in a row; retrying in {retry:?}): {err}");
    } else {
        tracing::debug!("{what} failed ({failures} in a row): {err}");
    }
}

/// `503 Service Unavailable`, or just the number for a code without a name.
fn status_text(status: u16) -> String {
    reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|code| code.canonical_reason())
        .map_or_else(|| status.to_string(), |reason| format!("{status} {reason}"))
}

/// An error answer as one short line: an HTML page (what proxies send) is reduced
/// to its title or text, whitespace runs become one space, and long text is cut.
fn answer_message(body: &str) -> String {
    let text = if body.trim_start().starts_with('<') {
        html_title(body).unwrap_or_else(|| html_text(body))
    } else {
        body.to_string()
    };
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match line.char_indices().nth(MAX_MESSAGE_CHARS) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line,
    }
}

fn html_title(page: &str) -> Option<String> {
    let lower = page.to_ascii_lowercase();
    let start = lower.find("<title>")? + "<title>".len();
    let end = lower[start..].find("</title>")? + start;
    Some(page[start..end].to_string())
}

fn html_text(page: &str) -> String {
    let mut text = String::with_capacity(page.len());
    let mut in_tag = false;
    for c in page.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                text.push(' ');
            }
            _ if !in_tag => text.push(c),
            _ => {}
        }
    }
    text
}

/// The causes of a request error, without the layers that only repeat the URL or
/// say that the client failed: `tcp connect error: Connection refused (os error 111)`.
fn error_causes(err: &reqwest::Error) -> String {
    let mut causes = Vec::new();
    let mut next: Option<&dyn std::error::Error> = Some(err);
    while let Some(cause) = next {
        let text = cause.to_string();
        let wrapper = text.starts_with("error sending request") || text.starts_with("client error");
        if !wrapper && !causes.contains(&text) {
            causes.push(text);
        }
        next = cause.source();
    }
    if causes.is_empty() {
        err.to_string()
    } else {
        causes.join(": ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{BasicAuth, Secret};

    #[test]
    fn server_errors_and_unreachable_services_are_transient_client_errors_are_not() {
        let refused = |status| HttpError::Refused {
            service: "Pushgateway",
            method: "PUT",
            url: "u".into(),
            status,
            message: "m".into(),
            retry_after: None,
        };
        assert!(refused(500).is_transient() && refused(503).is_transient());
        assert!(refused(429).is_transient() && refused(408).is_transient());
        assert!(!refused(400).is_transient() && !refused(404).is_transient());
        assert_eq!(
            refused(503).to_string(),
            "the Pushgateway refused PUT u with 503 Service Unavailable: m"
        );
        assert!(refused(599).to_string().contains("with 599: m"));
        assert!(
            HttpError::Unreachable {
                service: "Pushgateway",
                url: "u".into(),
                reason: "r".into(),
                connect: false,
            }
            .is_transient()
        );
    }

    #[test]
    fn answers_become_one_short_line() {
        assert_eq!(
            answer_message("text format parsing error in line 3:\n  second type for cpu\n"),
            "text format parsing error in line 3: second type for cpu"
        );
        let page = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n";
        assert_eq!(answer_message(page), "502 Bad Gateway");
        assert_eq!(
            answer_message("<p>gateway <b>asleep</b></p>"),
            "gateway asleep"
        );
        let long = answer_message(&"é".repeat(5000));
        assert_eq!(long.chars().count(), MAX_MESSAGE_CHARS + 1);
        assert!(long.ends_with('…'));
    }

    #[test]
    fn backoff_doubles_up_to_a_ceiling() {
        let second = Duration::from_secs(1);
        assert_eq!(backoff(second, 1), second);
        assert_eq!(backoff(second, 2), 2 * second);
        assert_eq!(backoff(second, 4), 8 * second);
        assert_eq!(backoff(second, 30), MAX_BACKOFF);
        assert_eq!(
            backoff(Duration::from_secs(120), 3),
            Duration::from_secs(120)
        );
    }

    #[test]
    fn bad_endpoint_settings_are_refused_with_what_and_where() {
        let open = |endpoint: &Endpoint| {
            HttpTarget::open("remote-write endpoint", endpoint, Duration::from_secs(1))
                .unwrap_err()
                .to_string()
        };
        let mut endpoint = Endpoint::new("https://127.0.0.1:1/api/v1/write");
        endpoint.tls.ca_file = Some("/no/such/ca.pem".into());
        assert_eq!(
            open(&endpoint),
            "remote-write endpoint at https://127.0.0.1:1/api/v1/write: cannot read the CA file /no/such/ca.pem"
        );
        let dir = tempfile::tempdir().unwrap();
        let junk = dir.path().join("ca.pem");
        std::fs::write(&junk, "not a certificate").unwrap();
        endpoint.tls.ca_file = Some(junk);
        assert!(
            open(&endpoint).contains("holds no PEM certificate"),
            "{}",
            open(&endpoint)
        );

        let mut endpoint = Endpoint::new("http://127.0.0.1:1");
        endpoint.tls.cert_file = Some("c.pem".into());
        assert!(open(&endpoint).contains("needs both cert_file and key_file"));

        let mut endpoint = Endpoint::new("http://127.0.0.1:1");
        endpoint.basic_auth = Some(BasicAuth {
            username: "u".into(),
            password: Some(Secret("p".into())),
            password_file: None,
        });
        endpoint.bearer_token = Some(Secret("t".into()));
        assert!(open(&endpoint).contains("not both"));

        let mut endpoint = Endpoint::new("http://127.0.0.1:1");
        endpoint.headers.insert("Authorization".into(), "x".into());
        assert!(open(&endpoint).contains("not an Authorization header"));
        endpoint.headers.clear();
        endpoint.headers.insert("bad header".into(), "x".into());
        assert!(open(&endpoint).contains("'bad header' is not a header name"));

        assert!(open(&Endpoint::new("not a url")).contains("is not a URL"));
    }
}
