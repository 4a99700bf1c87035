//! The emulator against a Pushgateway that is down, dies, comes back empty, hangs
//! or refuses what it is sent; and against plugins that fault.

use std::time::{Duration, Instant};

use crate::services::{
    self, Proxy, fixtures_dir, free_port, get, label_values, pushgateway, pushgateway_on,
    pushgateway_series, resident_kib, spawn_promemu, virtual_seconds, wait_for,
};

fn log_of(path: &std::path::Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

fn hosts_in(gateway: &services::Service, job: &str) -> Vec<String> {
    label_values(&pushgateway_series(gateway, job), "name")
}

/// The numbers N of every "works again after N failed attempts" line.
fn recoveries(log: &str) -> Vec<u32> {
    log.lines()
        .filter_map(|line| {
            let rest = line.split("works again after ").nth(1)?;
            rest.split(' ').next()?.parse().ok()
        })
        .collect()
}

/// When the Pushgateway last accepted a push of `job`, in Unix seconds.
fn last_push_time(gateway: &services::Service, job: &str) -> Option<f64> {
    get(&format!("{}/metrics", gateway.url))?
        .lines()
        .find(|line| {
            line.starts_with("push_time_seconds{") && line.contains(&format!("job=\"{job}\""))
        })?
        .rsplit(' ')
        .next()?
        .parse()
        .ok()
}

const ALL_HOSTS: [&str; 3] = ["balancer-1", "worker-01", "worker-02"];

fn run_two_workers(
    gateway_url: &str,
    job: &str,
    listen: Option<&str>,
    log: &std::path::Path,
) -> std::process::Child {
    let mut args = vec![
        "--config-args",
        "hosts_count=2",
        "update_interval=0.5s",
        "report_interval=0.5s",
        "--pushgateway-url",
        gateway_url,
        "--push-interval",
        "0.5",
        "--default-job-name",
        job,
        "--duration",
        "40s",
    ];
    match listen {
        Some(address) => args.extend(["--listen", address]),
        None => args.push("--no-listen"),
    }
    spawn_promemu(&args, log)
}

#[test]
fn a_pushgateway_that_is_down_at_start_then_dies_and_comes_back_empty() {
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let mut child = run_two_workers(&url, "e2e_flaky", None, &log);

    std::thread::sleep(Duration::from_secs(2));
    assert!(
        child.try_wait().unwrap().is_none(),
        "still running without a Pushgateway: {}",
        log_of(&log)
    );
    let first_rss = resident_kib(child.id());
    let gateway = pushgateway_on(port);
    wait_for(Duration::from_secs(15), || {
        (hosts_in(&gateway, "e2e_flaky") == ALL_HOSTS).then_some(())
    })
    .unwrap_or_else(|| panic!("pushes resumed once it started: {}", log_of(&log)));

    // It dies and comes back with nothing: the next pushes fill it again.
    drop(gateway);
    std::thread::sleep(Duration::from_secs(2));
    let gateway = pushgateway_on(port);
    assert!(
        hosts_in(&gateway, "e2e_flaky").is_empty(),
        "a new Pushgateway starts empty"
    );
    wait_for(Duration::from_secs(15), || {
        (hosts_in(&gateway, "e2e_flaky") == ALL_HOSTS).then_some(())
    })
    .unwrap_or_else(|| panic!("groups hold the current values again: {}", log_of(&log)));
    let later_rss = resident_kib(child.id());
    assert!(
        later_rss < first_rss + 32 * 1024,
        "resident memory grew from {first_rss} KiB to {later_rss} KiB"
    );

    services::send_signal("-TERM", &child);
    assert!(child.wait().unwrap().success());
    let text = log_of(&log);
    let warnings = text
        .lines()
        .filter(|line| line.contains("WARN/main: Push of job <e2e_flaky> failed"))
        .count();
    assert!(
        (1..=8).contains(&warnings),
        "one warning per burst, not per attempt ({warnings}):\n{text}"
    );
    assert!(
        text.contains("Push of job <e2e_flaky> works again after"),
        "{text}"
    );
    assert_eq!(
        text.matches("The Pushgateway is not reachable on start")
            .count(),
        1,
        "{text}"
    );
    assert!(
        hosts_in(&gateway, "e2e_flaky").is_empty(),
        "cleaned up on finish"
    );
}

#[test]
fn a_hanging_pushgateway_never_stalls_the_simulation() {
    let gateway = pushgateway();
    let listen = format!("127.0.0.1:{}", free_port());
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let mut child = run_two_workers(&gateway.url, "e2e_hang", Some(&listen), &log);
    wait_for(Duration::from_secs(10), || {
        (hosts_in(&gateway, "e2e_hang") == ALL_HOSTS).then_some(())
    })
    .expect("pushed");

    let pid = gateway.pid().to_string();
    std::process::Command::new("kill")
        .args(["-STOP", &pid])
        .status()
        .unwrap();
    let before = virtual_seconds(&listen).expect("status served");
    std::thread::sleep(Duration::from_secs(4));
    let after = virtual_seconds(&listen).expect("status served while the Pushgateway hangs");
    std::process::Command::new("kill")
        .args(["-CONT", &pid])
        .status()
        .unwrap();
    assert!(
        after - before > 3.0,
        "virtual time moved on: {before} -> {after}"
    );

    // Pushes come back once it answers again: the group is replaced with fresh values.
    let marker = Instant::now();
    wait_for(Duration::from_secs(15), || {
        let text = log_of(&log);
        text.contains("Push of job <e2e_hang> works again")
            .then_some(())
    })
    .unwrap_or_else(|| panic!("recovered: {}", log_of(&log)));
    assert!(marker.elapsed() < Duration::from_secs(15));
    assert!(log_of(&log).contains("timed out"), "{}", log_of(&log));
    services::send_signal("-TERM", &child);
    assert!(child.wait().unwrap().success());
}

#[test]
fn server_errors_from_a_proxy_are_retried_with_backoff_until_the_pushgateway_heals() {
    let port = free_port();
    let gateway = pushgateway_on(port);
    let proxy = Proxy::in_front_of(port);
    let listen = format!("127.0.0.1:{}", free_port());
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let mut child = run_two_workers(&proxy.service.url, "e2e_proxy", Some(&listen), &log);
    wait_for(Duration::from_secs(10), || {
        (hosts_in(&gateway, "e2e_proxy") == ALL_HOSTS).then_some(())
    })
    .unwrap_or_else(|| panic!("pushed through the proxy: {}", log_of(&log)));

    // 503 for six seconds: retried with backoff, the simulation runs on.
    proxy.set_maintenance(true);
    wait_for(Duration::from_secs(10), || {
        log_of(&log)
            .contains("with 503 Service Unavailable: down for maintenance")
            .then_some(())
    })
    .unwrap_or_else(|| panic!("the proxy's 503 and its message logged: {}", log_of(&log)));
    let pushed_before = last_push_time(&gateway, "e2e_proxy").expect("a push time");
    let before = virtual_seconds(&listen).expect("status served");
    std::thread::sleep(Duration::from_secs(6));
    let after = virtual_seconds(&listen).expect("status served during the 503s");
    assert!(
        after - before > 5.0,
        "virtual time moved on: {before} -> {after}"
    );
    proxy.set_maintenance(false);
    wait_for(Duration::from_secs(15), || {
        (recoveries(&log_of(&log)).len() == 1).then_some(())
    })
    .unwrap_or_else(|| panic!("recovered after the 503s: {}", log_of(&log)));
    let pushed_after = last_push_time(&gateway, "e2e_proxy").expect("a push time");
    assert!(
        pushed_after > pushed_before,
        "the group holds fresh values again: pushed at {pushed_before}, then {pushed_after}"
    );

    // 502 while the Pushgateway behind the proxy is down; it comes back empty.
    drop(gateway);
    wait_for(Duration::from_secs(10), || {
        log_of(&log)
            .contains("with 502 Bad Gateway: 502 Bad Gateway")
            .then_some(())
    })
    .unwrap_or_else(|| panic!("the proxy's 502 logged as one line: {}", log_of(&log)));
    let gateway = pushgateway_on(port);
    wait_for(Duration::from_secs(15), || {
        (hosts_in(&gateway, "e2e_proxy") == ALL_HOSTS).then_some(())
    })
    .unwrap_or_else(|| panic!("the groups are back after the 502s: {}", log_of(&log)));

    services::send_signal("-TERM", &child);
    assert!(child.wait().unwrap().success());
    let text = log_of(&log);
    assert!(
        hosts_in(&gateway, "e2e_proxy").is_empty(),
        "cleaned up through the proxy on finish"
    );
    // Without backoff, six seconds of 503s at a 0.5 s push interval would be 12+ attempts.
    let attempts = recoveries(&text);
    assert_eq!(attempts.len(), 2, "{text}");
    assert!(
        (2..=6).contains(&attempts[0]),
        "backoff spaced the attempts during the 503s: {attempts:?}\n{text}"
    );
    let warnings = text
        .lines()
        .filter(|line| line.contains("WARN/main: Push of job <e2e_proxy> failed"))
        .count();
    assert!(
        (2..=8).contains(&warnings),
        "one warning per burst, not per attempt ({warnings}):\n{text}"
    );
    assert!(
        !text.contains("<html") && !text.contains("will keep failing"),
        "5xx pages are reduced to one line and treated as transient:\n{text}"
    );
}

#[test]
fn a_refusal_that_will_not_heal_is_reported_with_the_pushgateways_message() {
    let gateway = pushgateway();
    // Another client owns `cpu_usage_percent` as a counter.
    ureq::put(&format!("{}/metrics/job/someone_else", gateway.url))
        .send_string("# TYPE cpu_usage_percent counter\ncpu_usage_percent{name=\"other\"} 1\n")
        .expect("seed a conflicting group");
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let mut child = run_two_workers(&gateway.url, "e2e_conflict", None, &log);
    let text = wait_for(Duration::from_secs(10), || {
        let text = log_of(&log);
        text.contains("refused PUT").then_some(text)
    })
    .unwrap_or_else(|| panic!("refusal logged: {}", log_of(&log)));
    services::send_signal("-TERM", &child);
    assert!(child.wait().unwrap().success());
    let line = text
        .lines()
        .find(|line| line.contains("refused PUT"))
        .unwrap();
    assert!(line.contains("with 400 Bad Request:"), "{line}");
    assert!(
        line.contains("cpu_usage_percent"),
        "the Pushgateway's own message: {line}"
    );
    assert!(
        line.contains("will keep failing until this is fixed"),
        "{line}"
    );
    assert_eq!(
        text.matches("refused PUT").count(),
        1,
        "one error line for a refusal that will not heal:\n{text}"
    );
}

#[test]
fn a_faulting_plugin_is_logged_once_per_burst_and_limits_come_from_the_config() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("hostile.toml");
    std::fs::write(
        &config,
        r#"
        fault_policy = "hold"
        [plugin_limits."hostile.wasm"]
        call_deadline = "20ms"
        memory = "8MiB"

        [[hosts]]
        name = "bad"
        interval = "0.2s"
        [[hosts.metrics]]
        name = "spinning"
        update_interval = "0.2s"
        scenario = "spin"
        scenario_data = { after = 1 }

        [[hosts]]
        name = "good"
        interval = "0.2s"
        [[hosts.metrics]]
        name = "uptime"
        value_range = [0, 1000]
        update_interval = "0.2s"
        scenario = "time_duration"
        "#,
    )
    .unwrap();
    let listen = format!("127.0.0.1:{}", free_port());
    let log = dir.path().join("log");
    let plugin = fixtures_dir().join("hostile.wasm");
    let mut child = spawn_promemu(
        &[
            "--config",
            config.to_str().unwrap(),
            "--plugin",
            plugin.to_str().unwrap(),
            "--no-push",
            "--duration",
            "4s",
            "--listen",
            &listen,
        ],
        &log,
    );
    let scraped = wait_for(Duration::from_secs(10), || {
        let text = get(&format!("http://{listen}/metrics"))?;
        let uptime: f64 = text
            .lines()
            .find(|line| line.starts_with("uptime{"))?
            .rsplit(' ')
            .next()?
            .parse()
            .ok()?;
        (uptime >= 2.0).then_some(text)
    })
    .unwrap_or_else(|| panic!("the healthy series kept going: {}", log_of(&log)));
    assert!(
        scraped.contains("spinning{"),
        "the faulty series holds its last value"
    );
    assert!(child.wait().unwrap().success());
    let text = log_of(&log);
    let faults: Vec<&str> = text
        .lines()
        .filter(|line| line.contains("scenario fault"))
        .collect();
    assert_eq!(faults.len(), 1, "once per burst:\n{text}");
    for part in [
        "hostile.wasm",
        "step of bad/spinning",
        "interrupt",
        "host=bad",
        "metric=spinning",
    ] {
        assert!(faults[0].contains(part), "'{part}' in {}", faults[0]);
    }
    assert!(
        text.contains("Limits for plugin") && text.contains("call_deadline: 20ms"),
        "{text}"
    );
}
