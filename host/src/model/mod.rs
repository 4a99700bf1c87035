//! The config model: what a run emulates (the mixer, its hosts and their metrics).
//!
//! TOML files and config-builder plugins both produce this model; `validate`
//! checks it before anything runs. It holds no behaviour and does no I/O.

mod endpoint;
mod naming;
mod validate;

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;

pub use endpoint::{BasicAuth, Endpoint, Secret, TlsSettings};
pub use naming::{
    fake_address, fake_host_name, is_valid_label_name, is_valid_metric_name, respawned_name,
};
pub use validate::{ModelError, validate};

/// The longest span any duration of a run may have: 100 years, in seconds. Longer
/// finite durations are refused rather than converted (they overflow a `Duration`
/// and the millisecond clock); "for ever" is written `inf` where it is allowed.
pub const LONGEST_SECONDS: f64 = 100.0 * 365.25 * 24.0 * 3600.0;

/// Prometheus metric kind of a series.
///
/// - `Gauge`: each step's value is the series' value.
/// - `Counter`: each step's value is an increment (negative increments count as 0);
///   the exposed total never goes down. It restarts from 0 only when the series is
///   created again (host restart). `value` in a step context is the last increment.
/// - `Histogram`: each step's value is one observation, counted into the buckets
///   with `_sum` and `_count`. `value` in a step context is the last observation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MetricKind {
    Gauge,
    Counter,
    Histogram,
}

/// What happens to a series whose scenario faults (traps, times out, exhausts its
/// memory). In every case the plugin instance is rebuilt at once and the series
/// keeps its last value; the policies differ in when the series steps again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FaultPolicy {
    /// Retry after 1, 2, 4, ... update intervals (at most 64), skipping events
    /// meanwhile; a successful step resets the wait.
    #[default]
    Backoff,
    /// Keep stepping on schedule.
    Hold,
    /// Remove the series (no longer exposed) at its first fault.
    Drop,
}

impl std::str::FromStr for FaultPolicy {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "backoff" => Ok(FaultPolicy::Backoff),
            "hold" => Ok(FaultPolicy::Hold),
            "drop" => Ok(FaultPolicy::Drop),
            other => Err(format!(
                "unknown fault policy '{other}'; expected backoff, hold or drop"
            )),
        }
    }
}

/// The largest CPU share a plugin may be given: more cores than any machine
/// this runs on would give it.
pub const MAX_CPU_SHARE: f64 = 1024.0;

/// Whether `share` is a share of one core a plugin may be given.
pub fn is_valid_cpu_share(share: f64) -> bool {
    share > 0.0 && share <= MAX_CPU_SHARE
}

/// Per-plugin sandbox limits a config may set; unset fields keep the defaults.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct LimitOverrides {
    /// Seconds one call may take.
    pub call_deadline: Option<f64>,
    pub memory_bytes: Option<u64>,
    pub events_per_step: Option<usize>,
    pub log_bytes_per_step: Option<u64>,
    /// Share of one core per second of virtual time.
    pub cpu_share: Option<f64>,
}

/// A whole emulation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MixerConfig {
    /// Name of the config (used in logs and the default job name).
    pub name: String,
    /// Pushgateway job for hosts without `job_name`; `None` for `<name>_<start time>`.
    pub default_job_name: Option<String>,
    /// Seconds between pushes; `None` for the command line's or the default.
    pub push_interval: Option<f64>,
    pub hosts: Vec<HostConfig>,
    /// `None` for the command line's or the default.
    pub fault_policy: Option<FaultPolicy>,
    /// Limits per plugin, keyed by the plugin's file name (or `builtin`).
    pub plugin_limits: BTreeMap<String, LimitOverrides>,
    /// Packs the config needs (TOML `plugins = [...]`): paths, names on the
    /// plugin path, each optionally pinned (`name@sha256:<hex>`).
    pub plugins: Vec<String>,
    /// The config file's folder, which relative pack paths start from.
    pub folder: Option<std::path::PathBuf>,
    /// Remote-write targets (TOML `[[remote_write]]`), besides the command
    /// line's; never serialized, since they may hold credentials.
    #[serde(skip)]
    pub remote_write: Vec<Endpoint>,
}

/// One emulated host.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HostConfig {
    pub name: String,
    /// Fully qualified name; empty to derive one from the seed.
    pub host: String,
    /// IPv4 address label; empty to derive one from the seed.
    pub address: String,
    /// Seconds the host lives (`f64::INFINITY` for ever).
    pub ttl: f64,
    /// At its TTL the host comes back with a new identity (name, `host`,
    /// `address` derived from the seed): series churn, as in a fleet whose
    /// containers are replaced.
    pub respawn: bool,
    /// Seconds between the host's reports of its metrics.
    pub interval: f64,
    /// Pushgateway job; `None` for the default job.
    pub job_name: Option<String>,
    pub labels: BTreeMap<String, String>,
    /// Events that wake every metric of this host.
    pub listen_events: Vec<String>,
    /// Shared by the hosts of one group (`count = N`): a fleet holds one list
    /// per group, not one per host.
    pub metrics: Arc<Vec<MetricConfig>>,
}

/// One metric of a host.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricConfig {
    pub name: String,
    pub kind: MetricKind,
    pub description: String,
    pub units: String,
    pub min: f64,
    pub max: f64,
    pub default_value: f64,
    /// Seconds between steps.
    pub update_interval: f64,
    /// Seconds after the host starts before the metric becomes active.
    pub start_time: f64,
    /// Seconds the metric stays active; `None` for the host's whole life.
    pub duration: Option<f64>,
    pub scenario: String,
    /// Scenario parameters as a JSON object text.
    pub scenario_params: String,
    pub listen_events: Vec<String>,
    pub labels: BTreeMap<String, String>,
    /// Histogram bucket upper bounds; empty for Prometheus' default buckets.
    pub buckets: Vec<f64>,
}

impl MetricConfig {
    /// A gauge with the original's defaults: range 0..100, default 0, every 10 s,
    /// scenario `do_nothing`.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            kind: MetricKind::Gauge,
            description: String::new(),
            units: String::new(),
            min: 0.0,
            max: 100.0,
            default_value: 0.0,
            update_interval: 10.0,
            start_time: 0.0,
            duration: None,
            scenario: "do_nothing".into(),
            scenario_params: String::new(),
            listen_events: Vec::new(),
            labels: BTreeMap::new(),
            buckets: Vec::new(),
        }
    }
}

impl HostConfig {
    /// The labels every series of this host carries: `name`, `host` and `address`
    /// (unless empty), then the host's own labels, later ones winning.
    pub fn host_labels(&self) -> BTreeMap<String, String> {
        let mut labels = BTreeMap::new();
        for (key, value) in [
            ("name", &self.name),
            ("host", &self.host),
            ("address", &self.address),
        ] {
            if !value.is_empty() {
                labels.insert(key.to_string(), value.clone());
            }
        }
        labels.extend(
            self.labels
                .iter()
                .map(|(key, value)| (key.clone(), value.clone())),
        );
        labels
    }

    /// The labels of one of this host's series: the host's, then the metric's.
    pub fn series_labels(&self, metric: &MetricConfig) -> BTreeMap<String, String> {
        let mut labels = self.host_labels();
        labels.extend(
            metric
                .labels
                .iter()
                .map(|(key, value)| (key.clone(), value.clone())),
        );
        labels
    }

    /// Fills an empty `host` and `address` with names derived from the seed.
    pub fn fill_identity(&mut self, seed: u64) {
        if self.host.is_empty() {
            self.host = fake_host_name(&self.name);
        }
        if self.address.is_empty() {
            self.address = fake_address(seed, &self.name);
        }
    }

    /// A host with the original's defaults: lives for ever, reports every 30 s.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            host: String::new(),
            address: String::new(),
            ttl: f64::INFINITY,
            respawn: false,
            interval: 30.0,
            job_name: None,
            labels: BTreeMap::new(),
            listen_events: Vec::new(),
            metrics: Arc::default(),
        }
    }
}

/// Prometheus' default histogram buckets.
pub const DEFAULT_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
