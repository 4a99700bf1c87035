//! Checks a [`MixerConfig`] before anything runs, naming the host, metric and field
//! of every problem.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use super::{
    HostConfig, LONGEST_SECONDS, MetricConfig, MixerConfig, is_valid_label_name,
    is_valid_metric_name,
};

/// Labels the emulator sets on every series of a host (its job, and the host's
/// identity: `name`, `host`, `address`); configs may not set them.
pub const RESERVED_LABELS: [&str; 5] = ["job", "instance", "name", "host", "address"];

/// A problem in the model, with where it is.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{location}: {problem}")]
pub struct ModelError {
    /// e.g. "host 'worker-03', metric 'cpu', field 'update_interval'"
    pub location: String,
    pub problem: String,
}

fn at(location: impl Into<String>, problem: impl Into<String>) -> ModelError {
    ModelError {
        location: location.into(),
        problem: problem.into(),
    }
}

/// Every problem found, in config order (empty when the model is valid).
pub fn validate(config: &MixerConfig) -> Vec<ModelError> {
    let mut errors = Vec::new();
    if config.hosts.is_empty() {
        errors.push(at(format!("config '{}'", config.name), "defines no hosts"));
    }
    if let Some(interval) = config.push_interval {
        positive(
            &mut errors,
            format!("config '{}', field 'push_interval'", config.name),
            interval,
        );
    }
    for (plugin, limits) in &config.plugin_limits {
        let here = format!("plugin_limits.\"{plugin}\"");
        if let Some(deadline) = limits.call_deadline {
            positive(
                &mut errors,
                format!("{here}, field 'call_deadline'"),
                deadline,
            );
        }
        if let Some(share) = limits.cpu_share
            && !crate::model::is_valid_cpu_share(share)
        {
            errors.push(at(
                format!("{here}, field 'cpu_share'"),
                format!(
                    "must be a share of one core greater than 0 and at most {}, got {share}",
                    crate::model::MAX_CPU_SHARE
                ),
            ));
        }
        if limits.memory_bytes.is_some_and(|bytes| bytes < 1 << 20) {
            errors.push(at(
                format!("{here}, field 'memory'"),
                "must be at least 1 MiB",
            ));
        }
    }
    let mut host_names = HashSet::new();
    // Hosts of a group share their metrics (one `Arc`): those are checked with
    // the group's first host, so a bad metric is named once, not once per host.
    let mut checked_metrics = HashSet::new();
    for host in &config.hosts {
        if !host_names.insert(host.name.as_str()) {
            errors.push(at(
                format!("host '{}'", host.name),
                "is defined twice; host names must be unique",
            ));
        }
        let first_of_group = checked_metrics.insert(Arc::as_ptr(&host.metrics));
        validate_host(&mut errors, host, first_of_group);
    }
    check_series_collisions(&mut errors, config);
    errors
}

fn positive(errors: &mut Vec<ModelError>, location: String, value: f64) {
    if !(value.is_finite() && value > 0.0) {
        errors.push(at(
            location,
            format!("must be a number of seconds greater than 0, got {value}"),
        ));
    } else if value > LONGEST_SECONDS {
        errors.push(at(location, too_long(value)));
    }
}

fn too_long(value: f64) -> String {
    format!("must be at most {LONGEST_SECONDS} seconds (100 years), got {value:?}")
}

fn labels(errors: &mut Vec<ModelError>, location: &str, labels: &BTreeMap<String, String>) {
    for name in labels.keys() {
        if !is_valid_label_name(name) {
            errors.push(at(
                format!("{location}, label '{name}'"),
                "is not a valid Prometheus label name (expected [a-zA-Z_][a-zA-Z0-9_]*, not starting with __)",
            ));
        } else if RESERVED_LABELS.contains(&name.as_str()) {
            errors.push(at(
                format!("{location}, label '{name}'"),
                "is set by the emulator (the job comes from job_name, name, host and address from the host's identity)",
            ));
        }
    }
}

/// Checks `host`, and its metrics when `with_metrics`.
fn validate_host(errors: &mut Vec<ModelError>, host: &HostConfig, with_metrics: bool) {
    let here = format!("host '{}'", host.name);
    if host.name.trim().is_empty() {
        errors.push(at("a host", "has an empty name"));
    }
    if host.ttl.is_nan() || host.ttl <= 0.0 {
        errors.push(at(
            format!("{here}, field 'ttl'"),
            format!("must be greater than 0 seconds, got {}", host.ttl),
        ));
    }
    if host.respawn && !host.ttl.is_finite() {
        errors.push(at(
            format!("{here}, field 'respawn'"),
            "needs a finite ttl: a host respawns when it reaches its TTL",
        ));
    }
    positive(errors, format!("{here}, field 'interval'"), host.interval);
    if host
        .job_name
        .as_deref()
        .is_some_and(|job| job.trim().is_empty())
    {
        errors.push(at(
            format!("{here}, field 'job_name'"),
            "is empty; leave it out for the default job",
        ));
    }
    labels(errors, &here, &host.labels);
    if !with_metrics {
        return;
    }
    let mut metric_names = HashSet::new();
    for metric in host.metrics.iter() {
        if !metric_names.insert(metric.name.as_str()) {
            errors.push(at(
                format!("{here}, metric '{}'", metric.name),
                "is defined twice in this host; give the series different names or labels in separate hosts",
            ));
        }
        validate_metric(errors, &here, metric);
    }
}

fn validate_metric(errors: &mut Vec<ModelError>, host: &str, metric: &MetricConfig) {
    let here = format!("{host}, metric '{}'", metric.name);
    let field = |name: &str| format!("{here}, field '{name}'");
    if !is_valid_metric_name(&metric.name) {
        errors.push(at(
            here.clone(),
            "is not a valid Prometheus metric name (expected [a-zA-Z_:][a-zA-Z0-9_:]*, not starting with __)",
        ));
    }
    positive(errors, field("update_interval"), metric.update_interval);
    if !(metric.start_time.is_finite() && metric.start_time >= 0.0) {
        errors.push(at(
            field("start_time"),
            format!("must be 0 or more seconds, got {}", metric.start_time),
        ));
    } else if metric.start_time > LONGEST_SECONDS {
        errors.push(at(field("start_time"), too_long(metric.start_time)));
    }
    if let Some(duration) = metric.duration {
        positive(errors, field("duration"), duration);
    }
    if !(metric.min.is_finite() && metric.max.is_finite()) {
        errors.push(at(
            field("value_range"),
            format!("must be finite, got [{}, {}]", metric.min, metric.max),
        ));
    } else if metric.min > metric.max {
        errors.push(at(
            field("value_range"),
            format!(
                "must be [min, max] with min <= max, got [{}, {}]",
                metric.min, metric.max
            ),
        ));
    } else if !(metric.min..=metric.max).contains(&metric.default_value) {
        errors.push(at(
            field("default_value"),
            format!(
                "{} is outside value_range [{}, {}]",
                metric.default_value, metric.min, metric.max
            ),
        ));
    }
    if metric.scenario.trim().is_empty() {
        errors.push(at(
            field("scenario"),
            "is empty; name a scenario (see `promemu scenarios`)",
        ));
    }
    if metric.buckets.iter().any(|bound| !bound.is_finite()) {
        errors.push(at(
            field("buckets"),
            "must be finite numbers (the +Inf bucket is added by the emulator)",
        ));
    } else if !metric.buckets.windows(2).all(|pair| pair[0] < pair[1]) {
        errors.push(at(field("buckets"), "must be strictly increasing"));
    }
    labels(errors, &here, &metric.labels);
}

/// Refuse one metric name used with two kinds in a job. (Two series of one job
/// never share all their labels: each carries its host's unique `name`, which
/// configs may not override, and a host's metric names are unique.)
fn check_series_collisions(errors: &mut Vec<ModelError>, config: &MixerConfig) {
    let mut kinds = HashMap::new();
    // A group's hosts (one `Arc` of metrics) in one job add nothing new.
    let mut seen = HashSet::new();
    for host in &config.hosts {
        let job = host.job_name.as_deref();
        if !seen.insert((Arc::as_ptr(&host.metrics), job)) {
            continue;
        }
        for metric in host.metrics.iter() {
            if let Some((other_kind, other_host)) =
                kinds.insert((job, metric.name.as_str()), (metric.kind, &host.name))
                && other_kind != metric.kind
            {
                errors.push(at(
                    format!(
                        "host '{}', metric '{}', field 'kind'",
                        host.name, metric.name
                    ),
                    format!(
                        "is {:?} but host '{other_host}' has it as {other_kind:?} in the same job",
                        metric.kind
                    ),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(name: &str, labels: &[(&str, &str)]) -> HostConfig {
        let mut host = HostConfig::new(name);
        host.labels = labels
            .iter()
            .map(|(key, value)| (key.to_string(), value.to_string()))
            .collect();
        std::sync::Arc::make_mut(&mut host.metrics).push(MetricConfig::new("cpu"));
        host
    }

    fn config(hosts: Vec<HostConfig>) -> MixerConfig {
        MixerConfig {
            plugins: Vec::new(),
            folder: None,
            remote_write: Vec::new(),
            name: "t".into(),
            default_job_name: None,
            push_interval: None,
            hosts,
            fault_policy: None,
            plugin_limits: Default::default(),
        }
    }

    #[test]
    fn identity_labels_and_two_kinds_of_one_name_are_refused() {
        let mut gauge = host("a", &[("role", "same")]);
        std::sync::Arc::make_mut(&mut gauge.metrics)[0].labels =
            BTreeMap::from([("address".to_string(), "10.0.0.1".to_string())]);
        let mut counter = host("b", &[("host", "a.example")]);
        std::sync::Arc::make_mut(&mut counter.metrics)[0].kind = crate::model::MetricKind::Counter;
        let errors: Vec<String> = validate(&config(vec![gauge, counter]))
            .iter()
            .map(ToString::to_string)
            .collect();
        let set_by_emulator = "is set by the emulator (the job comes from job_name, name, host and address from the host's identity)";
        assert_eq!(
            errors,
            [
                format!("host 'a', metric 'cpu', label 'address': {set_by_emulator}"),
                format!("host 'b', label 'host': {set_by_emulator}"),
                "host 'b', metric 'cpu', field 'kind': is Counter but host 'a' has it as Gauge in the same job".to_string(),
            ]
        );
    }

    #[test]
    fn huge_durations_nan_buckets_and_reserved_names_are_refused() {
        let mut bad = host("h", &[]);
        bad.interval = 1e300;
        let metric = &mut std::sync::Arc::make_mut(&mut bad.metrics)[0];
        metric.name = "__name__".into();
        metric.start_time = 2e19;
        metric.buckets = vec![f64::NAN];
        let mut mixer = config(vec![bad]);
        mixer.push_interval = Some(1e300);
        let errors: Vec<String> = validate(&mixer).iter().map(ToString::to_string).collect();
        let too_long = |value: &str| {
            format!("must be at most {LONGEST_SECONDS} seconds (100 years), got {value}")
        };
        assert_eq!(
            errors,
            [
                format!("config 't', field 'push_interval': {}", too_long("1e300")),
                format!("host 'h', field 'interval': {}", too_long("1e300")),
                "host 'h', metric '__name__': is not a valid Prometheus metric name (expected [a-zA-Z_:][a-zA-Z0-9_:]*, not starting with __)".to_string(),
                format!("host 'h', metric '__name__', field 'start_time': {}", too_long("2e19")),
                "host 'h', metric '__name__', field 'buckets': must be finite numbers (the +Inf bucket is added by the emulator)".to_string(),
            ]
        );
    }

    #[test]
    fn bad_names_intervals_and_ranges_are_located() {
        let mut bad = host("h", &[("__reserved", "x"), ("job", "y")]);
        bad.interval = 0.0;
        let metric = &mut std::sync::Arc::make_mut(&mut bad.metrics)[0];
        metric.name = "9lives".into();
        metric.update_interval = -1.0;
        metric.min = 5.0;
        metric.max = 1.0;
        let errors: Vec<String> = validate(&config(vec![bad]))
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            errors,
            [
                "host 'h', field 'interval': must be a number of seconds greater than 0, got 0",
                "host 'h', label '__reserved': is not a valid Prometheus label name (expected [a-zA-Z_][a-zA-Z0-9_]*, not starting with __)",
                "host 'h', label 'job': is set by the emulator (the job comes from job_name, name, host and address from the host's identity)",
                "host 'h', metric '9lives': is not a valid Prometheus metric name (expected [a-zA-Z_:][a-zA-Z0-9_:]*, not starting with __)",
                "host 'h', metric '9lives', field 'update_interval': must be a number of seconds greater than 0, got -1",
                "host 'h', metric '9lives', field 'value_range': must be [min, max] with min <= max, got [5, 1]",
            ]
        );
    }

    #[test]
    fn a_bad_metric_shared_by_a_group_of_hosts_is_named_once() {
        let mut first = host("node-1", &[]);
        std::sync::Arc::make_mut(&mut first.metrics)[0].update_interval = 0.0;
        let mut second = first.clone();
        second.name = "node-2".into();
        let mut own = host("other", &[]);
        std::sync::Arc::make_mut(&mut own.metrics)[0].update_interval = 0.0;
        let errors: Vec<String> = validate(&config(vec![first, second, own]))
            .iter()
            .map(ToString::to_string)
            .collect();
        let problem = "field 'update_interval': must be a number of seconds greater than 0, got 0";
        assert_eq!(
            errors,
            [
                format!("host 'node-1', metric 'cpu', {problem}"),
                format!("host 'other', metric 'cpu', {problem}"),
            ]
        );
    }
}
