//! End-to-end: the `promemu` binary against a real Pushgateway and a real
//! Prometheus, all on loopback ports.

mod authoring;
mod live_page;
mod registry;
mod remote_write;
mod sandbox;
mod services;
mod stack;
mod time_travel;
mod unreliable;

use std::time::{Duration, Instant};

use serde_json::Value;

use services::{
    configs_dir, get, label_values, prometheus, pushgateway, pushgateway_series, send_signal,
    spawn_promemu, wait_for,
};

/// Evaluates `query` at the current time; (labels, value) per result series.
fn instant_query(prometheus: &services::Service, query: &str) -> Vec<(Value, f64)> {
    query_at(prometheus, query, None)
}

/// Evaluates `query` at `time` (Unix seconds; now when `None`); (labels,
/// value) per result series.
fn query_at(prometheus: &services::Service, query: &str, time: Option<f64>) -> Vec<(Value, f64)> {
    let at = time.map_or_else(String::new, |time| format!("&time={time}"));
    let url = format!(
        "{}/api/v1/query?query={}{at}",
        prometheus.url,
        urlencode(query)
    );
    let body: Value = serde_json::from_str(&get(&url).unwrap_or_default()).unwrap_or(Value::Null);
    body["data"]["result"]
        .as_array()
        .map(|results| {
            results
                .iter()
                .map(|result| {
                    (
                        result["metric"].clone(),
                        result["value"][1]
                            .as_str()
                            .unwrap_or("NaN")
                            .parse()
                            .unwrap_or(f64::NAN),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                (byte as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

#[test]
fn peaks_reach_prometheus_through_the_pushgateway_and_are_cleaned_up() {
    let gateway = pushgateway();
    let target = gateway.url.trim_start_matches("http://").to_string();
    let prometheus = prometheus(&target);
    let log = tempfile::NamedTempFile::new().unwrap();
    let started = Instant::now();
    let mut child = spawn_promemu(
        &[
            "--config",
            "hosts_load_with_peaks",
            "--config-args",
            "hosts_count=3",
            "hosts_ttl=20",
            "update_interval=1s",
            "report_interval=1s",
            "peak_start=4s",
            "peak_duration=6s",
            "peak_interval=100s",
            "--pushgateway-url",
            &gateway.url,
            "--push-interval",
            "1",
            "--duration",
            "30s",
            "--default-job-name",
            "e2e_peaks",
            "--no-listen",
            "--seed",
            "11",
        ],
        log.path(),
    );

    // While running: series for 4 hosts in the group.
    let hosts = wait_for(Duration::from_secs(10), || {
        let names = label_values(&pushgateway_series(&gateway, "e2e_peaks"), "name");
        (names.len() == 4).then_some(names)
    })
    .unwrap_or_else(|| {
        panic!(
            "4 hosts never appeared: {}",
            std::fs::read_to_string(log.path()).unwrap()
        )
    });
    assert_eq!(hosts, ["balancer-1", "worker-01", "worker-02", "worker-03"]);

    // Prometheus sees the workers' CPU with their labels and job.
    let workers = wait_for(Duration::from_secs(15), || {
        let results = instant_query(&prometheus, "cpu_usage_percent");
        (results.len() == 3).then_some(results)
    })
    .expect("Prometheus scraped three workers' CPU");
    for (labels, _) in &workers {
        assert_eq!(labels["job"], "e2e_peaks");
        assert_eq!(labels["role"], "worker");
        assert_eq!(labels["environment"], "stage");
        assert!(
            labels["host"]
                .as_str()
                .unwrap()
                .starts_with("stress.worker-0")
        );
        assert!(labels["address"].as_str().unwrap().starts_with("192.168."));
    }

    // The peak runs from 4 s to 10 s of the run: CPU rises, then falls.
    std::thread::sleep(Duration::from_secs(17).saturating_sub(started.elapsed()));
    let during = instant_query(
        &prometheus,
        "min(max_over_time(cpu_usage_percent[6s] @ end()))",
    );
    let peak_max = instant_query(&prometheus, "min(max_over_time(cpu_usage_percent[12s]))");
    let after = instant_query(&prometheus, "max(cpu_usage_percent)");
    let log_text = std::fs::read_to_string(log.path()).unwrap();
    assert!(
        peak_max.first().is_some_and(|(_, value)| *value > 70.0),
        "peak {peak_max:?} {during:?}\n{log_text}"
    );
    assert!(
        after.first().is_some_and(|(_, value)| *value < 30.0),
        "after {after:?}\n{log_text}"
    );

    // Every host has a 20 s TTL: the run ends by itself and cleans up its group.
    let status = child.wait().unwrap();
    assert!(
        status.success(),
        "{status}\n{}",
        std::fs::read_to_string(log.path()).unwrap()
    );
    assert!(
        started.elapsed() < Duration::from_secs(28),
        "ended when the hosts expired, not at --duration"
    );
    assert!(
        pushgateway_series(&gateway, "e2e_peaks").is_empty(),
        "cleanup_on_finish removed the group"
    );
    let log_text = std::fs::read_to_string(log.path()).unwrap();
    for expected in [
        "INFO/main: Loading configuration: <hosts_load_with_peaks>",
        "Job <e2e_peaks>: 4 hosts",
        "Stopping: every host reached its TTL",
        "Cleaned up job <e2e_peaks>",
    ] {
        assert!(
            log_text.contains(expected),
            "log lacks '{expected}':\n{log_text}"
        );
    }
}

#[test]
fn a_host_leaves_its_group_at_its_ttl_while_others_stay() {
    let gateway = pushgateway();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("ttl.toml");
    std::fs::write(
        &config,
        r#"
        default_job_name = "e2e_ttl"
        [[hosts]]
        name = "short-lived"
        ttl = "3s"
        interval = "1s"
        job_name = "e2e_ttl"
        [[hosts.metrics]]
        name = "uptime_seconds"
        value_range = [0, 1000]
        update_interval = "1s"
        scenario = "time_duration"

        [[hosts]]
        name = "long-lived"
        ttl = "1h"
        interval = "1s"
        job_name = "e2e_ttl"
        [[hosts.metrics]]
        name = "uptime_seconds"
        value_range = [0, 1000]
        update_interval = "1s"
        scenario = "time_duration"
        "#,
    )
    .unwrap();
    let log = dir.path().join("log");
    let mut child = spawn_promemu(
        &[
            "--config",
            config.to_str().unwrap(),
            "--pushgateway-url",
            &gateway.url,
            "--push-interval",
            "0.5",
            "--duration",
            "8s",
            "--no-listen",
        ],
        &log,
    );
    wait_for(Duration::from_secs(5), || {
        (label_values(&pushgateway_series(&gateway, "e2e_ttl"), "name").len() == 2).then_some(())
    })
    .expect("both hosts pushed");
    let left = wait_for(Duration::from_secs(8), || {
        let names = label_values(&pushgateway_series(&gateway, "e2e_ttl"), "name");
        (names == ["long-lived"]).then_some(names)
    });
    assert!(
        left.is_some(),
        "the short-lived host left: {}",
        std::fs::read_to_string(&log).unwrap()
    );
    assert!(child.wait().unwrap().success());
    assert!(pushgateway_series(&gateway, "e2e_ttl").is_empty());
}

#[test]
fn the_toml_twin_and_single_host_load_run_end_to_end() {
    let gateway = pushgateway();
    let dir = tempfile::tempdir().unwrap();
    for (config, job, hosts) in [
        (
            "hosts_load_with_peaks.toml",
            "e2e_twin",
            vec!["balancer-1", "worker-01", "worker-02"],
        ),
        ("single_host_load", "e2e_single", vec!["single-host"]),
    ] {
        let log = dir.path().join(job);
        let configs = configs_dir();
        let mut args = vec![
            "--config",
            config,
            "--configs-dir",
            configs.to_str().unwrap(),
            "--pushgateway-url",
            &gateway.url,
            "--push-interval",
            "0.5",
            "--duration",
            "4s",
            "--default-job-name",
            job,
            "--no-listen",
        ];
        if config.starts_with("hosts_load") {
            args.extend(["--config-args", "hosts_count=2"]);
        }
        let mut child = spawn_promemu(&args, &log);
        let seen = wait_for(Duration::from_secs(6), || {
            let names = label_values(&pushgateway_series(&gateway, job), "name");
            (names == hosts).then_some(names)
        });
        assert!(
            seen.is_some(),
            "{config}: {}",
            std::fs::read_to_string(&log).unwrap()
        );
        assert!(child.wait().unwrap().success(), "{config}");
        assert!(
            pushgateway_series(&gateway, job).is_empty(),
            "{config} cleaned up"
        );
    }
}

#[test]
fn without_a_pushgateway_it_warns_and_serves_metrics_locally() {
    let port = services::free_port();
    let dead = services::free_port();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let listen = format!("127.0.0.1:{port}");
    let mut child = spawn_promemu(
        &[
            "--pushgateway-url",
            &format!("http://127.0.0.1:{dead}"),
            "--push-interval",
            "1",
            "--duration",
            "4s",
            "--listen",
            &listen,
        ],
        &log,
    );
    let scraped = wait_for(Duration::from_secs(8), || {
        let text = get(&format!("http://{listen}/metrics"))?;
        let lines: Vec<String> = text
            .lines()
            .filter(|line| line.starts_with("cpu_usage_percent{"))
            .map(String::from)
            .collect();
        (lines.len() == 9).then_some(text)
    })
    .unwrap_or_else(|| {
        panic!(
            "default run serves 9 workers' CPU: {}",
            std::fs::read_to_string(&log).unwrap()
        )
    });
    let names = label_values(
        &scraped
            .lines()
            .filter(|line| !line.starts_with('#'))
            .map(String::from)
            .collect::<Vec<_>>(),
        "name",
    );
    assert_eq!(names.len(), 10, "10 hosts' series: {names:?}");
    let status: Value =
        serde_json::from_str(&get(&format!("http://{listen}/status")).unwrap()).unwrap();
    assert_eq!(status["total_hosts"], 10);
    assert!(child.wait().unwrap().success());
    let log_text = std::fs::read_to_string(&log).unwrap();
    // One warning at start says it all; the pushers' first failures add nothing,
    // and no cleanup is attempted for groups that never reached it.
    let lines_with = |text: &str| log_text.lines().filter(|line| line.contains(text)).count();
    assert_eq!(
        lines_with("WARN/main: The Pushgateway is not reachable on start"),
        1,
        "{log_text}"
    );
    assert!(
        log_text.contains("tcp connect error: Connection refused")
            && !log_text.contains("error sending request"),
        "the cause, without the client's wrapper layers: {log_text}"
    );
    assert!(
        (1..=2).contains(&lines_with(
            "WARN/main: Push of job <hosts_load_with_peaks_"
        )),
        "{log_text}"
    );
    assert_eq!(lines_with("Cannot clean up"), 0, "{log_text}");
    assert_eq!(
        lines_with("reached the Pushgateway: nothing to clean up"),
        1,
        "{log_text}"
    );
}

#[test]
fn bad_input_exits_with_status_two_and_says_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[[hosts]]\nname = \"h\"\ninterval = -1\n[[hosts.metrics]]\nname = \"cpu usage\"\nvalue_range = [10, 1]\n").unwrap();
    let write = |name: &str, bytes: &[u8]| {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    };
    let core = write("core.wasm", &wat::parse_str("(module)").unwrap());
    let component = std::fs::read(services::fixtures_dir().join("square-wave.wasm")).unwrap();
    let truncated = write("truncated.wasm", &component[..component.len() / 3]);
    let future = write(
        "future.wasm",
        &wat::parse_file(services::fixtures_dir().join("future-contract.wat")).unwrap(),
    );
    let liar = write(
        "liar.wasm",
        &wat::parse_file(services::fixtures_dir().join("wrong-types.wat")).unwrap(),
    );
    let hostile = services::fixtures_dir().join("hostile.wasm");
    let spin_create = write(
        "spin.toml",
        b"[[hosts]]\nname = \"h\"\n[[hosts.metrics]]\nname = \"m\"\nscenario = \"spin_create\"\n",
    );
    let huge_toml = write(
        "huge.toml",
        b"push_interval = 1e300\n[plugin_limits.builtin]\ncall_deadline = 1e300\n[[hosts]]\nname = \"h\"\n[[hosts.metrics]]\nname = \"m\"\n",
    );
    let huge_error = write(
        "huge_error.toml",
        b"[[hosts]]\nname = \"h\"\n[[hosts.metrics]]\nname = \"m\"\nscenario = \"huge_error\"\n",
    );
    let sawtooth = write(
        "saw.toml",
        b"[[hosts]]\nname = \"h\"\n[[hosts.metrics]]\nname = \"m\"\nscenario = \"sawtooth\"\n",
    );
    let broken = dir.path().join("broken.toml");
    std::fs::write(&broken, "[[hosts]]\nname = \"h\"\ninterval = \"soon\"\n").unwrap();
    let inspected = std::process::Command::new(services::promemu())
        .args(["plugin", "inspect", future.to_str().unwrap()])
        .env("PME_CACHE_DIR", "off")
        .output()
        .unwrap();
    assert_eq!(inspected.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&inspected.stdout).contains("contract: does not fit"));
    assert!(
        String::from_utf8_lossy(&inspected.stderr).contains("targets contract version 2.0.0"),
        "{}",
        String::from_utf8_lossy(&inspected.stderr)
    );
    let empty = dir.path().join("empty.wasm");
    let componentized = std::process::Command::new(services::promemu())
        .args(["plugin", "componentize", core.to_str().unwrap(), "-o"])
        .arg(&empty)
        .output()
        .unwrap();
    assert_eq!(componentized.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&componentized.stderr).contains("exports neither"),
        "{}",
        String::from_utf8_lossy(&componentized.stderr)
    );
    assert!(!empty.exists(), "nothing written");
    for (args, expected) in [
        (
            vec!["--config", bad.to_str().unwrap()],
            "host 'h', field 'interval': must be a number of seconds greater than 0",
        ),
        (
            vec!["--config", bad.to_str().unwrap()],
            "host 'h', metric 'cpu usage': is not a valid Prometheus metric name",
        ),
        (
            vec!["--config", bad.to_str().unwrap()],
            "field 'value_range': must be [min, max] with min <= max, got [10, 1]",
        ),
        (
            vec!["--config", broken.to_str().unwrap()],
            "broken.toml: TOML parse error at line 3, column 12",
        ),
        (
            vec!["--config", "no_such_config"],
            "no config named 'no_such_config'; available: hosts_load_with_peaks",
        ),
        (
            vec!["--config-args", "hosts_count=0"],
            "hosts_load_with_peaks: parameter 'hosts_count' must be at least 1",
        ),
        (
            vec!["--config-args", "bogus=1"],
            "unknown parameter 'bogus'; expected one of: hosts_count, hosts_ttl",
        ),
        (
            vec!["--push-interval", "0"],
            "invalid value '0' for '--push-interval <PUSH_INTERVAL>': expected a time greater than 0",
        ),
        (
            vec!["--push-interval", "2e19"],
            "invalid value '2e19' for '--push-interval <PUSH_INTERVAL>': expected at most 3155760000 seconds (100 years)",
        ),
        (
            vec!["--duration", "1e300"],
            "invalid value '1e300' for '--duration <DURATION>': expected at most",
        ),
        (
            vec!["--call-deadline", "1e300"],
            "invalid value '1e300' for '--call-deadline <CALL_DEADLINE>': expected at most",
        ),
        (
            vec!["--status-interval", "1e300"],
            "invalid value '1e300' for '--status-interval <STATUS_INTERVAL>': expected at most",
        ),
        (
            vec!["--config", huge_toml.to_str().unwrap()],
            "field 'push_interval': must be at most 3155760000 seconds (100 years), got 1e300",
        ),
        (
            vec!["--config", huge_toml.to_str().unwrap()],
            "plugin_limits.\"builtin\", field 'call_deadline': must be at most",
        ),
        (
            vec!["--plugin-cpu-share", "0"],
            "expected a share of one core greater than 0",
        ),
        (
            vec![
                "--config",
                huge_error.to_str().unwrap(),
                "--plugin",
                hostile.to_str().unwrap(),
            ],
            "more bytes) (plugin ",
        ),
        (
            vec!["--plugin", sawtooth.to_str().unwrap()],
            "it is text, not WebAssembly; a config file goes to --config, not --plugin",
        ),
        (
            vec!["--config", sawtooth.to_str().unwrap()],
            "config 'saw': host 'h', metric 'm', field 'scenario': unknown scenario 'sawtooth'",
        ),
        (
            vec!["--config", sawtooth.to_str().unwrap()],
            "(a scenario of another plugin needs --plugin FILE; `promemu scenarios --plugin FILE` lists a file's)",
        ),
        (
            vec!["--class", "NopeConfig"],
            "--class NopeConfig matches no builder",
        ),
        (
            vec!["--plugin", "/nonexistent.wasm"],
            "cannot read plugin /nonexistent.wasm",
        ),
        (
            vec!["--plugin", core.to_str().unwrap()],
            "is a core WebAssembly module; turn it into a component",
        ),
        (
            vec!["--plugin", truncated.to_str().unwrap()],
            "could not be compiled",
        ),
        (
            vec!["--plugin", future.to_str().unwrap()],
            "targets contract version 2.0.0, this host implements 0.1.2",
        ),
        (
            vec!["--plugin", liar.to_str().unwrap()],
            "with types that do not match the contract",
        ),
        (
            vec![
                "--config",
                spin_create.to_str().unwrap(),
                "--plugin",
                hostile.to_str().unwrap(),
                "--call-deadline",
                "20ms",
            ],
            "host 'h', metric 'm': plugin",
        ),
    ] {
        let output = std::process::Command::new(services::promemu())
            .args(&args)
            .args(["--no-push", "--no-listen", "--duration", "1s"])
            .env("PME_CACHE_DIR", "off")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        // A plugin's message is cut short and cannot forge lines of its own.
        assert!(stderr.len() < 4096, "{args:?}: {} bytes", stderr.len());
        assert_eq!(
            stderr.matches(expected).count(),
            1,
            "{args:?}: expected '{expected}' once in:\n{stderr}"
        );
    }
}

fn wait_exit(child: &mut std::process::Child, limit: Duration) -> Option<std::process::ExitStatus> {
    wait_for(limit, || child.try_wait().unwrap())
}

#[test]
fn a_signal_stops_cleanly_and_a_second_one_at_once() {
    let gateway = pushgateway();
    let dir = tempfile::tempdir().unwrap();
    for (signal, job) in [("-TERM", "e2e_sigterm"), ("-INT", "e2e_sigint")] {
        let log = dir.path().join(job);
        let mut child = spawn_promemu(
            &[
                "--config-args",
                "hosts_count=1",
                "--pushgateway-url",
                &gateway.url,
                "--push-interval",
                "0.5",
                "--default-job-name",
                job,
                "--no-listen",
            ],
            &log,
        );
        wait_for(Duration::from_secs(8), || {
            (!pushgateway_series(&gateway, job).is_empty()).then_some(())
        })
        .expect("pushed");
        send_signal(signal, &child);
        let status =
            wait_exit(&mut child, Duration::from_secs(10)).expect("stops within the cleanup limit");
        let log_text = std::fs::read_to_string(&log).unwrap();
        assert_eq!(status.code(), Some(0), "{signal}: {log_text}");
        assert!(
            log_text.contains(&format!("Stopping: received SIG{}", &signal[1..])),
            "{log_text}"
        );
        assert!(
            pushgateway_series(&gateway, job).is_empty(),
            "{signal}: cleaned up"
        );
    }

    // A Pushgateway that hangs makes the cleanup slow; a second signal cuts it short.
    let log = dir.path().join("forced");
    let mut child = spawn_promemu(
        &[
            "--config-args",
            "hosts_count=1",
            "--pushgateway-url",
            &gateway.url,
            "--push-interval",
            "5",
            "--default-job-name",
            "e2e_forced",
            "--no-listen",
        ],
        &log,
    );
    wait_for(Duration::from_secs(8), || {
        (!pushgateway_series(&gateway, "e2e_forced").is_empty()).then_some(())
    })
    .expect("pushed");
    let pid = gateway.pid().to_string();
    std::process::Command::new("kill")
        .args(["-STOP", &pid])
        .status()
        .unwrap();
    send_signal("-TERM", &child);
    std::thread::sleep(Duration::from_millis(700));
    assert!(
        child.try_wait().unwrap().is_none(),
        "still cleaning up against the frozen Pushgateway: {}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    let second = Instant::now();
    send_signal("-TERM", &child);
    let status = wait_exit(&mut child, Duration::from_secs(3)).expect("exits at once");
    std::process::Command::new("kill")
        .args(["-CONT", &pid])
        .status()
        .unwrap();
    assert!(second.elapsed() < Duration::from_secs(2));
    assert_eq!(
        status.code(),
        Some(143),
        "{}",
        std::fs::read_to_string(&log).unwrap()
    );
}

#[test]
fn scenarios_and_inspect_describe_the_plugins() {
    let fixture = services::fixtures_dir().join("square-wave.wasm");
    let output = std::process::Command::new(services::promemu())
        .args(["scenarios", "--plugin", fixture.to_str().unwrap()])
        .env("PME_CACHE_DIR", "off")
        .output()
        .unwrap();
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(
        text.starts_with("builtin (12 scenarios; promemu-builtin 0.1.0, sha256:"),
        "{text}"
    );
    for scenario in [
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
    ] {
        assert!(
            text.contains(&format!("\n  {scenario}\n")),
            "{scenario} listed:\n{text}"
        );
    }
    assert!(
        text.contains("      - period = 300.0: cycle length in seconds (> 0)"),
        "{text}"
    );
    assert!(
        text.contains("square-wave.wasm (3 scenarios; no name, sha256:")
            && text.contains("\n  coin_flip\n"),
        "{text}"
    );
    let flag_first = std::process::Command::new(services::promemu())
        .args(["--plugin", fixture.to_str().unwrap(), "scenarios"])
        .env("PME_CACHE_DIR", "off")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8(flag_first.stdout).unwrap(),
        text,
        "--plugin before the subcommand works the same"
    );
    let misplaced = std::process::Command::new(services::promemu())
        .args(["--config", "single_host_load", "scenarios"])
        .env("PME_CACHE_DIR", "off")
        .output()
        .unwrap();
    assert_eq!(misplaced.status.code(), Some(2));
    assert!(
        String::from_utf8(misplaced.stderr)
            .unwrap()
            .contains("--config applies to an emulation run, not to the 'scenarios' command"),
        "a run flag with a subcommand is refused, not ignored"
    );

    let output = std::process::Command::new(services::promemu())
        .args([
            "plugin",
            "inspect",
            services::fixtures_dir()
                .join("wasi-escape.wasm")
                .to_str()
                .unwrap(),
        ])
        .env("PME_CACHE_DIR", "off")
        .output()
        .unwrap();
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.contains("kind: component"), "{text}");
    assert!(
        text.contains("promemu:plugin/host@0.1.2: log-level, random, log"),
        "{text}"
    );
    assert!(text.contains("wasi:filesystem/preopens@0.2"), "{text}");
    assert!(text.contains("\ndigest: sha256:"), "{text}");
    let builtin = std::process::Command::new(services::promemu())
        .args(["plugin", "inspect"])
        .arg(services::repository().join("plugins/prebuilt/builtin.wasm"))
        .env("PME_CACHE_DIR", "off")
        .output()
        .unwrap();
    let builtin = String::from_utf8(builtin.stdout).unwrap();
    assert!(
        builtin.contains(
            "\nname: promemu-builtin\nversion: 0.1.0\ndescription: The built-in scenario pack"
        ) && builtin.contains("\nlicenses: MIT OR Apache-2.0\ndigest: sha256:"),
        "{builtin}"
    );
    assert!(
        text.contains(
            "contract: scenarios yes, config builders no, WASI imported (linked deny-all)"
        ),
        "{text}"
    );
}

#[test]
fn cleanup_on_finish_can_be_turned_off_from_the_command_line() {
    let gateway = pushgateway();
    let log = tempfile::NamedTempFile::new().unwrap();
    let mut child = spawn_promemu(
        &[
            "--config",
            "single_host_load",
            "--pushgateway-url",
            &gateway.url,
            "--push-interval",
            "0.5",
            "--default-job-name",
            "e2e_kept",
            "--cleanup-on-finish=false",
            "--debug",
            "--duration",
            "3s",
            "--no-listen",
        ],
        log.path(),
    );
    assert!(child.wait().unwrap().success());
    let text = std::fs::read_to_string(log.path()).unwrap();
    assert!(
        !pushgateway_series(&gateway, "e2e_kept").is_empty(),
        "the group stays after exit: {text}"
    );
    assert!(
        !text.contains("Cleaned up job <e2e_kept> in the Pushgateway on finish"),
        "{text}"
    );
    assert!(
        text.contains("DEBUG/"),
        "--debug alone turns debug lines on: {text}"
    );
}

#[test]
fn a_config_is_named_by_part_of_its_name_or_by_an_alias() {
    // The issue's bar: a short run of `--config peaks`.
    let status = std::process::Command::new(services::promemu())
        .args([
            "--config",
            "peaks",
            "--no-push",
            "--no-listen",
            "--duration",
            "3s",
        ])
        .env("PME_CACHE_DIR", "off")
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let check = |config: &str| {
        std::process::Command::new(services::promemu())
            .args(["--check", "--seed", "1", "--config", config])
            .env("PME_CACHE_DIR", "off")
            .output()
            .unwrap()
    };
    for (typed, meant) in [
        ("peaks", "hosts_load_with_peaks"),
        ("PEAKS", "hosts_load_with_peaks"),
        ("demo", "hosts_load_with_peaks"),
        ("single", "single_host_load"),
        ("host-load", "single_host_load"),
    ] {
        let output = check(typed);
        let text = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{typed}");
        assert!(
            text.contains(&format!("Config <{meant}> is valid")),
            "{typed}: {text}"
        );
    }
    let ambiguous = check("load");
    assert_eq!(ambiguous.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&ambiguous.stderr).contains(
            "config name 'load' is ambiguous: it is part of hosts_load_with_peaks, single_host_load"
        ),
        "{}",
        String::from_utf8_lossy(&ambiguous.stderr)
    );
    let listed = std::process::Command::new(services::promemu())
        .arg("--list-configs")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&listed.stdout).contains("(also: peaks, demo)"));
}

#[test]
fn check_validates_a_config_without_running_it() {
    let check = |args: &[&str]| {
        std::process::Command::new(services::promemu())
            .arg("--check")
            .args(args)
            .env("PME_CACHE_DIR", "off")
            .output()
            .unwrap()
    };
    let output = check(&["--config-args", "hosts_count=3", "--seed", "5"]);
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    for part in [
        "Config <hosts_load_with_peaks> is valid (seed 5): 4 hosts, 16 series",
        ": 4 hosts\n",
        "scenarios: feature_toggle x1 (builtin), load_peak_cpu x9 (builtin), random_in_range x6 (builtin)",
        "listened events (series): load_peak_end x9, load_peak_start x9",
        "plugin builtin: 16 series on 1 instance (6 stepped in 2 groups), ",
        "groups of different instances are stepped on up to ",
        "pack builtin: promemu-builtin 0.1.0, sha256:",
        " (embedded)\n",
    ] {
        assert!(text.contains(part), "'{part}' in:\n{text}");
    }
    let refused = check(&["--config-args", "hosts_count=0"]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(refused.stdout.is_empty());

    // A builder plugin offering several builders: --class picks one (the
    // original's class names are accepted), and without it the run is refused.
    let builders = configs_dir().join("builders.wasm");
    let builders = builders.to_str().unwrap();
    let picked = check(&["--config", builders, "--class", "SingleHostLoadConfig"]);
    assert!(picked.status.success());
    let text = String::from_utf8(picked.stdout).unwrap();
    assert!(
        text.starts_with("Config <single_host_load> is valid"),
        "{text}"
    );
    let ambiguous = check(&["--config", builders]);
    assert_eq!(ambiguous.status.code(), Some(2));
    let stderr = String::from_utf8(ambiguous.stderr).unwrap();
    assert!(
        stderr.contains("offers several builders (hosts_load_with_peaks, single_host_load); choose one with --class"),
        "{stderr}"
    );
}

#[test]
fn packs_are_found_on_the_plugin_path_and_refused_when_their_pin_differs() {
    let dir = tempfile::tempdir().unwrap();
    let packs = dir.path().join("packs");
    let user_packs = dir.path().join("home/.local/share/promemu/plugins");
    std::fs::create_dir_all(&packs).unwrap();
    std::fs::create_dir_all(&user_packs).unwrap();
    let fixture = std::fs::read(services::fixtures_dir().join("square-wave.wasm")).unwrap();
    std::fs::write(packs.join("square-wave.wasm"), &fixture).unwrap();
    std::fs::write(user_packs.join("mine.wasm"), &fixture).unwrap();
    let promemu = |args: &[&str]| {
        std::process::Command::new(services::promemu())
            .args(args)
            .env("PME_CACHE_DIR", "off")
            .env("PME_PLUGIN_PATH", &packs)
            .env("HOME", dir.path().join("home"))
            .env_remove("XDG_DATA_HOME")
            .output()
            .unwrap()
    };
    // By name: on PME_PLUGIN_PATH, then in the per-user folder.
    for name in ["square-wave", "mine"] {
        let listed = promemu(&["scenarios", "--plugin", name]);
        let text = String::from_utf8_lossy(&listed.stdout);
        assert!(listed.status.success(), "{name}");
        assert!(
            text.contains(&format!("{name}.wasm (3 scenarios;")),
            "{text}"
        );
    }
    let missing = promemu(&["scenarios", "--plugin", "sawtooth"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains(
            "no plugin named 'sawtooth' on the plugin path (looked for sawtooth.wasm in: "
        ),
        "{}",
        String::from_utf8_lossy(&missing.stderr)
    );

    // A config lists its packs, pinned; --check shows each pack's digest.
    let digest = {
        let listed = promemu(&[
            "plugin",
            "inspect",
            packs.join("square-wave.wasm").to_str().unwrap(),
        ]);
        let text = String::from_utf8(listed.stdout).unwrap();
        text.lines()
            .find_map(|line| line.strip_prefix("digest: "))
            .unwrap()
            .to_string()
    };
    let config = |pin: &str| {
        let path = dir.path().join("fleet.toml");
        std::fs::write(
            &path,
            format!(
                "plugins = [\"packs/square-wave.wasm@{pin}\"]\n[[hosts]]\nname = \"h\"\n[[hosts.metrics]]\nname = \"m\"\nscenario = \"square_wave\"\n"
            ),
        )
        .unwrap();
        path
    };
    let fleet = config(&digest);
    let checked = promemu(&["--check", "--config", fleet.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&checked.stdout);
    assert!(
        checked.status.success(),
        "{}",
        String::from_utf8_lossy(&checked.stderr)
    );
    assert!(
        text.contains(&format!(
            "square-wave.wasm: no name or version, {digest} (file)"
        )),
        "{text}"
    );
    let other = format!("sha256:{}", "0".repeat(64));
    let fleet = config(&other);
    let refused = promemu(&["--check", "--config", fleet.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "is not the pack its reference pins: expected {other}, its bytes are {digest}"
        )),
        "{stderr}"
    );
}

#[test]
fn the_sawtooth_example_gives_the_values_it_promises_and_runs_beside_the_peaks_config() {
    let example = services::repository().join("plugins/examples/sawtooth.wasm");
    // The README's quick start.
    let status = std::process::Command::new(services::promemu())
        .args(["--config", "peaks", "--plugin"])
        .arg(&example)
        .args(["--no-push", "--no-listen", "--duration", "3s"])
        .env("PME_CACHE_DIR", "off")
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());

    let dir = tempfile::tempdir().unwrap();
    let config = authoring::sawtooth_config(dir.path(), &example);
    let text = authoring::backfill_30s(&config, None);
    let values = |metric: &str| -> Vec<f64> {
        text.lines()
            .filter(|line| line.starts_with(&format!("{metric}{{")))
            .map(|line| line.rsplit(' ').nth(1).unwrap().parse().unwrap())
            .collect()
    };
    // The ramp, plus the followed metric's 5.
    let expected: Vec<f64> = (0..30)
        .map(|second| f64::from(second % 10 * 10 + 5))
        .collect();
    assert_eq!(values("ramp"), expected);
    // Restarted by the ramp's wraps at 10 s and 20 s.
    let restarted = values("restarted");
    assert_eq!(restarted[6..12], [60.0, 0.0, 10.0, 20.0, 0.0, 10.0]);
    assert_eq!(restarted[20], 0.0);
    // Jitter stays within its bound and is not zero everywhere.
    let noisy = values("noisy");
    let offsets: Vec<f64> = noisy
        .iter()
        .zip(0..)
        .map(|(value, second)| value - f64::from(second % 10 * 10))
        .collect();
    assert!(
        offsets.iter().all(|offset| offset.abs() <= 2.5),
        "{offsets:?}"
    );
    assert!(
        offsets.iter().any(|offset| offset.abs() > 0.1),
        "{offsets:?}"
    );
    // The wraps were on the bus.
    let preview = std::process::Command::new(services::promemu())
        .args(["preview", "--for", "25s", "--metric", "ramp", "--config"])
        .arg(&config)
        .env("PME_CACHE_DIR", "off")
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&preview.stdout);
    assert!(
        shown.contains("10.0s  sawtooth_wrapped from saw"),
        "{shown}"
    );
    assert!(
        shown.contains("20.0s  sawtooth_wrapped from saw"),
        "{shown}"
    );
}
