//! The simulation in virtual time: schedules, TTLs, activity windows, the event
//! bus, determinism, the shipped configs, and fault isolation.

use promemu::configs::{ConfigCatalog, ConfigRequest};
use promemu::mixer::{Mixer, StatusOptions};
use promemu::model::{FaultPolicy, MixerConfig, validate};
use promemu::sim::{Sample, SeriesView, SimError, Simulation, Spread};

use promemu::plugin::Limits;

use crate::harness::{at, builtin, config, hostile, hostile_with, runtime, runtime_with};

fn simulation(toml: &str, seed: u64) -> Simulation {
    Simulation::new(&config(toml), &[builtin()], seed).expect("simulation builds")
}

fn series<'a>(sim: &'a Simulation, host: &str, metric: &str) -> SeriesView<'a> {
    sim.host_named(host)
        .expect("host")
        .metric(metric)
        .expect("metric")
}

fn gauge(sim: &Simulation, host: &str, metric: &str) -> Option<f64> {
    match series(sim, host, metric).reported() {
        Some(Sample::Gauge(value)) => Some(*value),
        None => None,
        other => panic!("not a gauge: {other:?}"),
    }
}

#[test]
fn a_host_that_respawns_comes_back_at_its_ttl_with_a_seeded_new_identity_and_fresh_series() {
    let toml = r#"
        [[hosts]]
        name = "pod"
        ttl = "10s"
        respawn = true
        interval = "1s"
        [[hosts.metrics]]
        name = "up"
        update_interval = "1s"
        scenario = "time_duration"
        value_range = [0, 1000]
        [[hosts.metrics]]
        name = "requests_total"
        kind = "counter"
        update_interval = "1s"
        scenario = "time_duration"
        value_range = [0, 1000]
        "#;
    let identities = |seed: u64| {
        let mut sim = simulation(toml, seed);
        let mut seen = Vec::new();
        for second in [9.5, 15.5, 25.5] {
            sim.advance_to(at(second));
            let host = sim.hosts().next().unwrap();
            seen.push((
                host.name().to_string(),
                host.config().address.clone(),
                host.incarnation(),
                host.uptime().as_secs(),
            ));
        }
        (sim, seen)
    };
    let (sim, seen) = identities(7);
    assert_eq!(seen[0].0, "pod");
    assert_eq!(seen[0].2, 0);
    // Back at 10 s as someone else, its series started afresh (uptime 5 s).
    assert!(
        seen[1].0.starts_with("pod-") && seen[1].0.len() == "pod-".len() + 5,
        "{seen:?}"
    );
    assert_ne!(seen[1].1, seen[0].1, "a new address");
    assert_eq!((seen[1].2, seen[1].3), (1, 5.5));
    assert_ne!(seen[2].0, seen[1].0);
    assert_eq!(seen[2].2, 2);
    assert!(sim.hosts().next().unwrap().is_alive() && !sim.is_finished());
    // Its scenarios started again at 20 s: 5 s in, and a counter from zero.
    assert_eq!(gauge(&sim, &seen[2].0, "up"), Some(5.0));
    match series(&sim, &seen[2].0, "requests_total").reported() {
        Some(Sample::Counter(total)) => assert!(*total <= 15.0, "{total}"),
        other => panic!("{other:?}"),
    }
    let stats = sim.stats();
    assert_eq!(
        (stats.respawns, stats.series_created, stats.series_ended),
        (2, 6, 4)
    );
    // The same seed names the same identities; another seed others.
    assert_eq!(identities(7).1, seen);
    assert_ne!(identities(8).1[1].0, seen[1].0);

    // A host that never reaches a TTL cannot respawn.
    let forever = promemu::configs::parse_toml("t.toml", "t", &toml.replace("ttl = \"10s\"", ""));
    let problems = validate(&forever.expect("valid TOML"));
    assert!(
        problems
            .iter()
            .any(|problem| problem.to_string().contains("field 'respawn'")
                && problem.to_string().contains("needs a finite ttl")),
        "{problems:?}"
    );
}

#[test]
fn a_host_disappears_at_its_ttl() {
    let mut sim = simulation(
        r#"
        [[hosts]]
        name = "short"
        ttl = "10s"
        interval = "1s"
        [[hosts.metrics]]
        name = "up"
        update_interval = "1s"
        scenario = "time_duration"
        value_range = [0, 1000]

        [[hosts]]
        name = "long"
        ttl = "30s"
        interval = "1s"
        [[hosts.metrics]]
        name = "up"
        update_interval = "1s"
        scenario = "time_duration"
        value_range = [0, 1000]
        "#,
        1,
    );
    sim.advance_to(at(9.5));
    assert_eq!(gauge(&sim, "short", "up"), Some(9.0));
    sim.advance_to(at(10.0));
    let alive: Vec<bool> = sim.hosts().map(|host| host.is_alive()).collect();
    assert_eq!(alive, [false, true]);
    assert_eq!(
        gauge(&sim, "short", "up"),
        None,
        "expired hosts expose nothing"
    );
    assert_eq!(
        series(&sim, "short", "up").steps(),
        10,
        "steps at 0..=9, none at its death"
    );
    sim.advance_to(at(29.0));
    assert_eq!(gauge(&sim, "long", "up"), Some(29.0));
    assert!(!sim.is_finished());
    sim.advance_to(at(30.0));
    assert!(sim.is_finished());
}

#[test]
fn metrics_are_active_only_in_their_start_and_duration_window() {
    let mut sim = simulation(
        r#"
        [[hosts]]
        name = "h"
        interval = "1s"
        [[hosts.metrics]]
        name = "windowed"
        start_time = "5s"
        duration = "10s"
        update_interval = "1s"
        scenario = "time_duration"
        value_range = [0, 1000]
        "#,
        1,
    );
    sim.advance_to(at(4.9));
    assert_eq!(gauge(&sim, "h", "windowed"), None);
    assert_eq!(series(&sim, "h", "windowed").steps(), 0);
    sim.advance_to(at(5.0));
    assert_eq!(gauge(&sim, "h", "windowed"), Some(0.0));
    sim.advance_to(at(14.0));
    assert_eq!(gauge(&sim, "h", "windowed"), Some(9.0));
    sim.advance_to(at(40.0));
    assert_eq!(series(&sim, "h", "windowed").steps(), 10);
    assert_eq!(gauge(&sim, "h", "windowed"), None);
}

#[test]
fn reports_follow_the_host_interval() {
    let mut sim = simulation(
        r#"
        [[hosts]]
        name = "h"
        interval = "5s"
        [[hosts.metrics]]
        name = "up"
        update_interval = "1s"
        scenario = "time_duration"
        value_range = [0, 1000]
        "#,
        1,
    );
    sim.advance_to(at(7.0));
    assert_eq!(series(&sim, "h", "up").steps(), 8);
    assert_eq!(
        gauge(&sim, "h", "up"),
        Some(5.0),
        "the value of the last report, at 5 s"
    );
}

const BUS: &str = r#"
    [[hosts]]
    name = "balancer"
    interval = "1s"
    [[hosts.metrics]]
    name = "toggle"
    value_range = [0, 1]
    update_interval = "1s"
    scenario = "feature_toggle"
    scenario_data = { start_time = 10, duration = 5, interval = 100, on_event = "peak_on", off_event = "peak_off" }

    [[hosts]]
    name = "worker-{i}"
    count = 3
    interval = "1s"
    [[hosts.metrics]]
    name = "heard_at"
    value_range = [-1, 1000]
    default_value = -1
    update_interval = "1h"
    listen_events = ["peak_on", "peak_off"]
    scenario = "calc_by_event"
    scenario_data = { events_config = { peak_on = "time", peak_off = "time + 1000" } }

    [[hosts]]
    name = "host-listener"
    interval = "1s"
    listen_events = ["peak_on"]
    [[hosts.metrics]]
    name = "heard_at"
    value_range = [-1, 1000]
    default_value = -1
    update_interval = "1h"
    scenario = "calc_by_event"
    scenario_data = { events_config = { peak_on = "time" } }
"#;

#[test]
fn events_reach_every_listener_at_the_same_instant() {
    let mut sim = simulation(BUS, 1);
    sim.advance_to(at(9.0));
    for host in ["worker-1", "worker-2", "worker-3", "host-listener"] {
        assert_eq!(gauge(&sim, host, "heard_at"), Some(-1.0), "{host}");
    }
    sim.advance_to(at(10.0));
    for host in ["worker-1", "worker-2", "worker-3", "host-listener"] {
        assert_eq!(
            gauge(&sim, host, "heard_at"),
            Some(10.0),
            "{host} heard peak_on at 10 s"
        );
        // One scheduled step at 0 plus one delivery.
        assert_eq!(series(&sim, host, "heard_at").steps(), 2, "{host}");
    }
    sim.advance_to(at(15.0));
    for host in ["worker-1", "worker-2", "worker-3"] {
        assert_eq!(
            gauge(&sim, host, "heard_at"),
            Some(1000.0),
            "{host} heard peak_off at 15 s (clamped)"
        );
    }
    assert_eq!(
        gauge(&sim, "host-listener", "heard_at"),
        Some(10.0),
        "it does not listen to peak_off"
    );
    assert_eq!(sim.stats().events, 2);
    assert_eq!(sim.stats().deliveries, 7);
}

fn scrape(sim: &Simulation) -> String {
    let snapshot = Mixer::new(sim, "job").snapshot(sim, &StatusOptions::default());
    String::from_utf8(snapshot.scrape_text.to_vec()).expect("UTF-8")
}

#[test]
fn the_same_seed_gives_byte_identical_output_and_another_seed_does_not() {
    let config = config(BUS);
    let run = |seed| {
        let mut sim = Simulation::new(&config, &[builtin()], seed).unwrap();
        let mut outputs = Vec::new();
        for second in [0.0, 5.0, 12.0, 30.0] {
            sim.advance_to(at(second));
            outputs.push(scrape(&sim));
        }
        outputs
    };
    let peaks = |seed| {
        let mut catalog_config = shipped("hosts_load_with_peaks", &[("hosts_count", "3")]);
        for host in &mut catalog_config.hosts {
            host.fill_identity(seed);
        }
        let mut sim = Simulation::new(&catalog_config, &[builtin()], seed).unwrap();
        sim.advance_to(at(120.0));
        scrape(&sim)
    };
    assert_eq!(run(3), run(3));
    assert_eq!(peaks(3), peaks(3));
    assert_ne!(peaks(3), peaks(4));
}

#[test]
fn an_exposition_written_on_two_threads_is_the_one_written_on_one() {
    let fleet = config(
        r#"
        [[hosts]]
        name = "node-{i:02}"
        count = 12
        interval = "5s"
        [[hosts.metrics]]
        name = "load"
        update_interval = "5s"
        scenario = "sine_wave"
        [[hosts.metrics]]
        name = "requests_total"
        type = "counter"
        update_interval = "5s"
        scenario = "random_in_range"
        [[hosts.metrics]]
        name = "latency_seconds"
        type = "histogram"
        value_range = [0, 2]
        update_interval = "5s"
        scenario = "random_walk"
        [[hosts.metrics]]
        name = "late"
        start_time = 20
        update_interval = "5s"
        scenario = "random_walk"
        "#,
    );
    let mut sim = Simulation::new(&fleet, &[builtin()], 8).unwrap();
    let mixer = Mixer::new(&sim, "job");
    let exposition = mixer.scrape_exposition();
    for second in [0.0, 10.0, 25.0] {
        sim.advance_to(at(second));
        let one = exposition.text_on_threads(&sim, 1);
        let two = exposition.text_on_threads(&sim, 2);
        assert!(one.contains("# TYPE load gauge") && one.contains("latency_seconds_bucket"));
        assert_eq!(
            one.contains("# TYPE late gauge"),
            second > 20.0,
            "at {second} s"
        );
        assert_eq!(one, two, "at {second} s");
    }
}

fn shipped(name: &str, args: &[(&str, &str)]) -> MixerConfig {
    let runtime = runtime();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs");
    let catalog = ConfigCatalog::discover(&runtime, Some(dir), &[]).unwrap();
    let request = ConfigRequest {
        config: name.into(),
        class: None,
        args: args
            .iter()
            .map(|(key, value)| (key.to_string(), value.to_string()))
            .collect(),
    };
    catalog.load(&runtime, &request).unwrap()
}

fn filled(mut config: MixerConfig) -> MixerConfig {
    for host in &mut config.hosts {
        host.fill_identity(9);
    }
    assert!(validate(&config).is_empty(), "{:?}", validate(&config));
    config
}

#[test]
fn the_toml_twins_behave_exactly_like_the_builders() {
    for (name, args) in [
        (
            "hosts_load_with_peaks",
            vec![
                ("hosts_count", "4"),
                ("peak_start", "20s"),
                ("hosts_ttl", "10m"),
            ],
        ),
        ("single_host_load", vec![("host_ttl", "300")]),
    ] {
        let built = filled(shipped(name, &args));
        let from_toml = filled(shipped(&format!("{name}.toml"), &args));
        assert_eq!(built.hosts.len(), from_toml.hosts.len());
        let mut a = Simulation::new(&built, &[builtin()], 9).unwrap();
        let mut b = Simulation::new(&from_toml, &[builtin()], 9).unwrap();
        for second in [0.0, 15.0, 30.0, 95.0, 200.0, 400.0] {
            a.advance_to(at(second));
            b.advance_to(at(second));
            assert_eq!(scrape(&a), scrape(&b), "{name} at {second} s");
        }
    }
}

#[test]
fn peaks_default_to_ten_hosts_and_workers_follow_the_balancer() {
    let config = filled(shipped("hosts_load_with_peaks", &[]));
    assert_eq!(config.hosts.len(), 10);
    assert!(config.hosts.iter().all(|host| host.ttl == 900.0));
    let mut sim = Simulation::new(&config, &[builtin()], 5).unwrap();
    let cpu = |sim: &Simulation| -> Vec<f64> {
        (1..=9)
            .map(|index| series(sim, &format!("worker-{index:02}"), "cpu_usage_percent").value())
            .collect()
    };
    sim.advance_to(at(55.0));
    assert!(
        cpu(&sim).iter().all(|value| *value < 25.0),
        "idle before the peak: {:?}",
        cpu(&sim)
    );
    sim.advance_to(at(60.0));
    assert_eq!(series(&sim, "balancer-1", "load_peak_active").value(), 1.0);
    sim.advance_to(at(90.0));
    assert!(
        cpu(&sim).iter().all(|value| *value > 75.0),
        "during the peak: {:?}",
        cpu(&sim)
    );
    sim.advance_to(at(215.0));
    assert!(
        cpu(&sim).iter().all(|value| *value < 25.0),
        "after the peak: {:?}",
        cpu(&sim)
    );
}

#[test]
fn a_counter_and_a_histogram_are_exposed_with_their_semantics() {
    let config = filled(shipped("hosts_load_with_peaks", &[("hosts_count", "1")]));
    let mut sim = Simulation::new(&config, &[builtin()], 5).unwrap();
    sim.advance_to(at(60.0));
    let text = scrape(&sim);
    assert!(
        text.contains("# TYPE http_requests_total counter"),
        "{text}"
    );
    assert!(text.contains("# TYPE http_response_time_seconds histogram"));
    assert!(text.contains("http_response_time_seconds_bucket{") && text.contains("le=\"+Inf\""));
    match &series(&sim, "worker-01", "http_requests_total").reported() {
        Some(Sample::Counter(total)) => {
            assert!((5.0 * 13.0..=20.0 * 13.0).contains(total), "{total}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn unknown_scenarios_and_bad_parameters_are_refused_before_running() {
    let unknown = config(
        "[[hosts]]\nname = \"h\"\n[[hosts.metrics]]\nname = \"m\"\nscenario = \"sine_wav\"\n",
    );
    match Simulation::new(&unknown, &[builtin()], 1) {
        Err(SimError::UnknownScenario {
            host,
            metric,
            scenario,
            available,
        }) => {
            assert_eq!(
                (host.as_str(), metric.as_str(), scenario.as_str()),
                ("h", "m", "sine_wav")
            );
            assert!(available.contains("sine_wave"));
        }
        other => panic!("{:?}", other.err()),
    }
    let bad = config(
        "[[hosts]]\nname = \"h\"\n[[hosts.metrics]]\nname = \"m\"\nscenario = \"sine_wave\"\nscenario_data = { period = -3 }\n",
    );
    let err = Simulation::new(&bad, &[builtin()], 1)
        .err()
        .expect("refused");
    assert_eq!(
        err.to_string(),
        "host 'h', metric 'm', field 'scenario_data': sine_wave: parameter 'period' must be greater than 0, got -3 (plugin builtin)"
    );
    let dangling = config(
        "[[hosts]]\nname = \"h\"\n[[hosts.metrics]]\nname = \"m\"\nscenario = \"relay_to_other_metric\"\nscenario_data = { source_metric_name = \"nope\" }\n",
    );
    let err = Simulation::new(&dangling, &[builtin()], 1)
        .err()
        .expect("refused");
    assert!(matches!(err, SimError::UnknownLink { .. }), "{err}");
}

/// One hostile series (scenario `scenario` of the hostile fixture, misbehaving
/// from 3 s on) beside 100 healthy sine waves stepping every 2 s.
fn hostile_beside_healthy(scenario: &str, listen: &str, policy: FaultPolicy) -> Simulation {
    let hostile = hostile();
    let mut toml = format!(
        "[[hosts]]\nname = \"bad\"\ninterval = \"1s\"\n[[hosts.metrics]]\nname = \"hostile\"\nupdate_interval = \"1s\"\nvalue_range = [0, 100]\nscenario = \"{scenario}\"\nscenario_data = {{ after = 3 }}\nlisten_events = [{listen}]\n"
    );
    toml.push_str("[[hosts]]\nname = \"good-{i:03}\"\ncount = 100\ninterval = \"1s\"\n[[hosts.metrics]]\nname = \"wave\"\nupdate_interval = \"2s\"\nscenario = \"builtin/sine_wave\"\n");
    let config = config(&toml);
    Simulation::new(&config, &[builtin(), hostile], 1)
        .unwrap()
        .with_fault_policy(policy)
}

fn assert_healthy_on_schedule(sim: &Simulation, steps: u64) {
    for index in 1..=100 {
        let good = series(sim, &format!("good-{index:03}"), "wave");
        assert_eq!((good.steps(), good.faults()), (steps, 0), "good-{index:03}");
        assert!(good.reported().is_some());
    }
}

#[test]
fn a_hostile_series_does_not_disturb_a_hundred_healthy_ones() {
    for scenario in ["spin", "panic", "hog", "recurse"] {
        let mut sim = hostile_beside_healthy(scenario, "", FaultPolicy::Hold);
        sim.advance_to(at(20.0));
        let bad = series(&sim, "bad", "hostile");
        assert_eq!(bad.steps(), 21, "{scenario}");
        assert_eq!(bad.faults(), 18, "{scenario}: faulty from 3 s on");
        assert_eq!(bad.value(), 2.0, "{scenario}: holds the last good value");
        assert_eq!(bad.reported(), Some(&Sample::Gauge(2.0)));
        assert_healthy_on_schedule(&sim, 11);
    }
}

#[test]
fn the_backoff_policy_retries_less_and_less_often() {
    let mut sim = hostile_beside_healthy("panic", "", FaultPolicy::Backoff);
    sim.advance_to(at(60.0));
    let bad = series(&sim, "bad", "hostile");
    // Faults at 3, then retries after 1, 2, 4, 8, 16 intervals: 4, 6, 10, 18, 34.
    assert_eq!(bad.faults(), 6);
    assert_eq!(bad.steps(), 3 + 6);
    assert_healthy_on_schedule(&sim, 31);
}

#[test]
fn the_drop_policy_removes_the_series() {
    let mut sim = hostile_beside_healthy("panic", "", FaultPolicy::Drop);
    sim.advance_to(at(20.0));
    let bad = series(&sim, "bad", "hostile");
    assert!(bad.is_dropped());
    assert_eq!((bad.steps(), bad.faults()), (4, 1));
    assert_eq!(bad.reported(), None, "no longer exposed");
    assert_healthy_on_schedule(&sim, 11);
}

#[test]
fn nan_infinity_and_huge_values_are_held_or_clamped() {
    for (scenario, expected) in [("nan", 2.0), ("infinity", 2.0), ("huge", 100.0)] {
        let mut sim = hostile_beside_healthy(scenario, "", FaultPolicy::Backoff);
        sim.advance_to(at(10.0));
        let bad = series(&sim, "bad", "hostile");
        assert_eq!((bad.value(), bad.faults()), (expected, 0), "{scenario}");
        assert_healthy_on_schedule(&sim, 6);
    }
}

#[test]
fn an_event_storm_is_cut_off_and_the_rest_keeps_its_schedule() {
    // Every step emits 10 000 `storm` events (past the flood limit: a fault) and
    // the series listens to `storm` itself. With the hold policy it keeps trying.
    let mut sim = hostile_beside_healthy("storm", "\"storm\"", FaultPolicy::Hold);
    sim.advance_to(at(10.0));
    assert_eq!(
        series(&sim, "bad", "hostile").faults(),
        8,
        "every step from 3 s on floods"
    );
    assert_healthy_on_schedule(&sim, 6);
}

#[test]
fn listeners_that_re_emit_are_cut_off_per_instant() {
    // `feature_toggle` listening to its own events re-emits nothing (its state does
    // not change), but calc_by_event handlers that name a toggle do: a loop.
    let mut sim = simulation(
        r#"
        [[hosts]]
        name = "ping"
        interval = "1s"
        [[hosts.metrics]]
        name = "ping"
        value_range = [0, 1]
        update_interval = "1s"
        listen_events = ["pong"]
        scenario = "switch_scenario_by_events"
        scenario_data = { events_config = { pong = { scenario = "feature_toggle", scenario_data = { start_time = 0, duration = 100, interval = 1, on_event = "ping", off_event = "" } } }, default_scenario = "feature_toggle", default_scenario_data = { start_time = 2, duration = 100, interval = 1, on_event = "ping", off_event = "" } }

        [[hosts]]
        name = "pong"
        interval = "1s"
        [[hosts.metrics]]
        name = "pong"
        value_range = [0, 1]
        update_interval = "1h"
        listen_events = ["ping"]
        scenario = "switch_scenario_by_events"
        scenario_data = { events_config = { ping = { scenario = "feature_toggle", scenario_data = { start_time = 0, duration = 100, interval = 1, on_event = "pong", off_event = "" } } } }

        [[hosts]]
        name = "bystander"
        interval = "1s"
        [[hosts.metrics]]
        name = "up"
        update_interval = "1s"
        value_range = [0, 100]
        scenario = "time_duration"
        "#,
        1,
    );
    sim.advance_to(at(10.0));
    let stats = sim.stats();
    assert_eq!(
        stats.deliveries,
        promemu::sim::MAX_DELIVERIES_PER_INSTANT as u64,
        "{stats:?}"
    );
    assert_eq!(stats.deliveries_dropped, 1, "{stats:?}");
    assert_eq!(series(&sim, "bystander", "up").steps(), 11);
}

#[test]
fn chatty_plugins_are_stopped_when_they_flood_the_log() {
    let mut sim = hostile_beside_healthy("chatty", "", FaultPolicy::Hold);
    sim.advance_to(at(10.0));
    assert_eq!(series(&sim, "bad", "hostile").faults(), 8);
    assert_healthy_on_schedule(&sim, 6);
}

#[test]
fn a_fleet_too_large_for_one_instance_spreads_over_several() {
    // 4 MiB per instance: less than the pack needs for 30 000 series.
    let small = runtime_with(Limits {
        memory_bytes: 4 << 20,
        ..Limits::default()
    })
    .builtin()
    .unwrap();
    let mut toml =
        String::from("[[hosts]]\nname = \"node-{i:04}\"\ncount = 3000\ninterval = \"10s\"\n");
    for metric in 'a'..='j' {
        toml.push_str(&format!(
            "[[hosts.metrics]]\nname = \"walk_{metric}\"\nscenario = \"random_walk\"\n"
        ));
    }
    let fleet = config(&toml);
    let mut sim = Simulation::new(&fleet, &[small], 7).expect("the fleet is built");
    assert!(sim.plugin_instances() > 1, "{}", sim.plugin_instances());
    let usage = sim.plugin_usage();
    assert_eq!(usage.len(), 1);
    assert_eq!(usage[0].series, 30_000);
    assert_eq!(usage[0].instances, sim.plugin_instances());
    assert_eq!(usage[0].cap_bytes, usage[0].instances * (4 << 20));
    assert!(usage[0].memory_bytes < usage[0].cap_bytes, "{usage:?}");
    sim.advance_to(at(30.0));
    assert_eq!(sim.stats().faults, 0);
    assert_eq!(sim.stats().steps, 30_000 * 4);
    assert!(sim.series().all(|series| series.reported().is_some()));
    // The same seed on one big instance gives the same values: where a series
    // runs does not change what it draws.
    let mut single = Simulation::new(&fleet, &[builtin()], 7).unwrap();
    assert_eq!(single.plugin_instances(), 1);
    single.advance_to(at(30.0));
    assert!(
        sim.series()
            .zip(single.series())
            .all(|(spread, one)| spread.value() == one.value())
    );
}

#[test]
fn a_member_refused_while_a_fleet_is_built_names_the_first_refused_series() {
    // 30 hosts, then `late` and, 15 hosts on, `later`, whose metrics `picky`
    // refuses: with 10 series an instance they are queued in different
    // instances, which add their members on two threads.
    let mut toml = String::new();
    let fleet = |name: &str, count: usize, metric: &str| {
        format!(
            "[[hosts]]\nname = \"{name}\"\ncount = {count}\ninterval = \"10s\"\n\
             [[hosts.metrics]]\nname = \"{metric}\"\nscenario = \"picky\"\n"
        )
    };
    toml.push_str(&fleet("node-{i:02}", 30, "fine"));
    toml.push_str(&fleet("late", 1, "refused_here"));
    toml.push_str(&fleet("more-{i:02}", 15, "fine"));
    toml.push_str(&fleet("later", 1, "refused_too"));
    let refusing = config(&toml);
    for threads in [1, 2] {
        let spread = Spread {
            series_per_instance: 10,
            parallel_from_steps: 1,
            threads,
        };
        let refused = Simulation::with_spread(&refusing, &[hostile()], 7, spread)
            .err()
            .expect("a refused member stops the build");
        let text = refused.to_string();
        assert!(
            matches!(
                &refused,
                SimError::BadScenario { host, metric, message, .. }
                    if host == "late"
                        && metric == "refused_here"
                        && message == "picky refuses the metric refused_here"
            ),
            "{threads} threads: {text}"
        );
    }
    // Without them the same fleet is built, and every series steps.
    let accepted = toml.replace("refused", "taken");
    let mut sim = Simulation::with_spread(
        &config(&accepted),
        &[hostile()],
        7,
        Spread {
            series_per_instance: 10,
            parallel_from_steps: 1,
            threads: 2,
        },
    )
    .unwrap();
    assert_eq!(sim.plugin_instances(), 5);
    sim.advance_to(at(10.0));
    assert_eq!(sim.stats().steps, 47 * 2);
    assert_eq!(sim.stats().group_calls, 5 * 2);
    assert!(sim.series().all(|series| series.value() == 10.0));
}

/// `count` hosts with one `scenario` metric each (10 s updates).
fn one_metric_fleet(count: usize, scenario: &str, params: &str) -> MixerConfig {
    config(&format!(
        r#"
        [[hosts]]
        name = "node-{{i:04}}"
        count = {count}
        interval = "10s"
        [[hosts.metrics]]
        name = "value"
        value_range = [0, 100]
        default_value = 50
        update_interval = "10s"
        scenario = "{scenario}"
        scenario_data = {params}
        "#
    ))
}

#[test]
fn series_that_share_a_scenario_step_in_one_call_and_give_exact_values() {
    let fleet = one_metric_fleet(500, "sine_wave", "{ period = 120, amplitude = 40 }");
    let mut sim = Simulation::new(&fleet, &[builtin()], 3).unwrap();
    sim.advance_to(at(60.0));
    let stats = sim.stats();
    assert_eq!(stats.steps, 500 * 7, "steps at 0, 10, ..., 60 s");
    assert_eq!(
        stats.group_calls, 7,
        "one call per instant for the whole fleet"
    );
    let expected = 50.0 + 40.0 * (std::f64::consts::TAU * 60.0 / 120.0).sin();
    for series in sim.series() {
        assert!(
            (series.value() - expected).abs() < 1e-9,
            "{}",
            series.value()
        );
    }
}

#[test]
fn grouped_random_series_draw_their_own_values_and_repeat_with_the_seed() {
    let values = |seed: u64| {
        let fleet = one_metric_fleet(200, "random_walk", "{}");
        let mut sim = Simulation::new(&fleet, &[builtin()], seed).unwrap();
        sim.advance_to(at(100.0));
        assert!(sim.stats().group_calls > 0);
        sim.series()
            .map(|series| series.value())
            .collect::<Vec<f64>>()
    };
    let first = values(11);
    assert!(first.iter().all(|value| (0.0..=100.0).contains(value)));
    let mut distinct = first.clone();
    distinct.sort_by(f64::total_cmp);
    distinct.dedup();
    assert!(
        distinct.len() > 190,
        "each series walks on its own: {}",
        distinct.len()
    );
    assert_eq!(first, values(11), "same seed, same values");
    assert_ne!(first, values(12), "another seed, other values");
}

#[test]
fn a_pack_on_the_guest_sdk_steps_its_plain_series_in_groups_with_the_values_of_single_steps() {
    let example =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins/examples/sawtooth.wasm");
    let sawtooth = runtime()
        .load_file(&example)
        .expect("the example pack loads");
    // On every host, `grouped` may go through the batch interface; `alone`
    // listens to an event, so it steps through `scenarios`; `noisy` has jitter,
    // which the pack does not group.
    let fleet = config(
        r#"
        [[hosts]]
        name = "node-{i:03}"
        count = 40
        interval = "1s"
        [[hosts.metrics]]
        name = "grouped"
        value_range = [0, 80]
        update_interval = "1s"
        scenario = "sawtooth"
        scenario_data = { period = 10, low = 0, high = 100 }
        [[hosts.metrics]]
        name = "alone"
        value_range = [0, 80]
        update_interval = "1s"
        listen_events = ["never"]
        scenario = "sawtooth"
        scenario_data = { period = 10, low = 0, high = 100 }
        [[hosts.metrics]]
        name = "noisy"
        update_interval = "1s"
        scenario = "sawtooth"
        scenario_data = { period = 10, low = 0, high = 100, jitter = 1 }
        "#,
    );
    let mut sim = Simulation::new(&fleet, &[builtin(), sawtooth], 5).unwrap();
    for second in 0..=23 {
        sim.advance_to(at(f64::from(second)));
        let expected = (100.0 * f64::from(second % 10) / 10.0).min(80.0);
        for host in sim.hosts() {
            let grouped = host.metric("grouped").unwrap().value();
            assert_eq!(grouped, expected, "{} at {second} s", host.name());
            assert_eq!(
                grouped.to_bits(),
                host.metric("alone").unwrap().value().to_bits(),
                "{} at {second} s",
                host.name()
            );
        }
    }
    let stats = sim.stats();
    assert_eq!(stats.steps, 40 * 3 * 24);
    assert_eq!(
        stats.group_calls, 24,
        "one call an instant for the 40 plain ramps; the others step alone"
    );
}

#[test]
fn series_that_listen_to_events_or_are_read_by_others_step_on_their_own() {
    let fleet = config(
        r#"
        [[hosts]]
        name = "h"
        interval = "5s"
        [[hosts.metrics]]
        name = "source"
        update_interval = "5s"
        scenario = "sine_wave"
        [[hosts.metrics]]
        name = "relay"
        update_interval = "5s"
        scenario = "relay_to_other_metric"
        scenario_data = { source_metric_name = "source" }
        [[hosts.metrics]]
        name = "listener"
        update_interval = "5s"
        listen_events = ["never"]
        scenario = "sine_wave"
        "#,
    );
    let mut sim = Simulation::new(&fleet, &[builtin()], 1).unwrap();
    sim.advance_to(at(20.0));
    assert_eq!(sim.stats().group_calls, 0);
    assert_eq!(sim.stats().steps, 3 * 5);
    let host = sim.host_named("h").unwrap();
    assert_eq!(
        host.metric("relay").unwrap().value(),
        host.metric("source").unwrap().value(),
        "the relay saw the source's value of the same instant"
    );
}

#[test]
fn a_group_that_traps_faults_its_own_series_and_its_neighbours_carry_on() {
    let hostile = hostile();
    assert!(hostile.offers_batch());
    let fleet = config(
        r#"
        [[hosts]]
        name = "bad-{i}"
        count = 3
        interval = "10s"
        [[hosts.metrics]]
        name = "hostile"
        update_interval = "10s"
        scenario = "panic"
        scenario_data = { after = 20 }
        [[hosts.metrics]]
        name = "calm"
        value_range = [0, 1000]
        update_interval = "10s"
        scenario = "steady"

        [[hosts]]
        name = "good"
        interval = "10s"
        [[hosts.metrics]]
        name = "up"
        update_interval = "10s"
        scenario = "builtin/sine_wave"
        "#,
    );
    let mut sim = Simulation::new(&fleet, &[builtin(), hostile], 1).unwrap();
    sim.advance_to(at(60.0));
    for index in 1..=3 {
        let host = sim.host_named(&format!("bad-{index}")).unwrap();
        let bad = host.metric("hostile").unwrap();
        // Steps at 0 and 10 s are good; faults at 20, 30 and 50 s (backoff).
        assert_eq!((bad.steps(), bad.faults()), (5, 3), "bad-{index}");
        assert_eq!(bad.value(), 10.0, "bad-{index} holds its last good value");
        let calm = host.metric("calm").unwrap();
        assert_eq!(calm.faults(), 0);
        assert_eq!(calm.value(), 60.0, "the rebuilt group steps on");
    }
    assert_eq!(sim.stats().faults, 9);
    let good = sim.host_named("good").unwrap().metric("up").unwrap();
    assert_eq!((good.steps(), good.faults()), (7, 0));
}

#[test]
fn a_plugin_over_its_cpu_budget_is_throttled_and_the_rest_keeps_its_schedule() {
    // 80 series that each burn a few milliseconds per 1 s step: under the call
    // deadline, but together more than the plugin's 5% of a core. (They listen
    // to an event, so each is stepped on its own, not in one group call.)
    let hostile = hostile_with(Limits {
        cpu_share: 0.05,
        ..Limits::default()
    });
    let mut toml = String::from(
        "[[hosts]]\nname = \"slow-{i:02}\"\ncount = 80\ninterval = \"1s\"\n[[hosts.metrics]]\nname = \"slow\"\nupdate_interval = \"1s\"\nvalue_range = [0, 100]\nscenario = \"slow\"\nscenario_data = { work = 12000000 }\nlisten_events = [\"never\"]\n",
    );
    toml.push_str("[[hosts]]\nname = \"good-{i:03}\"\ncount = 100\ninterval = \"1s\"\n[[hosts.metrics]]\nname = \"wave\"\nupdate_interval = \"2s\"\nscenario = \"builtin/sine_wave\"\n");
    let mut sim = Simulation::new(&config(&toml), &[builtin(), hostile], 1).unwrap();
    let started = std::time::Instant::now();
    sim.advance_to(at(20.0));
    let took = started.elapsed();
    let stats = sim.stats();
    println!("{stats:?} in {took:?}");
    assert!(stats.throttled_steps > 0, "{stats:?}");
    assert_eq!(stats.steps + stats.throttled_steps, 80 * 21 + 100 * 11);
    // The hostile plugin got 0.05 s per virtual second plus its 0.2 s of
    // capacity and a call of debt: about 1.3 s of the 20 s of steps it asked for.
    assert!(took < std::time::Duration::from_secs(4), "{took:?}");
    assert_healthy_on_schedule(&sim, 11);
}

#[test]
fn a_shadowed_scenario_is_still_reachable_by_its_plugin_name() {
    // The hostile fixture offers its own `sine_wave` (it returns elapsed time):
    // unqualified, the plugin loaded last wins; qualified, each runs its own.
    let hostile = hostile();
    let fleet = config(
        r#"
        [[hosts]]
        name = "h"
        interval = "1s"
        [[hosts.metrics]]
        name = "plain"
        value_range = [0, 1000]
        scenario = "sine_wave"
        [[hosts.metrics]]
        name = "pack"
        value_range = [0, 1000]
        scenario = "builtin/sine_wave"
        scenario_data = { period = 40, amplitude = 10, offset = 500 }
        [[hosts.metrics]]
        name = "stem"
        value_range = [0, 1000]
        scenario = "hostile/sine_wave"
        "#,
    );
    let mut sim = Simulation::new(&fleet, &[builtin(), hostile.clone()], 1).unwrap();
    assert_eq!(sim.provider("sine_wave"), Some(hostile.name()));
    assert_eq!(sim.provider("builtin/sine_wave"), Some("builtin"));
    assert_eq!(sim.provider("hostile.wasm/sine_wave"), Some(hostile.name()));
    assert_eq!(sim.provider("square-wave/sine_wave"), None);
    sim.advance_to(at(10.0));
    let host = sim.host_named("h").unwrap();
    assert_eq!(host.metric("plain").unwrap().value(), 10.0);
    assert_eq!(host.metric("stem").unwrap().value(), 10.0);
    let pack = host.metric("pack").unwrap().value();
    assert!(
        (pack - 510.0).abs() < 1e-6,
        "the pack's sine at a quarter period: {pack}"
    );

    let unknown = config(
        "[[hosts]]\nname = \"h\"\n[[hosts.metrics]]\nname = \"m\"\nscenario = \"nobody/sine_wave\"\n",
    );
    let err = Simulation::new(&unknown, &[builtin(), hostile], 1)
        .err()
        .expect("refused")
        .to_string();
    assert!(err.contains("unknown scenario 'nobody/sine_wave'"), "{err}");
}

#[test]
fn a_listener_can_tell_who_really_sent_an_event() {
    let hostile = hostile();
    let fleet = config(
        r#"
        [[hosts]]
        name = "liar"
        interval = "1s"
        [[hosts.metrics]]
        name = "spoofer"
        update_interval = "1s"
        scenario = "spoof"
        scenario_data = { after = 3 }
        [[hosts]]
        name = "honest"
        interval = "1s"
        [[hosts.metrics]]
        name = "toggle"
        value_range = [0, 1]
        update_interval = "1s"
        scenario = "feature_toggle"
        scenario_data = { start_time = 2, duration = 100, interval = 1000, on_event = "go", off_event = "stop" }
        [[hosts]]
        name = "listener"
        interval = "1s"
        [[hosts.metrics]]
        name = "spoofed"
        value_range = [0, 1]
        default_value = 0.5
        update_interval = "1h"
        listen_events = ["load_peak_start"]
        scenario = "whois"
        [[hosts.metrics]]
        name = "genuine"
        value_range = [0, 1]
        default_value = 0.5
        update_interval = "1h"
        listen_events = ["go"]
        scenario = "whois"
        "#,
    );
    let mut sim = Simulation::new(&fleet, &[builtin(), hostile], 1).unwrap();
    sim.advance_to(at(5.0));
    let listener = sim.host_named("listener").unwrap();
    // `spoof` names `someone-else`, but the bus knows it was host `liar`.
    assert_eq!(listener.metric("spoofed").unwrap().value(), 0.0);
    assert_eq!(listener.metric("genuine").unwrap().value(), 1.0);
}

#[test]
fn an_oversized_event_is_dropped_at_emit_and_its_listeners_never_see_it() {
    // A CPU budget that a loaded machine cannot exhaust keeps every step in.
    let hostile = hostile_with(Limits {
        cpu_share: 100.0,
        ..Limits::default()
    });
    let fleet = config(
        r#"
        [[hosts]]
        name = "sender"
        [[hosts.metrics]]
        name = "big"
        update_interval = "1s"
        scenario = "big_event"
        scenario_data = { bytes = 1000000 }
        [[hosts.metrics]]
        name = "fit"
        update_interval = "1s"
        scenario = "big_event"
        scenario_data = { bytes = 65536 }
        [[hosts]]
        name = "ear"
        [[hosts.metrics]]
        name = "heard"
        value_range = [0, 100]
        listen_events = ["big"]
        scenario = "calc_by_event"
        scenario_data = { events_config = { big = "value + 1" } }
        "#,
    );
    let mut sim = Simulation::new(&fleet, &[builtin(), hostile], 1).unwrap();
    sim.advance_to(at(4.5));
    let stats = sim.stats();
    assert_eq!(stats.plugin_events_dropped, 5, "the 1 MB one, every step");
    assert_eq!(stats.events, 5, "the 64 KiB one goes on the bus");
    assert_eq!(
        sim.host_named("ear")
            .unwrap()
            .metric("heard")
            .unwrap()
            .value(),
        5.0
    );
    assert_eq!(sim.plugin_restarts(), 0, "no listener ran out of memory");
}

#[test]
fn snapshots_share_their_texts_until_a_sample_changes() {
    let config = config(
        "[[hosts]]\nname = \"h\"\ninterval = \"1s\"\n[[hosts.metrics]]\nname = \"up\"\nvalue_range = [0, 100]\nupdate_interval = \"1s\"\nscenario = \"time_duration\"\n",
    );
    let mut sim = Simulation::new(&config, &[builtin()], 1).unwrap();
    let mixer = Mixer::new(&sim, "job");
    let options = StatusOptions::default();
    sim.advance_to(at(0.2));
    let first = mixer.snapshot(&sim, &options);
    sim.advance_to(at(0.9));
    let quiet = mixer.snapshot(&sim, &options);
    assert_eq!(
        first.scrape_text.as_ptr(),
        quiet.scrape_text.as_ptr(),
        "no report between them: the same bytes"
    );
    assert_eq!(first.jobs[0].text.as_ptr(), quiet.jobs[0].text.as_ptr());
    assert_ne!(
        first.status.virtual_time, quiet.status.virtual_time,
        "the status moves on"
    );
    sim.advance_to(at(1.0));
    let reported = mixer.snapshot(&sim, &options);
    let text = |snapshot: &promemu::mixer::Snapshot| {
        String::from_utf8(snapshot.scrape_text.to_vec()).unwrap()
    };
    assert!(text(&first).contains("} 0\n"), "{}", text(&first));
    assert!(text(&reported).contains("} 1\n"), "{}", text(&reported));
}

#[test]
fn snapshots_leave_out_what_no_sink_reads_and_reuse_a_status_until_asked() {
    let config = config(
        "[[hosts]]\nname = \"short\"\nttl = 2\ninterval = \"1s\"\n[[hosts.metrics]]\nname = \"up\"\nscenario = \"time_duration\"\n[[hosts]]\nname = \"long\"\ninterval = \"1s\"\n[[hosts.metrics]]\nname = \"up\"\nscenario = \"time_duration\"\n",
    );
    let mut sim = Simulation::new(&config, &[builtin()], 1).unwrap();
    let mixer = Mixer::new(&sim, "job").without_scrape_text();
    sim.advance_to(at(1.0));
    let before = mixer.snapshot(&sim, &StatusOptions::default());
    assert!(before.scrape_text.is_empty(), "no /metrics, no scrape text");
    assert!(!before.jobs[0].text.is_empty(), "the push body is there");
    assert_eq!(before.jobs[0].live_hosts, 2);
    sim.advance_to(at(2.5));
    // A snapshot may carry an older status report; the live hosts are current.
    let after = mixer.snapshot_with_status(&sim, before.status.clone());
    assert_eq!(after.jobs[0].live_hosts, 1, "the short host expired at 2 s");
    assert_eq!(after.status.active_hosts, 2, "the status is the one given");
    assert!(!mixer.status_requests().take());
    after.request_status();
    assert!(
        mixer.status_requests().take(),
        "a reader asked for a fresh report"
    );
    assert!(!mixer.status_requests().take(), "once");
    // A run starts with a status of counts only; a full one lists the hosts.
    let starting = mixer.starting_snapshot(&sim, &StatusOptions::default());
    let full = mixer.snapshot(&sim, &StatusOptions::default());
    let (summary, hosts) = (&starting.status.jobs["job"], &full.status.jobs["job"]);
    assert!(summary.hosts.is_empty() && summary.host_names.is_empty());
    assert_eq!(hosts.host_names, ["short", "long"]);
    assert_eq!(
        (summary.hosts_count, summary.metrics_count),
        (hosts.hosts_count, hosts.metrics_count)
    );
    assert_eq!((summary.hosts_count, summary.metrics_count), (2, 2));
    assert_eq!(starting.status.active_hosts, full.status.active_hosts);
    assert_eq!(starting.status.total_metrics, 2);
}

#[test]
fn a_fleet_spread_over_instances_gives_the_same_bytes_on_one_two_or_three_threads() {
    // 300 hosts x 5 metrics over instances of 400 series, stepped on several
    // threads from the first grouped step: grouped scenarios (sines, walks,
    // draws, trends) beside event listeners stepped on their own.
    let toml = r#"
[[hosts]]
name = "node-{i:03}"
count = 300
interval = "5s"
  [[hosts.metrics]]
  name = "wave"
  update_interval = "5s"
  scenario = "sine_wave"
  scenario_data = { period = 40 }
  [[hosts.metrics]]
  name = "walk"
  update_interval = "5s"
  scenario = "random_walk"
  [[hosts.metrics]]
  name = "draw"
  update_interval = "10s"
  scenario = "random_in_range"
  [[hosts.metrics]]
  name = "trend"
  update_interval = "5s"
  start_time = "10s"
  scenario = "update_by_trend"
  [[hosts.metrics]]
  name = "heard_at"
  value_range = [-1, 1000]
  default_value = -1
  update_interval = "1h"
  listen_events = ["peak_on", "peak_off"]
  scenario = "calc_by_event"
  scenario_data = { events_config = { peak_on = "time", peak_off = "time + 100" } }
[[hosts]]
name = "balancer"
interval = "5s"
  [[hosts.metrics]]
  name = "toggle"
  value_range = [0, 1]
  update_interval = "5s"
  scenario = "feature_toggle"
  scenario_data = { start_time = 10, duration = 20, interval = 100, on_event = "peak_on", off_event = "peak_off" }
"#;
    let config = config(toml);
    let run = |threads| {
        // Built on `threads` threads too: each instance adds its queued
        // members on its own.
        let spread = Spread {
            series_per_instance: 400,
            parallel_from_steps: 1,
            threads,
        };
        let mut sim = Simulation::with_spread(&config, &[builtin()], 7, spread).unwrap();
        let mut outputs = Vec::new();
        for second in [0.0, 5.0, 10.0, 15.0, 30.0, 60.0] {
            sim.advance_to(at(second));
            outputs.push(scrape(&sim));
        }
        (outputs, sim.stats().steps, sim.stats().group_calls)
    };
    let (one, steps, group_calls) = run(1);
    // The fleet spread over several instances, and groups did the stepping.
    let spread = Spread {
        series_per_instance: 400,
        parallel_from_steps: 1,
        threads: 1,
    };
    let instances = Simulation::with_spread(&config, &[builtin()], 7, spread)
        .unwrap()
        .plugin_usage()
        .iter()
        .map(|usage| usage.instances)
        .sum::<usize>();
    assert!(instances >= 4, "{instances} instances");
    assert!(group_calls >= 4 * 12, "{group_calls} group calls");
    assert!(steps > 300 * 40, "{steps} steps");
    assert!(one[3].contains("heard_at{"), "{}", &one[3][..200]);
    assert!(
        one[5].contains(" 130\n"),
        "the peak's end was heard at 30 s"
    );
    for threads in [2, 3] {
        let (outputs, other_steps, _) = run(threads);
        assert_eq!(other_steps, steps, "{threads} threads");
        for (index, (a, b)) in one.iter().zip(&outputs).enumerate() {
            assert!(a == b, "{threads} threads: snapshot {index} differs");
        }
    }
}
