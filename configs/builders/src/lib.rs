//! Ready-made configs as config builders, the original's config classes:
//! `hosts_load_with_peaks` (a balancer whose toggle starts load peaks that the
//! workers follow) and `single_host_load` (one host for development). Their TOML
//! twins in `configs/` describe the same emulation.

use promemu_guest::config_pack::exports::promemu::plugin::config_builder::{
    BuilderInfo, Guest, MixerConfig,
};
use promemu_guest::config_pack::promemu::plugin::types::{
    HostConfig, MetricConfig, MetricKind, ParamInfo,
};
use promemu_guest::{ParamSpec, Params, param_infos};
use serde_json::json;

struct Builders;

struct Builder {
    name: &'static str,
    description: &'static str,
    args: &'static [ParamSpec],
    build: fn(&Params) -> Result<MixerConfig, String>,
}

/// Arguments every builder here takes.
const UPDATE_INTERVAL: ParamSpec = ParamSpec {
    name: "update_interval",
    description: "seconds between metric updates",
    default: "\"5s\"",
};
const REPORT_INTERVAL: ParamSpec = ParamSpec {
    name: "report_interval",
    description: "seconds between host reports",
    default: "\"15s\"",
};

const BUILDERS: &[Builder] = &[
    Builder {
        name: "hosts_load_with_peaks",
        description: "1 balancer + hosts_count workers: the balancer's toggle emits load_peak_start/load_peak_end and the workers' CPU, memory and disk follow (default 10 hosts, 15 min)",
        args: &[
            ParamSpec {
                name: "hosts_count",
                description: "number of workers",
                default: "9",
            },
            ParamSpec {
                name: "hosts_ttl",
                description: "lifetime of every host",
                default: "\"15m\"",
            },
            UPDATE_INTERVAL,
            REPORT_INTERVAL,
            ParamSpec {
                name: "peak_start",
                description: "seconds before the first peak",
                default: "\"60s\"",
            },
            ParamSpec {
                name: "peak_duration",
                description: "length of a peak",
                default: "\"2m\"",
            },
            ParamSpec {
                name: "peak_interval",
                description: "quiet time between peaks",
                default: "\"3m\"",
            },
        ],
        build: hosts_load_with_peaks,
    },
    Builder {
        name: "single_host_load",
        description: "1 host with CPU, memory and IO utilisation for development and testing (default 10 min)",
        args: &[
            ParamSpec {
                name: "host_ttl",
                description: "lifetime of the host",
                default: "\"10m\"",
            },
            UPDATE_INTERVAL,
            REPORT_INTERVAL,
        ],
        build: single_host_load,
    },
];

fn metric(
    name: &str,
    description: &str,
    range: (f64, f64),
    default: f64,
    every: f64,
    scenario: &str,
    params: serde_json::Value,
) -> MetricConfig {
    MetricConfig {
        name: name.into(),
        kind: MetricKind::Gauge,
        description: description.into(),
        units: String::new(),
        min: range.0,
        max: range.1,
        default_value: default,
        update_interval: every,
        start_time: 0.0,
        duration: None,
        scenario: scenario.into(),
        scenario_params: params.to_string(),
        listen_events: Vec::new(),
        labels: Vec::new(),
        buckets: Vec::new(),
    }
}

fn listening(mut metric: MetricConfig, events: &[&str]) -> MetricConfig {
    metric.listen_events = events.iter().map(|event| (*event).into()).collect();
    metric
}

fn of_kind(mut metric: MetricConfig, kind: MetricKind, buckets: &[f64]) -> MetricConfig {
    metric.kind = kind;
    metric.buckets = buckets.to_vec();
    metric
}

fn host(
    name: String,
    host: &str,
    ttl: f64,
    interval: f64,
    labels: &[(&str, &str)],
    metrics: Vec<MetricConfig>,
) -> HostConfig {
    HostConfig {
        name,
        host: host.into(),
        address: String::new(),
        ttl,
        interval,
        job_name: String::new(),
        labels: labels
            .iter()
            .map(|(key, value)| ((*key).into(), (*value).into()))
            .collect(),
        listen_events: Vec::new(),
        metrics,
    }
}

const PEAK_EVENTS: [&str; 2] = ["load_peak_start", "load_peak_end"];

fn hosts_load_with_peaks(args: &Params) -> Result<MixerConfig, String> {
    let workers = args.count("hosts_count", 1)?;
    let ttl = args.seconds("hosts_ttl")?;
    let every = args.seconds("update_interval")?;
    let report = args.seconds("report_interval")?;
    let toggle = json!({
        "start_time": args.seconds("peak_start")?,
        "duration": args.seconds("peak_duration")?,
        "interval": args.seconds("peak_interval")?,
        "on_event": "load_peak_start",
        "off_event": "load_peak_end",
    });
    let mut hosts = vec![host(
        "balancer-1".into(),
        "stress.balancer.node01.test.stage",
        ttl,
        report,
        &[("role", "balancer"), ("environment", "stage")],
        vec![metric(
            "load_peak_active",
            "1 while a load peak runs",
            (0.0, 1.0),
            0.0,
            every,
            "feature_toggle",
            toggle,
        )],
    )];
    for index in 1..=workers {
        let name = format!("worker-{index:02}");
        let metrics = vec![
            listening(
                metric(
                    "cpu_usage_percent",
                    "CPU usage percentage",
                    (0.0, 100.0),
                    15.0,
                    every,
                    "load_peak_cpu",
                    json!({"noise": 3.0}),
                ),
                &PEAK_EVENTS,
            ),
            listening(
                metric(
                    "memory_usage_percent",
                    "Memory usage percentage",
                    (0.0, 100.0),
                    40.0,
                    every,
                    "load_peak_cpu",
                    json!({"peak_value": 75.0, "noise": 1.0, "smoothing": 0.2}),
                ),
                &PEAK_EVENTS,
            ),
            listening(
                metric(
                    "disk_io_ops_per_second",
                    "Disk IO operations per second",
                    (0.0, 2000.0),
                    100.0,
                    every,
                    "load_peak_cpu",
                    json!({"peak_value": 800.0, "noise": 20.0, "smoothing": 0.4}),
                ),
                &PEAK_EVENTS,
            ),
            of_kind(
                metric(
                    "http_requests_total",
                    "Total HTTP requests",
                    (0.0, 100.0),
                    5.0,
                    every,
                    "random_in_range",
                    json!({"value_range": [5.0, 20.0]}),
                ),
                MetricKind::Counter,
                &[],
            ),
            of_kind(
                metric(
                    "http_response_time_seconds",
                    "HTTP response time distribution",
                    (0.001, 2.0),
                    0.05,
                    every,
                    "random_in_range",
                    json!({"value_range": [0.01, 0.4]}),
                ),
                MetricKind::Histogram,
                &[0.05, 0.1, 0.2, 0.3, 0.5, 1.0],
            ),
        ];
        hosts.push(host(
            name.clone(),
            &format!("stress.{name}.test.stage"),
            ttl,
            report,
            &[("role", "worker"), ("environment", "stage")],
            metrics,
        ));
    }
    Ok(MixerConfig {
        default_job_name: String::new(),
        push_interval: None,
        hosts,
    })
}

fn single_host_load(args: &Params) -> Result<MixerConfig, String> {
    let ttl = args.seconds("host_ttl")?;
    let every = args.seconds("update_interval")?;
    let report = args.seconds("report_interval")?;
    let metrics = vec![
        metric(
            "cpu_usage_percent",
            "CPU usage percentage",
            (0.0, 100.0),
            40.0,
            every,
            "sine_wave",
            json!({"period": 300.0, "amplitude": 30.0, "offset": 40.0}),
        ),
        metric(
            "memory_usage_percent",
            "Memory usage percentage",
            (0.0, 100.0),
            50.0,
            every,
            "random_walk",
            json!({"max_step": 2.0}),
        ),
        metric(
            "io_utilization_percent",
            "IO utilisation percentage",
            (0.0, 100.0),
            20.0,
            every,
            "random_in_range",
            json!({"value_range": [5.0, 35.0]}),
        ),
        metric(
            "uptime_seconds",
            "Seconds since the host started",
            (0.0, 1e9),
            0.0,
            every,
            "time_duration",
            json!({}),
        ),
    ];
    let hosts = vec![host(
        "single-host".into(),
        "stress.single-host.test.stage",
        ttl,
        report,
        &[("environment", "dev")],
        metrics,
    )];
    Ok(MixerConfig {
        default_job_name: String::new(),
        push_interval: None,
        hosts,
    })
}

impl Guest for Builders {
    fn list_builders() -> Vec<BuilderInfo> {
        BUILDERS
            .iter()
            .map(|builder| BuilderInfo {
                name: builder.name.into(),
                description: builder.description.into(),
                args: param_infos(builder.args, |name, description, default_value| ParamInfo {
                    name,
                    description,
                    default_value,
                }),
            })
            .collect()
    }

    fn build(name: String, args: Vec<(String, String)>) -> Result<MixerConfig, String> {
        let builder = BUILDERS
            .iter()
            .find(|builder| builder.name == name)
            .ok_or_else(|| {
                let known: Vec<&str> = BUILDERS.iter().map(|builder| builder.name).collect();
                format!(
                    "unknown builder '{name}'; this plugin offers: {}",
                    known.join(", ")
                )
            })?;
        let params = Params::from_args(builder.name, builder.args, &args)?;
        (builder.build)(&params)
    }
}

promemu_guest::config_pack::export_builders!(Builders with_types_in promemu_guest::config_pack);
