//! Replays ahead of the wall clock: the OpenMetrics history of `backfill` and
//! the values of `preview`, through the real built-in pack.

use std::collections::{BTreeMap, HashMap};

use promemu::mixer::Mixer;
use promemu::replay::history::{History, Origin, Written};
use promemu::replay::preview::Preview;
use promemu::replay::replay;
use promemu::sim::{Simulation, VirtualTime};

use promemu::configs::load_toml_text;
use promemu::model::MixerConfig;

use crate::harness::{at, builtin, config};

/// 2026-11-29T00:00:00Z
const ORIGIN: Origin = Origin(1_795_910_400_000);

/// The peaks config (its TOML twin), with hosts that live `ttl`.
fn peaks(ttl: &str) -> MixerConfig {
    let file = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../configs/hosts_load_with_peaks.toml"
    );
    let text = std::fs::read_to_string(file).unwrap();
    let mut config = load_toml_text(file, &text, &[("hosts_ttl".into(), ttl.into())]).unwrap();
    for host in &mut config.hosts {
        host.fill_identity(1);
    }
    config
}

/// Backfills `span` of `config` (seed 3), spilling past `spill_bytes`, as
/// `promemu backfill` does (respawned hosts' series take their new labels).
fn backfill(config: &MixerConfig, span: VirtualTime, spill_bytes: usize) -> (String, Written) {
    let mut sim = Simulation::new(config, &[builtin()], 3).unwrap();
    let mut mixer = Mixer::new(&sim, "job");
    let mut history =
        History::new(mixer.scrape_exposition(), &sim, ORIGIN).with_spill_bytes(spill_bytes);
    history.reserve_for(span, &sim);
    replay(
        &mut sim,
        span,
        |sim, journal| {
            let respawned = mixer.follow_respawns(sim);
            history.relabel(mixer.scrape_exposition(), sim, &respawned)?;
            history.record(sim, journal)
        },
        |_, _| {},
    )
    .unwrap();
    let mut out = Vec::new();
    let written = history.write(&mut out).unwrap();
    (String::from_utf8(out).unwrap(), written)
}

/// Per series (the line up to its value), the timestamps of its lines, in order.
fn timestamps(text: &str) -> HashMap<&str, Vec<f64>> {
    let mut series: HashMap<&str, Vec<f64>> = HashMap::new();
    for line in text.lines().filter(|line| !line.starts_with('#')) {
        let mut fields = line.rsplitn(3, ' ');
        let time: f64 = fields.next().unwrap().parse().unwrap();
        let _value = fields.next().unwrap();
        series.entry(fields.next().unwrap()).or_default().push(time);
    }
    series
}

#[test]
fn a_backfill_is_the_same_whether_its_samples_spill_to_disk_or_not() {
    let config = peaks("1h");
    let span = at(1800.0);
    let (kept, in_memory) = backfill(&config, span, usize::MAX);
    let (spilled, on_disk) = backfill(&config, span, 64 << 10);
    assert_eq!(in_memory.spills, 0);
    assert!(on_disk.spills > 5, "{on_disk:?}");
    assert_eq!(kept, spilled);
    assert_eq!(in_memory.samples, on_disk.samples);
    assert_eq!(in_memory.bytes as usize, kept.len());
}

#[test]
fn a_replay_says_when_every_host_ended_before_its_span_did() {
    let replayed = |ttl: &str, span: f64| {
        let mut sim = Simulation::new(&peaks(ttl), &[builtin()], 3).unwrap();
        replay(&mut sim, at(span), |_, _| Ok::<_, ()>(()), |_, _| {}).unwrap()
    };
    let short = replayed("5m", 1800.0);
    assert!(short.hosts_ended_early, "{short:?}");
    assert_eq!(short.reached, at(300.0), "{short:?}");
    for (ttl, span) in [("1h", 1800.0), ("30m", 1800.0)] {
        let stats = replayed(ttl, span);
        assert!(!stats.hosts_ended_early, "ttl {ttl}: {stats:?}");
        assert_eq!(stats.reached, at(span), "ttl {ttl}: {stats:?}");
    }
}

#[test]
fn a_backfill_is_openmetrics_in_family_series_and_time_order() {
    let (text, written) = backfill(&peaks("10m"), at(1800.0), usize::MAX);
    assert!(text.ends_with("# EOF\n"));
    // A counter's family drops `_total`; histograms and gauges keep their names.
    assert!(text.contains("# TYPE http_requests counter\nhttp_requests_total{"));
    assert!(text.contains("# TYPE http_response_time_seconds histogram\n"));
    assert!(text.contains("# TYPE cpu_usage_percent gauge\n"));
    // Each family once, each series' lines together and strictly in time order
    // (a step for an event and one for the schedule at one instant are one sample).
    let types: Vec<&str> = text
        .lines()
        .filter(|line| line.starts_with("# TYPE"))
        .collect();
    let mut unique = types.clone();
    unique.dedup();
    assert_eq!(types, unique);
    // A histogram's lines of one instant go together (bucket, bucket, ... sum,
    // count), so the emulator's series is the line without suffix and `le`.
    let emulator_series = |line: &str| {
        let key = line.rsplitn(3, ' ').nth(2).unwrap();
        let (name, labels) = key.split_once('{').unwrap();
        let name = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| name.strip_suffix(suffix))
            .unwrap_or(name);
        let labels = labels.split(",le=").next().unwrap().trim_end_matches('}');
        format!("{name}{{{labels}")
    };
    let mut seen_series = Vec::new();
    for line in text.lines().filter(|line| !line.starts_with('#')) {
        let key = emulator_series(line);
        if seen_series.last() != Some(&key) {
            assert!(!seen_series.contains(&key), "{key} is split");
            seen_series.push(key);
        }
    }
    let series = timestamps(&text);
    let start = ORIGIN.0 as f64 / 1000.0;
    for (key, times) in &series {
        assert!(
            times.windows(2).all(|pair| pair[0] < pair[1]),
            "{key}: {times:?}"
        );
        // Hosts live 10 minutes; a sample every 5 s from 0 s.
        assert_eq!(times[0], start, "{key}");
        assert!(
            *times.last().unwrap() < start + 600.0,
            "{key} outlives its host"
        );
        assert!(times.len() >= 119, "{key}: {} samples", times.len());
    }
    assert_eq!(
        written.samples as usize,
        series.values().map(Vec::len).sum::<usize>()
    );
    // The cpu of a worker follows the peak: above 70 in a peak, below 40 out of it.
    let cpu = text.lines().filter(|line| {
        line.starts_with("cpu_usage_percent{") && line.contains("name=\"worker-01\"")
    });
    let value_at = |second: f64| {
        cpu.clone()
            .find(|line| line.ends_with(&format!(" {}", start + second)))
            .and_then(|line| line.rsplit(' ').nth(1))
            .map(|value| value.parse::<f64>().unwrap())
            .unwrap()
    };
    assert!(value_at(150.0) > 70.0, "{}", value_at(150.0));
    assert!(value_at(220.0) < 40.0, "{}", value_at(220.0));
}

/// Each series' lines of `text` (keyed by the line up to its value) as
/// (timestamp, value) pairs, in order.
fn lines_by_series(text: &str) -> BTreeMap<String, Vec<(String, f64)>> {
    let mut series: BTreeMap<String, Vec<(String, f64)>> = BTreeMap::new();
    for line in text.lines().filter(|line| !line.starts_with('#')) {
        let mut fields = line.rsplitn(3, ' ');
        let time = fields.next().unwrap().to_string();
        let value: f64 = fields.next().unwrap().parse().unwrap();
        series
            .entry(fields.next().unwrap().to_string())
            .or_default()
            .push((time, value));
    }
    series
}

/// One family stepped at 10 s by some hosts and at 15 s by others (which
/// series step changes from instant to instant), hosts that respawn every 40 s
/// with new labels, and a counter.
fn churning_fleet() -> MixerConfig {
    config(
        r#"
        [[hosts]]
        name = "fast-{i}"
        count = 3
        interval = "10s"
        [[hosts.metrics]]
        name = "load"
        value_range = [0, 100]
        default_value = 50
        update_interval = "10s"
        scenario = "random_walk"

        [[hosts]]
        name = "slow-{i}"
        count = 2
        ttl = "40s"
        respawn = true
        interval = "15s"
        [[hosts.metrics]]
        name = "load"
        value_range = [0, 100]
        default_value = 50
        update_interval = "15s"
        scenario = "sine_wave"
        [[hosts.metrics]]
        name = "requests_total"
        kind = "counter"
        value_range = [0, 10]
        update_interval = "15s"
        scenario = "random_in_range"
        "#,
    )
}

#[test]
fn a_backfill_writes_every_step_the_simulation_took_and_nothing_else() {
    let config = churning_fleet();
    let span = at(600.0);
    // What the simulation stepped, read from its journal: per series (as
    // labelled at the time) each instant's last value.
    let mut expected: BTreeMap<String, Vec<(String, f64)>> = BTreeMap::new();
    let mut sim = Simulation::new(&config, &[builtin()], 3).unwrap();
    let mut mixer = Mixer::new(&sim, "job");
    replay(
        &mut sim,
        span,
        |sim, journal| {
            mixer.follow_respawns(sim);
            let seconds = (ORIGIN.0 + sim.now().as_millis()) / 1000;
            for step in &journal.stepped {
                let view = sim.series_view(step.series);
                let labels = mixer.scrape_exposition().labels_of(step.series).unwrap();
                let key = format!("{}{{{labels}}}", view.metric().name);
                let lines = expected.entry(key).or_default();
                match lines.last_mut() {
                    Some(last) if last.0 == seconds.to_string() => last.1 = step.value,
                    _ => lines.push((seconds.to_string(), step.value)),
                }
            }
            Ok::<_, std::convert::Infallible>(())
        },
        |_, _| {},
    )
    .unwrap();
    let (text, written) = backfill(&config, span, usize::MAX);
    let (spilled, on_disk) = backfill(&config, span, 512);
    assert!(on_disk.spills > 3, "{on_disk:?}");
    assert_eq!(text, spilled);
    let got = lines_by_series(&text);
    // 3 fast hosts, and 2 slow ones with 16 lives (seed 3) of 2 series each;
    // the emulator counts a series once however often its host respawns.
    assert_eq!(got.len(), 3 + 2 * 2 * 16, "{:?}", got.keys());
    assert_eq!(written.series, 3 + 2 * 2);
    for (key, lines) in &expected {
        let written_lines = &got[key];
        assert_eq!(written_lines.len(), lines.len(), "{key}");
        for ((time, value), (want_time, want)) in written_lines.iter().zip(lines) {
            assert_eq!(time, want_time, "{key}");
            assert_eq!(value.to_bits(), want.to_bits(), "{key} at {time}");
        }
    }
    assert_eq!(got.len(), expected.len());
    // The fast hosts' 61 samples (0, 10, ..., 600 s); the slow hosts' 1 to 3
    // per life (a sample every 15 s of a life of 40 s).
    for (key, lines) in &got {
        if key.contains("fast-") {
            assert_eq!(lines.len(), 61, "{key}");
        } else {
            assert!((1..=3).contains(&lines.len()), "{key}: {lines:?}");
        }
    }
}

/// A preview of every metric of `config` (seed 3) over `span`, and the
/// simulation at its end.
fn previewed(config: &MixerConfig, span: VirtualTime) -> (Simulation, Preview) {
    let mut sim = Simulation::new(config, &[builtin()], 3).unwrap();
    let mut preview = Preview::new(&sim, span, None).unwrap();
    replay(
        &mut sim,
        span,
        |sim, journal| preview.record(sim, journal),
        |_, _| {},
    )
    .unwrap();
    (sim, preview)
}

#[test]
fn a_preview_keeps_every_metric_and_the_events_that_moved_them() {
    let config = peaks("1h");
    let span = at(600.0);
    let (sim, preview) = previewed(&config, span);
    let lines = preview.sparklines();
    for metric in [
        "load_peak_active",
        "cpu_usage_percent",
        "http_requests_total",
    ] {
        assert!(lines.contains(&format!("\n{metric}")), "{lines}");
    }
    // Peaks start at 60 s and every 3 min, the balancer says so on the bus.
    assert!(
        lines.contains("1m 0.0s  load_peak_start from")
            || lines.contains("60.0s  load_peak_start from"),
        "{lines}"
    );
    assert!(lines.contains("worker-09"));
    let only = Preview::new(&sim, span, Some("nope"))
        .unwrap_err()
        .to_string();
    assert!(
        only.contains("no metric named 'nope'") && only.contains("cpu_usage_percent"),
        "{only}"
    );
}

#[test]
fn a_preview_breaks_a_line_where_its_host_respawned() {
    let config = churning_fleet();
    let span = at(600.0);
    let (_, preview) = previewed(&config, span);
    let lines = preview.sparklines();
    // 16 lives in 600 s (seed 3), so 15 respawns; hosts that never respawn
    // keep their name alone.
    assert!(lines.contains("slow-1 (respawned 15 times)"), "{lines}");
    assert!(lines.contains("slow-2 (respawned 15 times)"), "{lines}");
    assert!(lines.contains("  fast-1  "), "{lines}");
    let folder = tempfile::tempdir().unwrap();
    let chart = folder.path().join("churn.svg");
    preview.draw(&chart).unwrap();
    let svg = std::fs::read_to_string(&chart).unwrap();
    assert!(svg.contains("slow-1 (respawned 15 times)"));
    // One path per life: 3 fast lines, and 2 hosts x 16 lives in the `load` panel.
    let polylines = svg.matches("<polyline").count();
    assert!(polylines >= 3 + 2 * 16, "{polylines} polylines");
}

#[test]
fn respawned_hosts_step_only_their_current_series_in_groups() {
    // Hosts that respawn every 40 s leave their groups and join them again:
    // only their current series step (the journal has every step taken).
    let (sim, stepped) = stepped_seconds(&churning_fleet(), 600);
    assert!(sim.stats().respawns >= 28, "{:?}", sim.stats());
    assert_eq!(sim.stats().steps, stepped.len() as u64, "{:?}", sim.stats());
    // The fast hosts' walks: a step every 10 s for 600 s. The slow hosts'
    // series: 3 steps in each life of 40 s (15 lives, and a 16th born at
    // 600 s), the two hosts' together, one call per scenario.
    assert_eq!(
        sim.stats().group_calls,
        61 + (15 * 3 + 1) * 2,
        "{:?}",
        sim.stats()
    );
}

/// `config` run second by second up to `until`, and the virtual seconds at
/// which its series stepped (from the journal), one entry a step.
fn stepped_seconds(config: &MixerConfig, until: u32) -> (Simulation, Vec<u32>) {
    let mut sim = Simulation::new(config, &[builtin()], 3).unwrap();
    sim.keep_journal();
    let mut seconds = Vec::new();
    for second in 0..=until {
        sim.advance_to(at(f64::from(second)));
        for _ in sim.swap_journal(Default::default()).stepped {
            seconds.push(second);
        }
    }
    (sim, seconds)
}

/// A host that respawns every `ttl` and reports every 10 s, with one
/// `random_walk` series at 10 s that starts `start` seconds into each life and
/// listens to `listen` (TOML strings; none: it steps in a group).
fn short_lived_host(ttl: &str, start: u32, listen: &str) -> MixerConfig {
    config(&format!(
        r#"
        [[hosts]]
        name = "short"
        ttl = "{ttl}"
        respawn = true
        interval = "10s"
        [[hosts.metrics]]
        name = "walk"
        update_interval = "10s"
        scenario = "random_walk"
        start_time = {start}
        listen_events = [{listen}]
        "#
    ))
}

/// The instants up to 100 s at which a host that lives 25 s steps or reports
/// every 10 s from each birth.
const EVERY_10S_OF_25S_LIVES: [u32; 13] = [0, 10, 20, 25, 35, 45, 50, 60, 70, 75, 85, 95, 100];

#[test]
fn a_respawned_host_starts_each_life_afresh_with_one_chain_of_steps() {
    // A series stepped on its own (it listens to an event) of a host that
    // lives 25 s: each life steps every 10 s from its birth, once (before, the
    // chains of earlier lives went on beside the new one's).
    let single = short_lived_host("25s", 0, "\"nothing\"");
    assert_eq!(stepped_seconds(&single, 100).1, EVERY_10S_OF_25S_LIVES);
    // A series that starts 30 s into a life of 20 s never starts: no life
    // reaches it (before, an earlier life's start activated a later life).
    let late = short_lived_host("20s", 30, "");
    assert_eq!(stepped_seconds(&late, 100).1, Vec::<u32>::new());
}

#[test]
fn a_grouped_series_steps_when_one_stepped_on_its_own_would() {
    // The same host twice: its series stepped in a group (it listens to no
    // event) and on its own. Both step from each life's activation (birth plus
    // start time) every 10 s. Before, the group kept the grid of the first
    // life, and a group whose members had all stopped never stepped again.
    // (TTL, start time, run until, steps); the third life of 45 s activates
    // at 120 s, its fifth at 210 s.
    for (ttl, start, until, expected) in [
        ("25s", 0, 100, &EVERY_10S_OF_25S_LIVES[..]),
        ("45s", 30, 200, &[30, 40, 75, 85, 120, 130, 165, 175][..]),
    ] {
        let (grouped, grouped_steps) = stepped_seconds(&short_lived_host(ttl, start, ""), until);
        let single = short_lived_host(ttl, start, "\"nothing\"");
        let (_, single_steps) = stepped_seconds(&single, until);
        assert_eq!(grouped_steps, expected, "ttl {ttl}, grouped");
        assert_eq!(single_steps, expected, "ttl {ttl}, single");
        assert!(grouped.stats().group_calls > 0, "{:?}", grouped.stats());
    }
}

#[test]
fn a_respawned_host_reports_on_one_chain_from_each_birth() {
    // A host that lives 25 s and reports every 10 s: each life reports from its
    // birth, once per interval (an earlier life's chain, at 30 s say, is not
    // this life's and is dropped).
    let host = short_lived_host("25s", 0, "");
    let mut sim = Simulation::new(&host, &[builtin()], 3).unwrap();
    let mut reported = Vec::new();
    for second in 0..=100 {
        let now = at(f64::from(second));
        sim.advance_to(now);
        if sim.hosts().next().unwrap().reported_at() == Some(now) {
            reported.push(second);
        }
    }
    assert_eq!(reported, EVERY_10S_OF_25S_LIVES);
}
