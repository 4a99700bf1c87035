//! Cost of one scenario step through Wasm against the same computation natively,
//! plus load and instantiation times. Prints numbers; asserts nothing.
//!
//!     cargo bench -p promemu --bench step_cost

use std::f64::consts::TAU;
use std::hint::black_box;
use std::time::{Duration, Instant};

use promemu::plugin::{Limits, MetricInfo, MetricKind, PluginRuntime, SeriesSpec, StepInput};

const STEPS: u32 = 200_000;

fn per_step(elapsed: Duration, steps: u32) -> f64 {
    elapsed.as_nanos() as f64 / f64::from(steps)
}

fn main() {
    let info = MetricInfo {
        host: "bench".into(),
        name: "cpu".into(),
        kind: MetricKind::Gauge,
        min: 0.0,
        max: 100.0,
        default_value: 50.0,
        update_interval: 1.0,
    };

    let started = Instant::now();
    let runtime = PluginRuntime::with_cache_dir(Limits::default(), None).expect("runtime");
    let pack = runtime.builtin().expect("pack");
    println!(
        "compile built-in pack (no cache):   {:>9.2} ms",
        started.elapsed().as_secs_f64() * 1e3
    );

    let dir = std::env::temp_dir().join(format!("promemu-bench-{}", std::process::id()));
    let cached =
        PluginRuntime::with_cache_dir(Limits::default(), Some(dir.clone())).expect("runtime");
    cached.builtin().expect("warm the cache");
    let started = Instant::now();
    cached.builtin().expect("pack from cache");
    println!(
        "load built-in pack (cached):        {:>9.2} ms",
        started.elapsed().as_secs_f64() * 1e3
    );
    let _ = std::fs::remove_dir_all(dir);

    let started = Instant::now();
    let mut instance = pack.instantiate(1).expect("instance");
    println!(
        "instantiate:                        {:>9.2} us",
        started.elapsed().as_secs_f64() * 1e6
    );

    for (scenario, params) in [
        ("sine_wave", r#"{"period": 60}"#),
        ("random_walk", ""),
        ("do_nothing", ""),
    ] {
        let spec = SeriesSpec {
            scenario: scenario.into(),
            params: params.into(),
            info: info.clone(),
            stream_key: format!("bench/{scenario}"),
        };
        let id = instance.create_series(spec).expect("series");
        let started = Instant::now();
        let mut value = 50.0;
        for step in 0..STEPS {
            let time = f64::from(step);
            let input = StepInput {
                time,
                elapsed: time,
                value,
                event: None,
                links: Vec::new(),
            };
            value = instance
                .step(id, input)
                .expect("step")
                .value
                .unwrap_or(value);
        }
        black_box(value);
        println!(
            "wasm step {scenario:<24} {:>9.1} ns/step",
            per_step(started.elapsed(), STEPS)
        );
    }

    // The smallest round trip: `links` takes no arguments and returns an empty list.
    let spec = SeriesSpec {
        scenario: "do_nothing".into(),
        params: String::new(),
        info: info.clone(),
        stream_key: "bench/links".into(),
    };
    let id = instance.create_series(spec).expect("series");
    let started = Instant::now();
    for _ in 0..STEPS {
        black_box(instance.links(id).expect("links"));
    }
    println!(
        "wasm call links() (empty round trip) {:>9.1} ns/call",
        per_step(started.elapsed(), STEPS)
    );

    let (period, amplitude, offset, phase) = (60.0, 50.0, 50.0, 0.0);
    let started = Instant::now();
    let mut sum = 0.0;
    for step in 0..STEPS {
        let elapsed = black_box(f64::from(step));
        let value: f64 = offset + amplitude * (TAU * elapsed / period + phase).sin();
        sum += value.clamp(0.0, 100.0);
    }
    black_box(sum);
    println!(
        "native sine_wave step:              {:>9.1} ns/step",
        per_step(started.elapsed(), STEPS)
    );
}
