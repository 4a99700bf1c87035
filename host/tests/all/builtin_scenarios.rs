//! Every built-in scenario, through the real Wasm path, with fixed seeds and
//! virtual time.

use std::f64::consts::TAU;

use promemu::plugin::{LinkedValue, PluginError};

use crate::harness::{Series, builtin, gauge, spec};

const ALL: [&str; 12] = [
    "do_nothing",
    "random_in_range",
    "time_duration",
    "sine_wave",
    "update_by_trend",
    "random_walk",
    "variety_selection",
    "feature_toggle",
    "switch_scenario_by_events",
    "relay_to_other_metric",
    "calc_by_event",
    "load_peak_cpu",
];

#[test]
fn the_pack_lists_all_twelve_scenarios_with_parameters() {
    let scenarios = builtin().instantiate(0).unwrap().list_scenarios().unwrap();
    let names: Vec<&str> = scenarios.iter().map(|info| info.name.as_str()).collect();
    assert_eq!(names, ALL);
    let sine = scenarios
        .iter()
        .find(|info| info.name == "sine_wave")
        .unwrap();
    let params: Vec<(&str, &str)> = sine
        .params
        .iter()
        .map(|param| (param.name.as_str(), param.default_value.as_str()))
        .collect();
    assert_eq!(
        params,
        [
            ("period", "300.0"),
            ("amplitude", "50.0"),
            ("offset", "50.0"),
            ("phase_offset", "0.0")
        ]
    );
    assert!(scenarios.iter().all(|info| !info.description.is_empty()));
}

#[test]
fn do_nothing_keeps_the_value() {
    let mut series = Series::builtin("do_nothing", "", gauge(0.0, 100.0, 42.0));
    assert_eq!(series.run(5), [42.0; 5]);
}

#[test]
fn random_in_range_respects_the_metric_range_and_its_own() {
    let mut series = Series::builtin("random_in_range", "", gauge(10.0, 20.0, 15.0));
    let values = series.run(2000);
    assert!(values.iter().all(|value| (10.0..20.0).contains(value)));
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    assert!((mean - 15.0).abs() < 0.3, "mean {mean}");

    let mut narrow = Series::builtin(
        "random_in_range",
        r#"{"value_range": [2, 3]}"#,
        gauge(0.0, 100.0, 0.0),
    );
    assert!(
        narrow
            .run(500)
            .iter()
            .all(|value| (2.0..3.0).contains(value))
    );
}

#[test]
fn time_duration_counts_seconds_since_the_first_step() {
    let mut series = Series::builtin("time_duration", "", gauge(0.0, 1e9, 0.0));
    assert_eq!(series.step(5.0), 0.0);
    assert_eq!(series.step(20.0), 15.0);
    assert_eq!(series.step(65.5), 60.5);
}

#[test]
fn sine_wave_has_the_given_period_amplitude_offset_and_phase() {
    let params = r#"{"period": 60, "amplitude": 20, "offset": 50, "phase_offset": 0.5}"#;
    let mut series = Series::builtin("sine_wave", params, gauge(0.0, 100.0, 50.0));
    let values = series.run(181);
    for (second, value) in values.iter().enumerate() {
        let expected = 50.0 + 20.0 * (TAU * second as f64 / 60.0 + 0.5).sin();
        assert!(
            (value - expected).abs() < 1e-9,
            "t={second}: {value} vs {expected}"
        );
    }
    for second in 0..120 {
        assert!(
            (values[second] - values[second + 60]).abs() < 1e-9,
            "periodic at {second}"
        );
    }
    let max = values.iter().cloned().fold(f64::MIN, f64::max);
    let min = values.iter().cloned().fold(f64::MAX, f64::min);
    assert!(
        (max - 70.0).abs() < 0.1 && (min - 30.0).abs() < 0.1,
        "{min}..{max}"
    );
}

#[test]
fn sine_wave_is_clamped_to_the_metric_range() {
    let mut series = Series::builtin("sine_wave", r#"{"amplitude": 80}"#, gauge(0.0, 100.0, 50.0));
    let values = series.run(300);
    assert!(values.iter().all(|value| (0.0..=100.0).contains(value)));
    assert!(values.contains(&100.0) && values.contains(&0.0));
}

#[test]
fn update_by_trend_is_monotone_for_up_and_down_and_steps_within_step_range() {
    let mut up = Series::builtin(
        "update_by_trend",
        r#"{"trend": "up", "step_range": [0.5, 2]}"#,
        gauge(0.0, 1000.0, 0.0),
    );
    let values = up.run(200);
    for pair in values.windows(2) {
        let step = pair[1] - pair[0];
        assert!(
            (0.5..=2.0).contains(&step) || pair[1] == 1000.0,
            "up step {step}"
        );
    }
    let mut down = Series::builtin(
        "update_by_trend",
        r#"{"trend": "down"}"#,
        gauge(0.0, 1000.0, 1000.0),
    );
    let values = down.run(400);
    assert!(values.windows(2).all(|pair| pair[1] <= pair[0]));
    assert_eq!(*values.last().unwrap(), 0.0, "clamped at the floor");

    let mut hold = Series::builtin("update_by_trend", "", gauge(0.0, 100.0, 50.0));
    let values = hold.run(400);
    assert!(
        values.windows(2).any(|pair| pair[1] > pair[0])
            && values.windows(2).any(|pair| pair[1] < pair[0])
    );
}

#[test]
fn random_walk_stays_in_range_and_reverts_to_the_default() {
    let mut walk = Series::builtin("random_walk", "", gauge(0.0, 100.0, 50.0));
    let values = walk.run(2000);
    assert!(values.iter().all(|value| (0.0..=100.0).contains(value)));
    assert!(
        values
            .windows(2)
            .all(|pair| (pair[1] - pair[0]).abs() <= 5.0 + 50.0 * 0.1 + 1e-9)
    );

    let mut snap = Series::builtin(
        "random_walk",
        r#"{"max_step": 0, "reversion": 1}"#,
        gauge(0.0, 100.0, 30.0),
    );
    snap.value = 90.0;
    assert_eq!(snap.step(0.0), 30.0);
}

#[test]
fn variety_selection_frequencies_follow_the_weights() {
    let params = r#"{"values": [100, 75, 50, 25], "varieties": [0.7, 0.2, 0.08, 0.02], "change_probability": 1.0}"#;
    let mut series = Series::builtin("variety_selection", params, gauge(0.0, 100.0, 100.0));
    let values = series.run(20_000);
    for (value, weight) in [(100.0, 0.7), (75.0, 0.2), (50.0, 0.08), (25.0, 0.02)] {
        let share = values.iter().filter(|v| **v == value).count() as f64 / values.len() as f64;
        assert!(
            (share - weight).abs() < 0.015,
            "{value}: {share} vs {weight}"
        );
    }

    let sticky = r#"{"values": [1, 2], "change_probability": 0.1}"#;
    let mut series = Series::builtin("variety_selection", sticky, gauge(0.0, 10.0, 0.0));
    let values = series.run(2000);
    let changes = values.windows(2).filter(|pair| pair[0] != pair[1]).count();
    // A new choice every ~10 steps, which keeps the old value half the time.
    assert!((60..140).contains(&changes), "{changes} changes");
}

#[test]
fn feature_toggle_switches_on_time_and_emits_its_events_with_its_source() {
    let params = r#"{"start_time": 10, "duration": 20, "interval": 5, "on_value": 7, "off_value": 1,
                     "source": "lb-1", "on_event": "load_peak_start", "off_event": "load_peak_end"}"#;
    let mut series = Series::builtin("feature_toggle", params, gauge(0.0, 10.0, 0.0));
    let mut emitted = Vec::new();
    for second in 0..70 {
        let output = series.step_full(second as f64, None, &[]);
        let expected_on = (10..30).contains(&second) || (35..55).contains(&second) || second >= 60;
        assert_eq!(
            series.value,
            if expected_on { 7.0 } else { 1.0 },
            "t={second}"
        );
        for event in output.events {
            assert_eq!(event.source.as_deref(), Some("lb-1"));
            emitted.push((second, event.name));
        }
    }
    let expected: Vec<(i32, String)> = [
        (10, "load_peak_start"),
        (30, "load_peak_end"),
        (35, "load_peak_start"),
        (55, "load_peak_end"),
        (60, "load_peak_start"),
    ]
    .into_iter()
    .map(|(second, name)| (second, name.to_string()))
    .collect();
    assert_eq!(emitted, expected);

    let mut defaults = Series::builtin("feature_toggle", "", gauge(0.0, 1.0, 0.0));
    let names: Vec<String> = (0..100)
        .flat_map(|second| defaults.step_full(second as f64, None, &[]).events)
        .map(|event| event.name)
        .collect();
    assert_eq!(names, ["feature_on", "feature_off"]);
}

#[test]
fn switch_follows_the_event_and_falls_back_after_duration() {
    let params = r#"{
        "events_config": {"incident_start": {"scenario": "sine_wave",
            "scenario_data": {"amplitude": 10, "offset": 80, "period": 40}, "duration": 30}},
        "default_scenario": "random_in_range",
        "default_scenario_data": {"value_range": [10, 30]}}"#;
    let mut series = Series::builtin("switch_scenario_by_events", params, gauge(0.0, 100.0, 20.0));
    for second in 0..20 {
        assert!((10.0..30.0).contains(&series.step(second as f64)));
    }
    // The event starts the sine afresh: elapsed counts from the event.
    assert!((series.step_event(20.0, "incident_start") - 80.0).abs() < 1e-9);
    for second in 21..50 {
        let expected = 80.0 + 10.0 * (TAU * (second - 20) as f64 / 40.0).sin();
        assert!(
            (series.step(second as f64) - expected).abs() < 1e-9,
            "t={second}"
        );
    }
    for second in 50..80 {
        assert!(
            (10.0..30.0).contains(&series.step(second as f64)),
            "back to default at {second}"
        );
    }
    // An event the config does not name changes nothing.
    assert!((10.0..30.0).contains(&series.step_event(80.0, "other")));
}

#[test]
fn relay_tracks_its_source_through_the_expression() {
    let params =
        r#"{"source_metric_name": "memory_bytes", "calc_function": "source / 1024 * 100 / 64"}"#;
    let mut series = Series::builtin("relay_to_other_metric", params, gauge(0.0, 100.0, 0.0));
    assert_eq!(series.instance.links(series.id).unwrap(), ["memory_bytes"]);
    for source in [0.0, 16.0, 32.0, 64.0, 128.0] {
        let links = [LinkedValue {
            name: "memory_bytes".into(),
            value: source * 1024.0,
        }];
        series.step_full(1.0, None, &links);
        assert!(
            (series.value - (source * 100.0 / 64.0).min(100.0)).abs() < 1e-9,
            "source {source}"
        );
    }
    // Without its source it keeps the value.
    let before = series.value;
    assert_eq!(series.step(2.0), before);
}

#[test]
fn calc_by_event_applies_the_matching_handler_per_event() {
    let params = r#"{"events_config": {
        "worker_started": "value + 1",
        "worker_stopped": "max(0, value - 1)",
        "scale_up": "value + 5",
        "scale_down": "max(0, value - 3)",
        "reset": "default",
        "reroll": {"scenario": "random_in_range", "scenario_data": {"value_range": [40, 41]}}}}"#;
    let mut series = Series::builtin("calc_by_event", params, gauge(0.0, 50.0, 2.0));
    assert_eq!(series.step(0.0), 2.0, "no event keeps the value");
    assert_eq!(series.step_event(1.0, "worker_started"), 3.0);
    assert_eq!(series.step_event(2.0, "scale_up"), 8.0);
    assert_eq!(series.step_event(3.0, "scale_down"), 5.0);
    assert_eq!(series.step_event(4.0, "worker_stopped"), 4.0);
    assert_eq!(series.step_event(5.0, "unrelated"), 4.0);
    for _ in 0..20 {
        series.step_event(6.0, "scale_up");
    }
    assert_eq!(series.value, 50.0, "clamped to the range");
    assert_eq!(series.step_event(7.0, "reset"), 2.0);
    assert!((40.0..41.0).contains(&series.step_event(8.0, "reroll")));
}

#[test]
fn load_peak_cpu_rises_during_a_peak_and_falls_after() {
    let mut series = Series::builtin("load_peak_cpu", r#"{"noise": 2}"#, gauge(0.0, 100.0, 15.0));
    let idle: Vec<f64> = (0..20).map(|second| series.step(second as f64)).collect();
    assert!(
        idle.iter().all(|value| (10.0..=20.0).contains(value)),
        "{idle:?}"
    );
    series.step_event(20.0, "load_peak_start");
    let peak: Vec<f64> = (21..40).map(|second| series.step(second as f64)).collect();
    assert!(peak[5..].iter().all(|value| *value > 80.0), "{peak:?}");
    series.step_event(40.0, "load_peak_end");
    let after: Vec<f64> = (41..60).map(|second| series.step(second as f64)).collect();
    assert!(after[5..].iter().all(|value| *value < 22.0), "{after:?}");
}

#[test]
fn bad_parameters_are_refused_with_what_was_expected() {
    let mut instance = builtin().instantiate(0).unwrap();
    let mut refuse = |scenario: &str, params: &str| match instance.create_series(spec(
        scenario,
        params,
        gauge(0.0, 100.0, 0.0),
    )) {
        Err(PluginError::Rejected { message, .. }) => message,
        other => panic!("{scenario} {params}: expected a refusal, got {other:?}"),
    };
    assert_eq!(
        refuse("sine_wave", r#"{"amplitud": 3}"#),
        "sine_wave: unknown parameter 'amplitud'; expected one of: period, amplitude, offset, phase_offset"
    );
    assert_eq!(
        refuse("sine_wave", r#"{"period": "fast"}"#),
        "sine_wave: parameter 'period' must be a number, got \"fast\""
    );
    assert_eq!(
        refuse("sine_wave", r#"{"period": 0}"#),
        "sine_wave: parameter 'period' must be greater than 0, got 0"
    );
    assert!(refuse("sine_wave", "[1, 2]").contains("parameters must be an object"));
    assert!(refuse("sine_wave", "{oops").contains("not valid JSON"));
    assert!(
        refuse("no_such_scenario", "")
            .starts_with("unknown scenario 'no_such_scenario'; this pack offers: do_nothing,")
    );
    assert!(
        refuse("update_by_trend", r#"{"trend": "sideways"}"#).contains("'up', 'down' or 'hold'")
    );
    assert!(
        refuse(
            "variety_selection",
            r#"{"values": [1, 2], "varieties": [1]}"#
        )
        .contains("one weight per value")
    );
    assert!(refuse("relay_to_other_metric", "").contains("'source_metric_name' is required"));
    assert!(
        refuse(
            "relay_to_other_metric",
            r#"{"source_metric_name": "a", "calc_function": "sorce * 2"}"#
        )
        .contains("unknown variable 'sorce'")
    );
    assert!(
        refuse("calc_by_event", r#"{"events_config": {"e": "value +"}}"#)
            .contains("expression 'value +'")
    );
    assert!(
        refuse("switch_scenario_by_events", r#"{"events_config": {"e": {"scenario": "sine_wave", "scenario_data": {"period": -1}}}}"#)
            .contains("events_config.e: sine_wave: parameter 'period' must be greater than 0")
    );
    assert!(refuse("random_in_range", r#"{"value_range": [5, 1]}"#).contains("low <= high"));
}

#[test]
fn same_seed_same_outputs_other_seed_other_outputs() {
    let plugin = builtin();
    let run = |seed: u64| {
        let mut values = Vec::new();
        for scenario in [
            "random_in_range",
            "random_walk",
            "update_by_trend",
            "variety_selection",
            "load_peak_cpu",
        ] {
            let mut series = Series::new(&plugin, seed, scenario, "", gauge(0.0, 100.0, 50.0));
            values.extend(series.run(50));
        }
        values
    };
    let first = run(42);
    assert_eq!(first, run(42));
    assert_ne!(first, run(43));
}

#[test]
fn each_series_draws_from_its_own_stream() {
    let plugin = builtin();
    let mut instance = plugin.instantiate(1).unwrap();
    let mut ids = Vec::new();
    for key in ["job/a/cpu", "job/b/cpu"] {
        let mut spec = spec("random_in_range", "", gauge(0.0, 1.0, 0.0));
        spec.stream_key = key.into();
        ids.push(instance.create_series(spec).unwrap());
    }
    let input = promemu::plugin::StepInput {
        time: 0.0,
        elapsed: 0.0,
        value: 0.0,
        event: None,
        links: Vec::new(),
    };
    let a: Vec<f64> = (0..5)
        .map(|_| instance.step(ids[0], input.clone()).unwrap().value.unwrap())
        .collect();
    let b: Vec<f64> = (0..5)
        .map(|_| instance.step(ids[1], input.clone()).unwrap().value.unwrap())
        .collect();
    assert_ne!(a, b);
    // Interleaving does not change a stream: a fresh instance stepping only "a" agrees.
    let mut alone = plugin.instantiate(1).unwrap();
    let mut spec = spec("random_in_range", "", gauge(0.0, 1.0, 0.0));
    spec.stream_key = "job/a/cpu".into();
    let id = alone.create_series(spec).unwrap();
    let a_alone: Vec<f64> = (0..5)
        .map(|_| alone.step(id, input.clone()).unwrap().value.unwrap())
        .collect();
    assert_eq!(a, a_alone);
}
