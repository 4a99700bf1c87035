//! A Pushgateway client: PUT replaces a job's group, DELETE removes it. Job names
//! that are not plain URL path segments are sent base64-encoded, as the
//! Pushgateway's `job@base64` form allows.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE;

/// Why a push or delete failed.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// No answer. `connect` says the connection was never made, so nothing of the
    /// request reached the Pushgateway (a timeout, by contrast, may have landed).
    #[error("cannot reach the Pushgateway at {url}: {reason}")]
    Unreachable {
        url: String,
        reason: String,
        connect: bool,
    },
    /// The Pushgateway (or a proxy in front of it) answered with an error;
    /// `message` is its own text, on one line.
    #[error("the Pushgateway refused {method} {url} with {}: {message}", status_text(*status))]
    Refused {
        method: &'static str,
        url: String,
        status: u16,
        message: String,
    },
}

impl PushError {
    /// Whether retrying later can help (unreachable, 5xx, 408, 429) or not
    /// (other 4xx, such as a type conflict with another client's group).
    pub fn is_transient(&self) -> bool {
        match self {
            PushError::Unreachable { .. } => true,
            PushError::Refused { status, .. } => *status >= 500 || matches!(status, 408 | 429),
        }
    }

    /// Whether the request surely never reached the Pushgateway.
    pub fn never_arrived(&self) -> bool {
        matches!(self, PushError::Unreachable { connect: true, .. })
    }
}

/// Longest answer text kept in an error, so a proxy's error page cannot flood the log.
const MAX_MESSAGE_CHARS: usize = 300;

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

/// The path of a job's group: `/metrics/job/<job>` or `/metrics/job@base64/<b64>`.
pub fn group_path(job: &str) -> String {
    let plain = !job.is_empty()
        && job
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._~".contains(c));
    if plain {
        format!("/metrics/job/{job}")
    } else {
        format!("/metrics/job@base64/{}", URL_SAFE.encode(job))
    }
}

/// A client of one Pushgateway.
#[derive(Debug, Clone)]
pub struct Pushgateway {
    client: reqwest::Client,
    base: String,
}

impl Pushgateway {
    /// A client for the Pushgateway at `url` with a per-request `timeout`.
    pub fn new(url: &str, timeout: Duration) -> Result<Self, PushError> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()
            .map_err(|err| PushError::Unreachable {
                url: url.into(),
                reason: err.to_string(),
                connect: true,
            })?;
        Ok(Self {
            client,
            base: url.trim_end_matches('/').to_string(),
        })
    }

    /// Replaces the job's group with `body` (text exposition format).
    pub async fn push(&self, job: &str, body: bytes::Bytes) -> Result<(), PushError> {
        let url = format!("{}{}", self.base, group_path(job));
        let request = self
            .client
            .put(&url)
            .header("Content-Type", "text/plain; version=0.0.4")
            .body(body);
        self.send("PUT", url, request).await
    }

    /// Deletes the job's group (nothing happens if there is none).
    pub async fn delete(&self, job: &str) -> Result<(), PushError> {
        let url = format!("{}{}", self.base, group_path(job));
        let request = self.client.delete(&url);
        self.send("DELETE", url, request).await
    }

    async fn send(
        &self,
        method: &'static str,
        url: String,
        request: reqwest::RequestBuilder,
    ) -> Result<(), PushError> {
        let response = request.send().await.map_err(|err| PushError::Unreachable {
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
        let message = answer_message(&response.text().await.unwrap_or_default());
        Err(PushError::Refused {
            method,
            url,
            status: status.as_u16(),
            message,
        })
    }
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
    use super::{MAX_MESSAGE_CHARS, PushError, answer_message, group_path};

    #[test]
    fn server_errors_and_unreachable_gateways_are_transient_client_errors_are_not() {
        let refused = |status| PushError::Refused {
            method: "PUT",
            url: "u".into(),
            status,
            message: "m".into(),
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
            PushError::Unreachable {
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
    fn job_names_that_need_it_are_base64_encoded() {
        assert_eq!(group_path("web-servers"), "/metrics/job/web-servers");
        assert_eq!(group_path("a/b"), "/metrics/job@base64/YS9i");
        assert_eq!(
            group_path("peaks_2026-11-27T23:59:06"),
            "/metrics/job@base64/cGVha3NfMjAyNi0xMS0yN1QyMzo1OTowNg=="
        );
        assert_eq!(group_path(""), "/metrics/job@base64/");
    }
}
