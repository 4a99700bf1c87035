//! What a large fleet costs: building the simulation, stepping it through virtual
//! time, building a snapshot (every job's exposition text and the status), and
//! resident memory per series. Prints numbers; asserts nothing.
//!
//!     cargo bench -p promemu --bench fleet                # 1 000 hosts x 100 metrics
//!     cargo bench -p promemu --bench fleet -- 5000 100    # hosts, metrics per host

use std::time::Instant;

use promemu::configs::parse_toml;
use promemu::mixer::{Mixer, StatusOptions};
use promemu::model::validate;
use promemu::plugin::{Limits, PluginRuntime};
use promemu::sim::{Simulation, VirtualTime};

/// Scenarios the metrics cycle through: stateless, stateful and random ones.
const SCENARIOS: [&str; 4] = [
    "sine_wave",
    "random_walk",
    "random_in_range",
    "update_by_trend",
];

fn resident_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn fleet_toml(hosts: usize, metrics: usize) -> String {
    let mut toml =
        format!("[[hosts]]\nname = \"node-{{i:05}}\"\ncount = {hosts}\ninterval = \"15s\"\n");
    for metric in 0..metrics {
        toml.push_str(&format!(
            "[[hosts.metrics]]\nname = \"metric_{metric:03}\"\nvalue_range = [0, 100]\nupdate_interval = \"15s\"\nscenario = \"{}\"\n",
            SCENARIOS[metric % SCENARIOS.len()]
        ));
    }
    toml
}

fn main() {
    let numbers: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|arg| arg.parse().ok())
        .collect();
    let hosts = numbers.first().copied().unwrap_or(1_000);
    let metrics = numbers.get(1).copied().unwrap_or(100);
    let series = hosts * metrics;
    println!("fleet: {hosts} hosts x {metrics} metrics = {series} series, 15 s intervals");

    let baseline = resident_kib();
    let runtime = PluginRuntime::with_cache_dir(Limits::default(), None).expect("runtime");
    let pack = runtime.builtin().expect("pack");
    let mut config = parse_toml("fleet.toml", "fleet", &fleet_toml(hosts, metrics)).unwrap();
    for host in &mut config.hosts {
        host.fill_identity(1);
    }
    assert!(validate(&config).is_empty());
    let after_config = resident_kib();

    let started = Instant::now();
    let mut sim = Simulation::new(&config, &[pack], 1).expect("simulation");
    let mixer = Mixer::new(&sim, "fleet");
    let build = started.elapsed();
    let after_build = resident_kib();
    println!(
        "build simulation:                 {:>9.2} s ({:.1} us/series)",
        build.as_secs_f64(),
        build.as_secs_f64() * 1e6 / series as f64
    );

    let minutes = 2;
    let started = Instant::now();
    sim.advance_to(VirtualTime::from_secs(f64::from(minutes) * 60.0).unwrap());
    let stepping = started.elapsed();
    let steps = sim.stats().steps;
    println!(
        "step {minutes} virtual minutes:           {:>9.2} s ({steps} steps, {:.0} ns/step)",
        stepping.as_secs_f64(),
        stepping.as_nanos() as f64 / steps as f64
    );

    let options = StatusOptions {
        pushgateway_url: None,
        push_interval: 15.0,
        show_metrics: false,
    };
    let started = Instant::now();
    let snapshot = mixer.snapshot(&sim, &options);
    let encode = started.elapsed();
    let text_bytes: usize = snapshot
        .jobs
        .iter()
        .map(|job| job.text.len())
        .sum::<usize>()
        + snapshot.scrape_text.len();
    println!(
        "build one snapshot:               {:>9.2} s ({:.1} MB of text)",
        encode.as_secs_f64(),
        text_bytes as f64 / 1e6
    );
    let after_snapshot = resident_kib();

    println!(
        "resident memory: config {:.0} MB, simulation {:.0} MB ({:.2} KB/series), with a snapshot {:.0} MB",
        after_config.saturating_sub(baseline) as f64 / 1024.0,
        after_build.saturating_sub(after_config) as f64 / 1024.0,
        after_build.saturating_sub(after_config) as f64 / series as f64,
        after_snapshot as f64 / 1024.0
    );
}
