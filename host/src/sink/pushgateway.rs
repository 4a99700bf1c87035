//! A Pushgateway client: PUT replaces a job's group, DELETE removes it. Job names
//! that are not plain URL path segments are sent base64-encoded, as the
//! Pushgateway's `job@base64` form allows.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE;

use super::http::{EndpointError, HttpError, HttpTarget};
use crate::model::Endpoint;

/// Why a push or delete failed.
pub type PushError = HttpError;

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
    target: HttpTarget,
}

impl Pushgateway {
    /// A client for the Pushgateway at `endpoint` with a per-request `timeout`.
    pub fn new(endpoint: &Endpoint, timeout: Duration) -> Result<Self, EndpointError> {
        Ok(Self {
            target: HttpTarget::open("Pushgateway", endpoint, timeout)?,
        })
    }

    /// Replaces the job's group with `body` (text exposition format).
    pub async fn push(&self, job: &str, body: bytes::Bytes) -> Result<(), PushError> {
        let url = format!("{}{}", self.target.base, group_path(job));
        let request = self
            .target
            .client
            .put(&url)
            .header("Content-Type", "text/plain; version=0.0.4")
            .body(body);
        self.target.send("PUT", url, request).await
    }

    /// Deletes the job's group (nothing happens if there is none).
    pub async fn delete(&self, job: &str) -> Result<(), PushError> {
        let url = format!("{}{}", self.target.base, group_path(job));
        let request = self.target.client.delete(&url);
        self.target.send("DELETE", url, request).await
    }
}

#[cfg(test)]
mod tests {
    use super::group_path;

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
