//! Configs as TOML files.
//!
//! ```toml
//! description = "..."            # shown by --list-configs
//! default_job_name = "web"       # optional
//! push_interval = "15s"          # optional
//!
//! [[remote_write]]               # optional, repeatable (see `model::Endpoint`)
//! url = "http://localhost:9090/api/v1/write"
//!
//! [args]                         # --config-args and their defaults, used as ${name}
//! hosts_count = 3
//!
//! [[hosts]]
//! name = "worker-{i:02}"         # {i} is the 1-based index within `count`
//! count = ${hosts_count}
//! ttl = "15m"
//! respawn = true                 # back with a new identity at each TTL (churn)
//! interval = "15s"
//! labels = { role = "worker" }
//!
//! [[hosts.metrics]]
//! name = "cpu_usage_percent"
//! value_range = [0, 100]
//! scenario = "sine_wave"
//! scenario_data = { period = 300 }
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::duration::Seconds;
use super::error::ConfigError;
use crate::model::{
    Endpoint, FaultPolicy, HostConfig, LimitOverrides, MetricConfig, MetricKind, MixerConfig,
};

/// The shipped TOML configs, embedded so they work from any directory.
pub const EMBEDDED_TOML: [(&str, &str); 2] = [
    (
        "hosts_load_with_peaks.toml",
        include_str!("../../../configs/hosts_load_with_peaks.toml"),
    ),
    (
        "single_host_load.toml",
        include_str!("../../../configs/single_host_load.toml"),
    ),
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    /// Read by [`read_head`]; declared so that it is a known field.
    #[serde(default)]
    #[allow(dead_code)]
    description: String,
    /// Read by [`read_head`]; declared so that it is a known field.
    #[serde(default)]
    #[allow(dead_code)]
    aliases: Vec<String>,
    default_job_name: Option<String>,
    push_interval: Option<Seconds>,
    #[serde(default)]
    #[allow(dead_code)]
    args: BTreeMap<String, toml::Value>,
    #[serde(default)]
    hosts: Vec<FileHost>,
    fault_policy: Option<FaultPolicy>,
    #[serde(default)]
    plugin_limits: BTreeMap<String, FileLimits>,
    #[serde(default)]
    plugins: Vec<String>,
    #[serde(default)]
    remote_write: Vec<Endpoint>,
}

/// Sandbox limits of one plugin, e.g. `[plugin_limits."custom.wasm"]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileLimits {
    call_deadline: Option<Seconds>,
    memory: Option<FileBytes>,
    events_per_step: Option<usize>,
    log_bytes_per_step: Option<FileBytes>,
    cpu_share: Option<f64>,
}

/// A size: a number of bytes or text like "64MiB".
#[derive(Debug, Clone, Copy)]
struct FileBytes(u64);

impl<'de> Deserialize<'de> for FileBytes {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(u64),
            Text(String),
        }
        match Raw::deserialize(deserializer).map_err(|_| {
            serde::de::Error::custom("expected a number of bytes or a size like \"64MiB\"")
        })? {
            Raw::Number(bytes) => Ok(FileBytes(bytes)),
            Raw::Text(text) => parse_bytes(&text)
                .map(FileBytes)
                .map_err(serde::de::Error::custom),
        }
    }
}

/// Bytes in text like "65536", "64KiB", "16MiB", "1GB".
pub fn parse_bytes(text: &str) -> Result<u64, String> {
    text.trim()
        .parse::<bytesize::ByteSize>()
        .map(|size| size.as_u64())
        .map_err(|err| {
            format!("'{text}' is not a size ({err}); expected bytes or text like 64KiB, 16MiB")
        })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileHost {
    name: String,
    count: Option<u32>,
    #[serde(default)]
    host: String,
    #[serde(default)]
    address: String,
    ttl: Option<Seconds>,
    #[serde(default)]
    respawn: bool,
    interval: Option<Seconds>,
    job_name: Option<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    listen_events: Vec<String>,
    #[serde(default)]
    metrics: Vec<FileMetric>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileMetric {
    name: String,
    #[serde(default, alias = "type", alias = "metric_type")]
    kind: Option<MetricKind>,
    #[serde(default)]
    description: String,
    #[serde(default)]
    units: String,
    value_range: Option<(f64, f64)>,
    default_value: Option<f64>,
    update_interval: Option<Seconds>,
    start_time: Option<Seconds>,
    duration: Option<Seconds>,
    scenario: Option<String>,
    #[serde(default)]
    scenario_data: toml::Table,
    #[serde(default)]
    listen_events: Vec<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    buckets: Vec<f64>,
}

/// What can be read of a templated config before its `${name}` placeholders are
/// substituted: its description and its `[args]` with their defaults.
#[derive(Debug, Default, Deserialize)]
struct Head {
    #[serde(default)]
    description: String,
    /// Other names `--config` takes for this config (e.g. `peaks`).
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    args: toml::Table,
}

/// Parses the head of `text`, each placeholder read as `0` (valid wherever a
/// value may stand, and inside strings).
fn read_head(file: &str, text: &str) -> Result<Head, ConfigError> {
    let neutral = replace_placeholders(file, text, |_| Ok("0".into()))?;
    toml::from_str(&neutral).map_err(|err| ConfigError::Toml {
        file: file.into(),
        message: err.to_string().trim_end().into(),
    })
}

/// The `description` and `aliases` of a TOML config, for listings and name
/// resolution (empty when unreadable).
pub fn description_and_aliases(text: &str) -> (String, Vec<String>) {
    read_head("", text)
        .map(|head| (head.description, head.aliases))
        .unwrap_or_default()
}

/// Loads a TOML config file with `--config-args`.
pub fn load_file(path: &Path, args: &[(String, String)]) -> Result<MixerConfig, ConfigError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        file: file.clone(),
        source,
    })?;
    load_text(&file, &text, args)
}

/// Loads TOML text named `file` (for messages) with `--config-args`.
pub fn load_text(
    file: &str,
    text: &str,
    args: &[(String, String)],
) -> Result<MixerConfig, ConfigError> {
    let substituted = substitute_args(file, text, args)?;
    let name = file
        .trim_end_matches(".toml")
        .rsplit('/')
        .next()
        .unwrap_or(file)
        .to_string();
    parse_toml(file, &name, &substituted)
}

/// Parses TOML (after substitution) into the model.
pub fn parse_toml(file: &str, name: &str, text: &str) -> Result<MixerConfig, ConfigError> {
    let parsed: FileConfig = toml::from_str(text).map_err(|err| ConfigError::Toml {
        file: file.into(),
        message: err.to_string().trim_end().into(),
    })?;
    let mut hosts = Vec::new();
    for host in parsed.hosts {
        expand_host(file, host, &mut hosts)?;
    }
    let folder = Path::new(file)
        .parent()
        .filter(|folder| !folder.as_os_str().is_empty())
        .map(Path::to_path_buf);
    Ok(MixerConfig {
        name: name.into(),
        plugins: parsed.plugins,
        remote_write: parsed
            .remote_write
            .into_iter()
            .map(|endpoint| match &folder {
                Some(folder) => endpoint.relative_to(folder),
                None => endpoint,
            })
            .collect(),
        folder,
        default_job_name: parsed.default_job_name,
        push_interval: parsed.push_interval.map(|Seconds(seconds)| seconds),
        hosts,
        fault_policy: parsed.fault_policy,
        plugin_limits: parsed
            .plugin_limits
            .into_iter()
            .map(|(plugin, limits)| {
                let overrides = LimitOverrides {
                    call_deadline: limits.call_deadline.map(|Seconds(seconds)| seconds),
                    memory_bytes: limits.memory.map(|FileBytes(bytes)| bytes),
                    events_per_step: limits.events_per_step,
                    log_bytes_per_step: limits.log_bytes_per_step.map(|FileBytes(bytes)| bytes),
                    cpu_share: limits.cpu_share,
                };
                (plugin, overrides)
            })
            .collect(),
    })
}

/// Replaces `${name}` with `--config-args` values or the `[args]` defaults.
fn substitute_args(
    file: &str,
    text: &str,
    args: &[(String, String)],
) -> Result<String, ConfigError> {
    let args_error = |problem: String| ConfigError::Args {
        config: file.into(),
        problem,
    };
    let declared = declared_args(file, text)?;
    let mut values: BTreeMap<String, String> = declared.clone();
    for (key, value) in args {
        if !declared.contains_key(key) {
            let known: Vec<&str> = declared.keys().map(String::as_str).collect();
            return Err(args_error(format!(
                "unknown argument '{key}'; this config takes: {}",
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            )));
        }
        if value.is_empty()
            || !value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.:- ".contains(c))
        {
            return Err(args_error(format!(
                "value of '{key}' must be a number, a duration or a plain word, got '{value}'"
            )));
        }
        values.insert(key.clone(), value.clone());
    }
    replace_placeholders(file, text, |key| {
        values
            .get(key)
            .cloned()
            .ok_or_else(|| args_error(format!("${{{key}}} is used but not declared in [args]")))
    })
}

/// Replaces every `${key}` in `text` with `value(key)`.
fn replace_placeholders(
    file: &str,
    text: &str,
    mut value: impl FnMut(&str) -> Result<String, ConfigError>,
) -> Result<String, ConfigError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            return Err(ConfigError::Args {
                config: file.into(),
                problem: "an unterminated ${ in the file".into(),
            });
        };
        out.push_str(&value(after[..end].trim())?);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The `[args]` table's defaults as text.
fn declared_args(file: &str, text: &str) -> Result<BTreeMap<String, String>, ConfigError> {
    Ok(read_head(file, text)?
        .args
        .into_iter()
        .map(|(key, value)| {
            let text = match value {
                toml::Value::String(text) => text,
                other => other.to_string(),
            };
            (key, text)
        })
        .collect())
}

/// Widest padding a name pattern may ask for.
const MAX_PATTERN_WIDTH: usize = 32;
/// Most hosts one group may expand to.
const MAX_GROUP_COUNT: u32 = 1_000_000;

/// Replaces `{i}` and `{i:0N}` / `{i:N}` with `index`.
fn expand_pattern(pattern: &str, index: u32) -> String {
    let mut out = String::with_capacity(pattern.len());
    let mut rest = pattern;
    while let Some(start) = rest.find("{i") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find('}') {
            Some(end) if after[..end].is_empty() || after[..end].starts_with(':') => {
                let spec = after[..end].trim_start_matches(':');
                let width: usize = spec
                    .trim_start_matches('0')
                    .parse::<usize>()
                    .unwrap_or(0)
                    .min(MAX_PATTERN_WIDTH);
                if spec.starts_with('0') {
                    out.push_str(&format!("{index:0width$}"));
                } else {
                    out.push_str(&format!("{index:width$}"));
                }
                rest = &after[end + 1..];
            }
            _ => {
                out.push_str("{i");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn expand_host(file: &str, host: FileHost, hosts: &mut Vec<HostConfig>) -> Result<(), ConfigError> {
    let field_error = |location: String, problem: &str| ConfigError::Field {
        file: file.into(),
        location,
        problem: problem.into(),
    };
    let count = host.count.unwrap_or(1);
    if host.count.is_some() && !(1..=MAX_GROUP_COUNT).contains(&count) {
        return Err(field_error(
            format!("host '{}', field 'count'", host.name),
            &format!("must be from 1 to {MAX_GROUP_COUNT}, got {count}"),
        ));
    }
    if count > 1 && !host.name.contains("{i") {
        return Err(field_error(
            format!("host '{}', field 'name'", host.name),
            "must contain {i} (or {i:02}) when count is more than 1, so each host gets its own name",
        ));
    }
    let defaults = HostConfig::new("");
    let metrics: std::sync::Arc<Vec<MetricConfig>> =
        std::sync::Arc::new(host.metrics.iter().map(metric_from_file).collect());
    for index in 1..=count {
        let expand = |text: &str| {
            if host.count.is_some() {
                expand_pattern(text, index)
            } else {
                text.to_string()
            }
        };
        hosts.push(HostConfig {
            name: expand(&host.name),
            host: expand(&host.host),
            address: expand(&host.address),
            ttl: host.ttl.map_or(defaults.ttl, |Seconds(seconds)| seconds),
            respawn: host.respawn,
            interval: host
                .interval
                .map_or(defaults.interval, |Seconds(seconds)| seconds),
            job_name: host.job_name.clone(),
            labels: host
                .labels
                .iter()
                .map(|(key, value)| (key.clone(), expand(value)))
                .collect(),
            listen_events: host.listen_events.clone(),
            metrics: metrics.clone(),
        });
    }
    Ok(())
}

fn metric_from_file(metric: &FileMetric) -> MetricConfig {
    let defaults = MetricConfig::new(metric.name.clone());
    let (min, max) = metric.value_range.unwrap_or((defaults.min, defaults.max));
    let scenario_params = if metric.scenario_data.is_empty() {
        String::new()
    } else {
        serde_json::to_string(&metric.scenario_data).unwrap_or_default()
    };
    MetricConfig {
        kind: metric.kind.unwrap_or(defaults.kind),
        description: metric.description.clone(),
        units: metric.units.clone(),
        min,
        max,
        default_value: metric.default_value.unwrap_or(defaults.default_value),
        update_interval: metric
            .update_interval
            .map_or(defaults.update_interval, |Seconds(seconds)| seconds),
        start_time: metric
            .start_time
            .map_or(defaults.start_time, |Seconds(seconds)| seconds),
        duration: metric
            .duration
            .map(|Seconds(seconds)| seconds)
            .filter(|seconds| seconds.is_finite()),
        scenario: metric.scenario.clone().unwrap_or(defaults.scenario.clone()),
        scenario_params,
        listen_events: metric.listen_events.clone(),
        labels: metric.labels.clone(),
        buckets: metric.buckets.clone(),
        name: defaults.name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_expand_with_padding() {
        assert_eq!(expand_pattern("worker-{i:02}", 5), "worker-05");
        assert_eq!(expand_pattern("w{i}", 12), "w12");
        assert_eq!(expand_pattern("w{i:3}", 7), "w  7");
        assert_eq!(expand_pattern("{id}", 1), "{id}");
    }

    #[test]
    fn args_substitute_and_unknown_args_are_refused() {
        let text = "[args]\nn = 2\nttl = \"15m\"\n\n[[hosts]]\nname = \"w-{i}\"\ncount = ${n}\nttl = \"${ttl}\"\n";
        let config = load_text("t.toml", text, &[]).unwrap();
        assert_eq!(config.hosts.len(), 2);
        assert_eq!(config.hosts[1].ttl, 900.0);
        let config = load_text(
            "t.toml",
            text,
            &[("n".into(), "4".into()), ("ttl".into(), "20".into())],
        )
        .unwrap();
        assert_eq!((config.hosts.len(), config.hosts[0].ttl), (4, 20.0));
        let err = load_text("t.toml", text, &[("hosts".into(), "4".into())]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "t.toml: --config-args: unknown argument 'hosts'; this config takes: n, ttl"
        );
        let err = load_text("t.toml", text, &[("n".into(), "4\"\nx=1".into())]).unwrap_err();
        assert!(
            err.to_string()
                .contains("must be a number, a duration or a plain word")
        );
    }

    #[test]
    fn toml_errors_name_line_and_column() {
        let err = parse_toml(
            "bad.toml",
            "bad",
            "[[hosts]]\nname = \"a\"\nttl = \"soon\"\n",
        )
        .unwrap_err();
        let message = err.to_string();
        assert!(
            message.starts_with("bad.toml: TOML parse error at line 3, column 7"),
            "{message}"
        );
        assert!(message.contains("'soon' is not a duration"), "{message}");
        let err = parse_toml("bad.toml", "bad", "[[hosts]]\nname = \"a\"\nttll = 3\n").unwrap_err();
        assert!(
            err.to_string().contains("line 3, column 1")
                && err.to_string().contains("unknown field `ttll`"),
            "{err}"
        );
    }
}
