//! Scenarios that nest scenarios of other plugins through the host: a switch and a
//! calculation running a third-party scenario, the links of nested scenarios, a
//! fault inside a nested scenario, and errors that name what exists.

use std::collections::BTreeMap;
use std::sync::Mutex;

use promemu::model::FaultPolicy;
use promemu::plugin::Plugin;
use promemu::sim::{Sample, SimError, Simulation};

use crate::harness::{
    at, builtin, config, fixture, gauge, hostile, hostile_with, input, nesting_instance, runtime,
    spec,
};

/// A simulation of `toml` on the pack and a fixture plugin (each compiled once).
fn with_fixture(toml: &str, fixture_name: &str, seed: u64) -> Result<Simulation, SimError> {
    static LOADED: Mutex<BTreeMap<String, Plugin>> = Mutex::new(BTreeMap::new());
    let third_party = LOADED
        .lock()
        .unwrap()
        .entry(fixture_name.to_string())
        .or_insert_with(|| runtime().load_file(&fixture(fixture_name)).unwrap())
        .clone();
    Simulation::new(&config(toml), &[builtin(), third_party], seed)
}

fn value(sim: &Simulation, metric: &str) -> f64 {
    let series = sim
        .series()
        .find(|series| series.metric().name == metric)
        .expect("metric");
    match series.reported() {
        Some(Sample::Gauge(value)) => *value,
        other => panic!("{metric}: {other:?}"),
    }
}

fn faults(sim: &Simulation, metric: &str) -> u64 {
    sim.series()
        .find(|series| series.metric().name == metric)
        .expect("metric")
        .faults()
}

/// A toggle that emits `go` at 10 s, and a worker whose metrics react to it with
/// scenarios of the square-wave fixture: `switched` runs `square_wave` (10 for
/// 2 s, 90 for 2 s) for 8 s; `flipped` takes a `coin_flip` per `go`.
const REACTING: &str = r#"
    [[hosts]]
    name = "balancer"
    interval = "1s"
    [[hosts.metrics]]
    name = "toggle"
    value_range = [0, 1]
    update_interval = "1s"
    scenario = "feature_toggle"
    scenario_data = { start_time = 10, duration = 5, interval = 100, on_event = "go", off_event = "stop" }

    [[hosts]]
    name = "worker"
    interval = "1s"
    [[hosts.metrics]]
    name = "switched"
    value_range = [0, 100]
    default_value = 50
    update_interval = "1s"
    listen_events = ["go"]
    scenario = "switch_scenario_by_events"
    scenario_data = { events_config = { go = { scenario = "square_wave", scenario_data = { shape = "10,90,4" }, duration = 8 } } }
    [[hosts.metrics]]
    name = "flipped"
    value_range = [-1, 1]
    default_value = -1
    update_interval = "1h"
    listen_events = ["go"]
    scenario = "calc_by_event"
    scenario_data = { events_config = { go = "coin_flip" } }
"#;

#[test]
fn a_switch_runs_a_scenario_of_another_plugin_and_falls_back_after_its_duration() {
    let mut sim = with_fixture(REACTING, "square-wave.wasm", 1).expect("builds");
    sim.advance_to(at(9.0));
    assert_eq!(
        value(&sim, "switched"),
        50.0,
        "default scenario before the event"
    );
    assert_eq!(value(&sim, "flipped"), -1.0, "no event yet");
    let mut seen = Vec::new();
    for second in 10..=20 {
        sim.advance_to(at(f64::from(second)));
        seen.push(value(&sim, "switched"));
    }
    // square_wave from the event on (its elapsed counts from 10 s), until 18 s;
    // then do_nothing keeps the last value.
    assert_eq!(
        seen,
        [
            10.0, 10.0, 90.0, 90.0, 10.0, 10.0, 90.0, 90.0, 90.0, 90.0, 90.0
        ]
    );
    assert!([0.0, 1.0].contains(&value(&sim, "flipped")));
    assert_eq!(sim.stats().faults, 0);
}

#[test]
fn nested_scenarios_of_other_plugins_draw_from_seeded_streams() {
    let flip = |seed: u64| {
        let mut sim = with_fixture(REACTING, "square-wave.wasm", seed).expect("builds");
        sim.advance_to(at(11.0));
        value(&sim, "flipped")
    };
    let flips: Vec<f64> = (1..=16).map(flip).collect();
    assert!(
        flips.contains(&0.0) && flips.contains(&1.0),
        "seeds give different flips: {flips:?}"
    );
    for (seed, expected) in (1..=4).zip(&flips) {
        assert_eq!(flip(seed), *expected, "seed {seed} repeats its flip");
    }
}

#[test]
fn a_nested_scenario_that_reads_another_metric_gets_its_value() {
    // Nesting inside the pack: the switch must pass on the relay's link.
    let toml = r#"
        [[hosts]]
        name = "worker"
        interval = "1s"
        [[hosts.metrics]]
        name = "uptime"
        value_range = [0, 1000]
        update_interval = "1s"
        scenario = "time_duration"
        [[hosts.metrics]]
        name = "mirror"
        value_range = [0, 1000]
        update_interval = "1s"
        scenario = "switch_scenario_by_events"
        scenario_data = { default_scenario = "relay_to_other_metric", default_scenario_data = { source_metric_name = "uptime" } }
    "#;
    let mut sim = Simulation::new(&config(toml), &[builtin()], 1).expect("builds");
    sim.advance_to(at(7.0));
    assert!(value(&sim, "uptime") >= 6.0);
    assert!(
        (value(&sim, "mirror") - value(&sim, "uptime")).abs() <= 1.0,
        "mirror {} follows uptime {}",
        value(&sim, "mirror"),
        value(&sim, "uptime")
    );
}

#[test]
fn a_fault_in_a_nested_scenario_is_a_fault_of_the_series_that_nests_it() {
    let toml = r#"
        [[hosts]]
        name = "worker"
        interval = "1s"
        [[hosts.metrics]]
        name = "wrapped"
        value_range = [0, 100]
        update_interval = "1s"
        scenario = "switch_scenario_by_events"
        scenario_data = { default_scenario = "panic", default_scenario_data = { after = 3 } }
        [[hosts.metrics]]
        name = "healthy"
        value_range = [0, 1000]
        update_interval = "1s"
        scenario = "time_duration"
    "#;
    let mut sim = with_fixture(toml, "hostile.wasm", 1)
        .expect("builds")
        .with_fault_policy(FaultPolicy::Hold);
    sim.advance_to(at(10.0));
    assert_eq!(faults(&sim, "wrapped"), 8, "faulty from 3 s on");
    assert_eq!(value(&sim, "wrapped"), 2.0, "holds its last good value");
    assert_eq!(faults(&sim, "healthy"), 0);
    assert!(value(&sim, "healthy") >= 9.0, "kept its schedule");
}

#[test]
fn an_unknown_nested_scenario_is_refused_with_what_every_plugin_offers() {
    let toml = r#"
        [[hosts]]
        name = "worker"
        [[hosts.metrics]]
        name = "m"
        listen_events = ["go"]
        scenario = "switch_scenario_by_events"
        scenario_data = { events_config = { go = "square_wav" } }
    "#;
    let err = with_fixture(toml, "square-wave.wasm", 1)
        .err()
        .expect("refused")
        .to_string();
    for part in [
        "host 'worker', metric 'm'",
        "events_config.go",
        "unknown scenario 'square_wav'",
        "square_wave",
        "sine_wave",
        "coin_flip",
    ] {
        assert!(err.contains(part), "'{part}' in: {err}");
    }

    let bad_params = REACTING.replace("10,90,4", "10,90,-4");
    let err = with_fixture(&bad_params, "square-wave.wasm", 1)
        .err()
        .expect("refused")
        .to_string();
    assert!(
        err.contains("square_wave: shape must be \"low,high,period\" with period > 0"),
        "the nested plugin's own message: {err}"
    );
}

fn wrapped(inner: &str) -> String {
    format!(
        r#"
        [[hosts]]
        name = "worker"
        interval = "1s"
        [[hosts.metrics]]
        name = "wrapped"
        value_range = [0, 100]
        update_interval = "1s"
        scenario = "wrap"
        scenario_data = {{ inner = "{inner}" }}
        "#
    )
}

#[test]
fn a_third_party_plugin_nests_a_scenario_of_the_pack_through_the_host() {
    let mut sim = with_fixture(&wrapped("time_duration"), "square-wave.wasm", 1).expect("builds");
    sim.advance_to(at(5.0));
    assert_eq!(
        value(&sim, "wrapped"),
        5.0,
        "the pack's time_duration, via wrap"
    );
}

#[test]
fn nesting_without_end_stops_at_the_depth_limit() {
    let err = with_fixture(&wrapped("wrap"), "square-wave.wasm", 1)
        .err()
        .expect("refused")
        .to_string();
    assert!(
        err.contains(&format!(
            "scenarios nest at most {} levels deep",
            promemu::plugin::MAX_NESTING_DEPTH
        )),
        "{err}"
    );
}

/// A healthy series beside `wrapped`, which nests `inner` through `via`, on the
/// pack and the hostile fixture.
fn beside_a_nested(via: &str, inner: &str) -> String {
    let data = match via {
        "switch_scenario_by_events" => format!(r#"{{ default_scenario = "{inner}" }}"#),
        _ => format!(r#"{{ inner = "{inner}" }}"#),
    };
    format!(
        r#"
        [[hosts]]
        name = "worker"
        interval = "1s"
        [[hosts.metrics]]
        name = "wrapped"
        value_range = [0, 100]
        update_interval = "1s"
        scenario = "{via}"
        scenario_data = {data}
        [[hosts.metrics]]
        name = "healthy"
        value_range = [0, 1000]
        update_interval = "1s"
        scenario = "time_duration"
        [[hosts.metrics]]
        name = "sibling"
        value_range = [0, 1000]
        update_interval = "1s"
        scenario = "steady"
        "#
    )
}

#[test]
fn a_spinning_nested_scenario_takes_the_blame_and_no_more_than_the_callers_deadline() {
    // In the pack's switch, and in a third-party plugin's own nesting scenario:
    // the caller is never rebuilt, its other series (the pack's `healthy`, the
    // hostile plugin's `sibling`) never fault, and a step costs one deadline.
    for via in ["switch_scenario_by_events", "nest"] {
        let mut sim = with_fixture(&beside_a_nested(via, "spin"), "hostile.wasm", 1)
            .expect("builds")
            .with_fault_policy(FaultPolicy::Hold);
        let started = std::time::Instant::now();
        sim.advance_to(at(5.0));
        let took = started.elapsed();
        assert_eq!(faults(&sim, "wrapped"), 6, "{via}: every step, 0 to 5 s");
        assert_eq!(sim.plugin_restarts(), 0, "{via}: the caller is intact");
        assert_eq!(
            faults(&sim, "healthy") + faults(&sim, "sibling"),
            0,
            "{via}"
        );
        assert_eq!(value(&sim, "healthy"), 5.0, "{via}");
        assert_eq!(value(&sim, "sibling"), 5.0, "{via}");
        // Six steps of a 100 ms deadline, each ending in time (with the nested
        // instance rebuilt on next use): well under two seconds, even on a busy
        // machine.
        assert!(took < std::time::Duration::from_secs(2), "{via}: {took:?}");
    }
}

#[test]
fn a_nested_fault_names_the_plugin_that_faulted_first() {
    let hostile = hostile();
    let mut instance = nesting_instance(&builtin(), &[builtin(), hostile.clone()], 1);
    let id = instance
        .create_series(spec(
            "switch_scenario_by_events",
            r#"{"default_scenario": "spin"}"#,
            gauge(0.0, 100.0, 0.0),
        ))
        .unwrap();
    let err = instance.step(id, input(1.0)).expect_err("faults");
    let message = err.to_string();
    assert!(
        message.starts_with(&format!(
            "plugin {} trapped in step of nested/",
            hostile.name()
        )),
        "{message}"
    );
    assert!(
        message
            .ends_with("(nested in plugin builtin, step of job/host-1/switch_scenario_by_events)"),
        "{message}"
    );
    assert_eq!(instance.restarts(), 0);
}

#[test]
fn a_nested_hog_is_held_to_its_callers_memory_cap() {
    // `nest` runs `hog` in a private instance. Alone it could take an 8 MiB cap
    // of its own beside its caller's; the caller's cap covers both instead.
    let hostile = hostile_with(promemu::plugin::Limits {
        memory_bytes: 8 << 20,
        call_deadline: std::time::Duration::from_secs(2),
        ..Default::default()
    });
    let mut instance = nesting_instance(&hostile, std::slice::from_ref(&hostile), 1);
    let id = instance
        .create_series(spec("nest", r#"{"inner": "hog"}"#, gauge(0.0, 100.0, 0.0)))
        .unwrap();
    let err = instance.step(id, input(1.0)).expect_err("the hog faults");
    let message = err.to_string();
    assert!(message.contains("memory cap reached"), "{message}");
    assert!(
        message.contains("cap of 8388608 bytes that nested instances share"),
        "{message}"
    );
    assert!(instance.memory_bytes() < 8 << 20);
    assert_eq!(instance.restarts(), 0, "the caller is intact");
}
