//! Shared helpers: a runtime without a disk cache, series creation and stepping
//! in virtual time.

use std::path::PathBuf;

use promemu::configs::parse_toml;
use promemu::model::{MixerConfig, validate};
use promemu::sim::VirtualTime;

use promemu::plugin::{
    Event, Limits, LinkedValue, MetricInfo, MetricKind, Plugin, PluginInstance, PluginRuntime,
    ScenarioDirectory, SeriesSpec, SlotId, StepInput, StepOutput,
};

/// Path of a committed test fixture component.
pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures")
        .join(name)
}

/// A validated config from TOML text, hosts' identities filled from seed 1.
pub fn config(toml: &str) -> MixerConfig {
    let mut config = parse_toml("test.toml", "test", toml).expect("valid TOML");
    for host in &mut config.hosts {
        host.fill_identity(1);
    }
    let problems = validate(&config);
    assert!(problems.is_empty(), "{problems:?}");
    config
}

/// A virtual instant `seconds` after the start.
pub fn at(seconds: f64) -> VirtualTime {
    VirtualTime::from_secs(seconds).unwrap()
}

/// A runtime with default limits, shared by the tests so components compile once.
pub fn runtime() -> PluginRuntime {
    static SHARED: std::sync::OnceLock<PluginRuntime> = std::sync::OnceLock::new();
    SHARED
        .get_or_init(|| runtime_with(Limits::default()))
        .clone()
}

pub fn runtime_with(limits: Limits) -> PluginRuntime {
    PluginRuntime::with_cache_dir(limits, None).expect("runtime")
}

/// The hostile fixture (scenarios that misbehave on purpose) under `limits`.
pub fn hostile_with(limits: Limits) -> Plugin {
    runtime_with(limits)
        .load_file(&fixture("hostile.wasm"))
        .expect("the hostile fixture loads")
}

/// The hostile fixture under default limits (compiled once).
pub fn hostile() -> Plugin {
    static SHARED: std::sync::OnceLock<Plugin> = std::sync::OnceLock::new();
    SHARED
        .get_or_init(|| {
            runtime()
                .load_file(&fixture("hostile.wasm"))
                .expect("the hostile fixture loads")
        })
        .clone()
}

/// An instance of `plugin` whose scenarios may nest those of `offered` (in load
/// order, as a run's directory has them).
pub fn nesting_instance(plugin: &Plugin, offered: &[Plugin], seed: u64) -> PluginInstance {
    let mut directory = ScenarioDirectory::default();
    for other in offered {
        let names = other.instantiate(0).unwrap().list_scenarios().unwrap();
        directory.add(other, names.into_iter().map(|info| info.name).collect());
    }
    let mut instance = plugin.instantiate(seed).expect("instance");
    instance.set_directory(std::sync::Arc::new(directory));
    instance
}

/// A step at `time` (elapsed = time) from value 0, with no event or links.
pub fn input(time: f64) -> StepInput {
    StepInput {
        time,
        elapsed: time,
        value: 0.0,
        event: None,
        links: Vec::new(),
    }
}

pub fn builtin() -> Plugin {
    static SHARED: std::sync::OnceLock<Plugin> = std::sync::OnceLock::new();
    SHARED
        .get_or_init(|| runtime().builtin().expect("builtin pack loads"))
        .clone()
}

/// A gauge from `min` to `max` with `default`.
pub fn gauge(min: f64, max: f64, default: f64) -> MetricInfo {
    MetricInfo {
        host: "host-1".into(),
        name: "metric".into(),
        kind: MetricKind::Gauge,
        min,
        max,
        default_value: default,
        update_interval: 1.0,
    }
}

pub fn spec(scenario: &str, params: &str, info: MetricInfo) -> SeriesSpec {
    SeriesSpec {
        scenario: scenario.into(),
        params: params.into(),
        info,
        stream_key: format!("job/host-1/{scenario}"),
    }
}

pub fn event(name: &str) -> Event {
    Event {
        name: name.into(),
        source: "test".into(),
        payload: String::new(),
    }
}

/// One series and its current value, stepped at chosen virtual times.
pub struct Series {
    pub instance: PluginInstance,
    pub id: SlotId,
    pub value: f64,
}

impl Series {
    pub fn new(plugin: &Plugin, seed: u64, scenario: &str, params: &str, info: MetricInfo) -> Self {
        let mut instance = plugin.instantiate(seed).expect("instance");
        let value = info.default_value;
        let id = instance
            .create_series(spec(scenario, params, info))
            .expect("series is created");
        Self {
            instance,
            id,
            value,
        }
    }

    pub fn builtin(scenario: &str, params: &str, info: MetricInfo) -> Self {
        Self::new(&builtin(), 7, scenario, params, info)
    }

    /// Steps at `time` (elapsed = time) with an optional event and links.
    pub fn step_full(
        &mut self,
        time: f64,
        event: Option<&Event>,
        links: &[LinkedValue],
    ) -> StepOutput {
        let input = StepInput {
            time,
            elapsed: time,
            value: self.value,
            event: event.cloned(),
            links: links.to_vec(),
        };
        let output = self.instance.step(self.id, input).expect("step succeeds");
        if let Some(value) = output.value {
            self.value = value;
        }
        output
    }

    pub fn step(&mut self, time: f64) -> f64 {
        self.step_full(time, None, &[]);
        self.value
    }

    pub fn step_event(&mut self, time: f64, name: &str) -> f64 {
        self.step_full(time, Some(&event(name)), &[]);
        self.value
    }

    /// Values at times 0, 1, 2, ... `count - 1`.
    pub fn run(&mut self, count: usize) -> Vec<f64> {
        (0..count).map(|second| self.step(second as f64)).collect()
    }
}
