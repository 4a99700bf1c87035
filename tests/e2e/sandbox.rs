//! The sandbox's bars, checked on the binary: next to plugins that attack it
//! (CPU, blocking WASI sleeps, spinning and nested spinning, oversized events,
//! memory hogs, forged log lines, overflowing totals), a healthy built-in series
//! keeps its 1 s schedule on `/metrics`, the run's memory stays within the plugins'
//! caps, and `--duration` and SIGTERM end the run on time.

use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

use crate::services::{
    fixtures_dir, free_port, get, resident_kib, send_signal, spawn_promemu, wait_for,
};

/// Every attack at once, with the hold policy so they go on every second, and
/// stepped one by one in this order (each listens to an event, so none is put in
/// a group, whose step would come later in the instant), and
/// the healthy series last (it steps after the attackers at each instant). The
/// 80 slow series come after the other attacks: what those leave of the hostile
/// plugin's CPU budget, they use up.
const ATTACKS: &str = r#"
[[hosts]]
name = "attacker"
interval = "1s"
[[hosts.metrics]]
name = "big_sender"
update_interval = "1s"
scenario = "big_event"
scenario_data = { bytes = 1000000 }
[[hosts.metrics]]
name = "forger"
update_interval = "1s"
scenario = "forge"
[[hosts.metrics]]
name = "overflow_total"
kind = "counter"
value_range = [0, 1.7976931348623157e308]
update_interval = "1s"
scenario = "overflow"
listen_events = ["never"]
[[hosts.metrics]]
name = "sleeper"
update_interval = "1s"
scenario = "sleep"
[[hosts.metrics]]
name = "spinner"
update_interval = "1s"
scenario = "spin"
listen_events = ["never"]
[[hosts.metrics]]
name = "nested_spinner"
update_interval = "1s"
scenario = "switch_scenario_by_events"
scenario_data = { default_scenario = "spin" }
[[hosts.metrics]]
name = "hog"
update_interval = "1s"
scenario = "hog"
listen_events = ["never"]
[[hosts.metrics]]
name = "nested_hog"
update_interval = "1s"
scenario = "nest"
scenario_data = { inner = "hog" }
[[hosts.metrics]]
name = "cascade"
update_interval = "1s"
scenario = "cascade"
scenario_data = { work = 20000000 }
listen_events = ["cascade"]
[[hosts.metrics]]
name = "big_listener"
listen_events = ["big"]
scenario = "switch_scenario_by_events"
scenario_data = { events_config = { big = "do_nothing" } }

[[hosts]]
name = "slow-{i:02}"
count = 80
interval = "1s"
[[hosts.metrics]]
name = "slow"
update_interval = "1s"
scenario = "slow"
scenario_data = { work = 32000000 }
listen_events = ["never"]

[[hosts]]
name = "healthy"
interval = "1s"
[[hosts.metrics]]
name = "uptime"
value_range = [0, 100000]
update_interval = "1s"
scenario = "time_duration"
"#;

/// The three plugins' memory caps (64 MiB each by default) plus 100 MB.
const RSS_BOUND_KIB: u64 = 3 * 64 * 1024 + 100 * 1000;

fn start(config: &Path, listen: &str, duration: Option<&str>, log: &Path) -> Child {
    let hostile = fixtures_dir().join("hostile.wasm");
    let wasi = fixtures_dir().join("wasi-escape.wasm");
    let mut args = vec![
        "--config",
        config.to_str().unwrap(),
        "--plugin",
        hostile.to_str().unwrap(),
        "--plugin",
        wasi.to_str().unwrap(),
        "--fault-policy",
        "hold",
        "--no-push",
        "--listen",
        listen,
    ];
    if let Some(duration) = duration {
        args.extend(["--duration", duration]);
    }
    spawn_promemu(&args, log)
}

/// The healthy series' value in a scrape.
fn uptime(metrics: &str) -> Option<f64> {
    metrics
        .lines()
        .find(|line| line.starts_with("uptime{"))
        .and_then(|line| line.rsplit(' ').next()?.parse().ok())
}

#[test]
fn a_healthy_series_keeps_its_schedule_beside_every_attack_and_the_run_ends_on_time() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("attacks.toml");
    std::fs::write(&config, ATTACKS).unwrap();
    let log = dir.path().join("log");
    let listen = format!("127.0.0.1:{}", free_port());
    let mut child = start(&config, &listen, Some("5s"), &log);
    let url = format!("http://{listen}/metrics");
    let log_text = || std::fs::read_to_string(&log).unwrap_or_default();
    wait_for(Duration::from_secs(30), || get(&url))
        .unwrap_or_else(|| panic!("serves /metrics: {}", log_text()));
    let serving = Instant::now();

    // Scrape every 100 ms: when did the healthy value change, how big did we get.
    let mut changes: Vec<Instant> = Vec::new();
    let mut last = None;
    let mut peak_kib = 0;
    let mut overflow_line = String::new();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if serving.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            panic!("--duration 5s still running after 20 s: {}", log_text());
        }
        peak_kib = peak_kib.max(resident_kib(child.id()));
        if let Some(text) = get(&url) {
            let value = uptime(&text);
            if value.is_some() && value != last {
                changes.push(Instant::now());
                last = value;
            }
            if let Some(line) = text.lines().find(|line| line.starts_with("overflow_total")) {
                overflow_line = line.to_string();
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let ended = serving.elapsed();
    let log_text = log_text();
    assert!(status.success(), "{log_text}");
    let gaps: Vec<Duration> = changes.windows(2).map(|pair| pair[1] - pair[0]).collect();
    let longest = gaps.iter().max().copied().unwrap_or_default();
    println!(
        "healthy series: {} changes, longest gap {longest:?}; peak RSS {peak_kib} KiB; ended {ended:?} after serving",
        changes.len()
    );
    assert!(changes.len() >= 4, "{changes:?}\n{log_text}");
    assert!(
        longest <= Duration::from_millis(1500),
        "{gaps:?}\n{log_text}"
    );
    assert!(peak_kib < RSS_BOUND_KIB, "{peak_kib} KiB");
    // --duration 5s ends within 7 s of start-up, whatever the plugins do.
    assert!(ended < Duration::from_secs(7), "{ended:?}");

    // Each attack met its bound, and said so in the log.
    for expected in [
        "over its CPU budget",
        "event 'big' dropped at emit: its payload has 1000000 bytes (at most 65536)",
        // The memory cap, or on a busy machine the deadline, stops the hogs
        // (the cap itself is shown in the runtime's and simulation's tests).
        "trapped in step of attacker/hog: ",
        "ok\\n2026-01-01T00:00:00Z  INFO promemu: forged line \\u{1b}[31mred",
        "total would overflow; it starts again from 1.7976931348623157e308 (a counter reset)",
    ] {
        assert!(log_text.contains(expected), "'{expected}' in:\n{log_text}");
    }
    assert!(
        !log_text.lines().any(|line| line.starts_with("2026-01-01")),
        "no forged line: {log_text}"
    );
    assert!(
        overflow_line.ends_with("e308") && !overflow_line.contains("Inf"),
        "{overflow_line}"
    );
}

#[test]
fn sigterm_ends_a_run_of_attacks_within_the_cleanup_limit() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("attacks.toml");
    std::fs::write(&config, ATTACKS).unwrap();
    let log = dir.path().join("log");
    let listen = format!("127.0.0.1:{}", free_port());
    let mut child = start(&config, &listen, None, &log);
    let url = format!("http://{listen}/metrics");
    wait_for(Duration::from_secs(30), || get(&url)).expect("serves /metrics");
    std::thread::sleep(Duration::from_secs(3));
    let sent = Instant::now();
    send_signal("-TERM", &child);
    let status = wait_for(Duration::from_secs(11), || child.try_wait().unwrap());
    let log_text = std::fs::read_to_string(&log).unwrap();
    let status = status.unwrap_or_else(|| {
        let _ = child.kill();
        panic!("still running 11 s after SIGTERM: {log_text}")
    });
    println!("stopped {:?} after SIGTERM", sent.elapsed());
    assert_eq!(status.code(), Some(0), "{log_text}");
}

#[test]
fn check_names_the_plugin_behind_each_scenario_and_warns_of_shadowing() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("waves.toml");
    std::fs::write(
        &config,
        "[[hosts]]\nname = \"h\"\n[[hosts.metrics]]\nname = \"theirs\"\nscenario = \"sine_wave\"\n[[hosts.metrics]]\nname = \"ours\"\nscenario = \"builtin/sine_wave\"\n",
    )
    .unwrap();
    let hostile = fixtures_dir().join("hostile.wasm");
    let hostile = hostile.to_str().unwrap();
    let output = std::process::Command::new(crate::services::promemu())
        .args([
            "--check",
            "--config",
            config.to_str().unwrap(),
            "--plugin",
            hostile,
        ])
        .env("PME_CACHE_DIR", "off")
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    assert!(output.status.success(), "{stderr}");
    assert!(
        stdout.contains(&format!(
            "scenarios: builtin/sine_wave x1 (builtin), sine_wave x1 ({hostile})"
        )),
        "{stdout}"
    );
    assert!(
        stderr.contains(&format!(
            "WARN/Plugin: scenario sine_wave of {hostile} shadows the one of builtin: unqualified, 'sine_wave' now runs {hostile}'s (write 'builtin/sine_wave' for the other)"
        )),
        "{stderr}"
    );
}
