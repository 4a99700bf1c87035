//! Cost of one scenario step through Wasm against the same computation natively,
//! plus load and instantiation times. Prints numbers; asserts nothing.
//!
//!     cargo bench -p promemu --bench step_cost
//!     cargo bench -p promemu --bench step_cost -- PACK.wasm...
//!
//! With packs that offer the example `sawtooth` scenario (`plugins/examples`,
//! in any language), it prints each pack's size, first compile, cached load,
//! and a `sawtooth` step with jitter (one `random` call back into the host)
//! beside the same pack's `links` round trip.

use std::f64::consts::TAU;
use std::hint::black_box;
use std::time::{Duration, Instant};

use promemu::plugin::{
    Limits, MetricInfo, MetricKind, PluginInstance, PluginRuntime, SeriesSpec, SlotId, StepInput,
};

const STEPS: u32 = 200_000;

fn per_step(elapsed: Duration, steps: u32) -> f64 {
    elapsed.as_nanos() as f64 / f64::from(steps)
}

/// Nanoseconds per step of series `id`, over `steps` steps one second apart.
fn time_steps(instance: &mut PluginInstance, id: SlotId, steps: u32) -> f64 {
    let started = Instant::now();
    let mut value = 0.0;
    for step in 0..steps {
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
    per_step(started.elapsed(), steps)
}

fn main() {
    let packs: Vec<String> = std::env::args()
        .skip(1)
        .filter(|arg| arg.ends_with(".wasm"))
        .collect();
    if !packs.is_empty() {
        for pack in &packs {
            sawtooth_pack(pack);
        }
        return;
    }
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
        println!(
            "wasm step {scenario:<24} {:>9.1} ns/step",
            time_steps(&mut instance, id, STEPS)
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

/// Size, compile, cached load and `sawtooth` step cost of the pack at `path`.
fn sawtooth_pack(path: &str) {
    let bytes = std::fs::read(path).expect("read the pack");
    println!("{path}: {:.1} MB", bytes.len() as f64 / 1e6);
    let started = Instant::now();
    let runtime = PluginRuntime::with_cache_dir(Limits::default(), None).expect("runtime");
    runtime.load_bytes(path, &bytes).expect("pack");
    println!(
        "  compile (no cache):               {:>9.2} s",
        started.elapsed().as_secs_f64()
    );
    let dir = std::env::temp_dir().join(format!("promemu-bench-{}", std::process::id()));
    let cached =
        PluginRuntime::with_cache_dir(Limits::default(), Some(dir.clone())).expect("runtime");
    cached.load_bytes(path, &bytes).expect("warm the cache");
    let started = Instant::now();
    let pack = cached.load_bytes(path, &bytes).expect("pack from cache");
    println!(
        "  load (cached):                    {:>9.2} ms",
        started.elapsed().as_secs_f64() * 1e3
    );
    let _ = std::fs::remove_dir_all(dir);
    let mut instance = pack.instantiate(1).expect("instance");
    let spec = SeriesSpec {
        scenario: "sawtooth".into(),
        params: r#"{"period": 60, "jitter": 1}"#.into(),
        info: MetricInfo {
            host: "bench".into(),
            name: "saw".into(),
            kind: MetricKind::Gauge,
            min: -10.0,
            max: 110.0,
            default_value: 0.0,
            update_interval: 1.0,
        },
        stream_key: "bench/saw".into(),
    };
    let id = instance.create_series(spec).expect("a sawtooth series");
    let steps = STEPS / 20;
    println!(
        "  sawtooth step (jitter):           {:>9.2} us/step",
        time_steps(&mut instance, id, steps) / 1e3
    );
    let started = Instant::now();
    for _ in 0..steps {
        black_box(instance.links(id).expect("links"));
    }
    println!(
        "  links() round trip:               {:>9.2} us/call",
        per_step(started.elapsed(), steps) / 1e3
    );
}
