//! Conversions between the contract's records and the config model, at the
//! plugin boundary: what a config builder returns becomes a [`MixerConfig`], and
//! a metric's kind crosses in both directions.

use std::collections::BTreeMap;

use super::bindings::types as plugin;
use crate::model::{HostConfig, MetricConfig, MetricKind, MixerConfig};

impl From<plugin::MetricKind> for MetricKind {
    fn from(kind: plugin::MetricKind) -> Self {
        match kind {
            plugin::MetricKind::Gauge => MetricKind::Gauge,
            plugin::MetricKind::Counter => MetricKind::Counter,
            plugin::MetricKind::Histogram => MetricKind::Histogram,
        }
    }
}

impl From<MetricKind> for plugin::MetricKind {
    fn from(kind: MetricKind) -> Self {
        match kind {
            MetricKind::Gauge => plugin::MetricKind::Gauge,
            MetricKind::Counter => plugin::MetricKind::Counter,
            MetricKind::Histogram => plugin::MetricKind::Histogram,
        }
    }
}

fn label_map(pairs: Vec<(String, String)>) -> BTreeMap<String, String> {
    pairs.into_iter().collect()
}

fn non_empty(text: String) -> Option<String> {
    (!text.trim().is_empty()).then_some(text)
}

impl MixerConfig {
    /// The model of what builder `name` returned.
    pub fn from_plugin(name: &str, built: plugin::MixerConfig) -> Self {
        Self {
            name: name.into(),
            default_job_name: non_empty(built.default_job_name),
            push_interval: built.push_interval,
            hosts: built
                .hosts
                .into_iter()
                .map(HostConfig::from_plugin)
                .collect(),
            fault_policy: None,
            plugin_limits: Default::default(),
            plugins: Vec::new(),
            folder: None,
            remote_write: Vec::new(),
        }
    }
}

impl HostConfig {
    fn from_plugin(host: plugin::HostConfig) -> Self {
        Self {
            name: host.name,
            host: host.host,
            address: host.address,
            ttl: host.ttl,
            respawn: false,
            interval: host.interval,
            job_name: non_empty(host.job_name),
            labels: label_map(host.labels),
            listen_events: host.listen_events,
            metrics: std::sync::Arc::new(
                host.metrics
                    .into_iter()
                    .map(MetricConfig::from_plugin)
                    .collect(),
            ),
        }
    }
}

impl MetricConfig {
    fn from_plugin(metric: plugin::MetricConfig) -> Self {
        Self {
            name: metric.name,
            kind: metric.kind.into(),
            description: metric.description,
            units: metric.units,
            min: metric.min,
            max: metric.max,
            default_value: metric.default_value,
            update_interval: metric.update_interval,
            start_time: metric.start_time,
            duration: metric.duration,
            scenario: metric.scenario,
            scenario_params: metric.scenario_params,
            listen_events: metric.listen_events,
            labels: label_map(metric.labels),
            buckets: metric.buckets,
        }
    }
}
