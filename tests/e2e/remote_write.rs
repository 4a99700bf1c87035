//! Remote write and secured sinks on the binary: samples written to a real
//! Prometheus's remote-write receiver equal the emulator's own (its backfill of
//! the same seed and start), go stale at the hosts' TTL, survive an outage, and
//! pass TLS proxies (nginx) that demand a client certificate, credentials and a
//! tenant header.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use crate::query_at;
use crate::services::{
    Proxy, Service, TlsFiles, get, promemu_output, prometheus_receiver, pushgateway,
    pushgateway_series, send_signal, spawn_promemu, tls_files, unix_now, wait_for,
};

/// Two hosts living 8 s, reporting every second: a gauge, a counter and a
/// histogram, 16 lines in all.
const FLEET: &str = r#"
default_job_name = "rw"

[[hosts]]
name = "node-{i}"
count = 2
ttl = "8s"
interval = "1s"

[[hosts.metrics]]
name = "load"
scenario = "sine_wave"
update_interval = "1s"
scenario_data = { period = 10 }

[[hosts.metrics]]
name = "requests_total"
kind = "counter"
update_interval = "1s"
scenario = "random_in_range"

[[hosts.metrics]]
name = "latency_seconds"
kind = "histogram"
buckets = [0.1, 1, 10]
update_interval = "1s"
scenario = "random_in_range"
value_range = [0, 5]
"#;

/// Lines of [`FLEET`]: per host a gauge, a counter, and a histogram's three
/// buckets, `+Inf`, `_sum` and `_count`.
const FLEET_LINES: usize = 16;

/// A series as `name{a="x",...}` with its labels sorted, and a Unix ms.
type SampleKey = (String, i64);

/// `name{a="x",...}` of a label set (`__name__` and the rest, sorted).
fn series_text(labels: &BTreeMap<String, String>) -> String {
    let name = labels.get("__name__").cloned().unwrap_or_default();
    let rest: Vec<String> = labels
        .iter()
        .filter(|(key, _)| *key != "__name__")
        .map(|(key, value)| format!("{key}=\"{value}\""))
        .collect();
    format!("{name}{{{}}}", rest.join(","))
}

/// Every sample of an OpenMetrics backfill (series, Unix ms) -> value. The
/// label values of these configs hold no commas, quotes or escapes.
fn backfill_samples(text: &str) -> BTreeMap<SampleKey, f64> {
    let mut samples = BTreeMap::new();
    for line in text.lines().filter(|line| !line.starts_with('#')) {
        let mut fields = line.rsplitn(3, ' ');
        let seconds: f64 = fields.next().unwrap().parse().unwrap();
        let value: f64 = fields.next().unwrap().parse().unwrap();
        let series = fields.next().unwrap();
        let (name, rest) = series.split_once('{').unwrap_or((series, "}"));
        let mut labels = BTreeMap::from([("__name__".to_string(), name.to_string())]);
        for pair in rest
            .trim_end_matches('}')
            .split(',')
            .filter(|pair| !pair.is_empty())
        {
            let (key, value) = pair.split_once('=').unwrap();
            labels.insert(key.into(), value.trim_matches('"').into());
        }
        let millis = (seconds * 1000.0).round() as i64;
        samples.insert((series_text(&labels), millis), value);
    }
    samples
}

/// Every raw sample Prometheus holds for `selector` in the minute before `at`.
fn stored_samples(prometheus: &Service, selector: &str, at: u64) -> BTreeMap<SampleKey, f64> {
    let url = format!(
        "{}/api/v1/query?query={}&time={at}",
        prometheus.url,
        crate::urlencode(&format!("{selector}[1m]"))
    );
    let body: Value = serde_json::from_str(&get(&url).unwrap_or_default()).unwrap_or(Value::Null);
    let mut samples = BTreeMap::new();
    for series in body["data"]["result"]
        .as_array()
        .cloned()
        .unwrap_or_default()
    {
        let labels: BTreeMap<String, String> = series["metric"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(key, value)| (key.clone(), value.as_str().unwrap().to_string()))
            .collect();
        for pair in series["values"].as_array().unwrap() {
            let millis = (pair[0].as_f64().unwrap() * 1000.0).round() as i64;
            let value: f64 = pair[1].as_str().unwrap().parse().unwrap();
            samples.insert((series_text(&labels), millis), value);
        }
    }
    samples
}

/// The flags of a run of `config` (seed 5, virtual time zero at `start`)
/// that writes only where `extra` says.
fn fleet_args(config: &Path, start: u64, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "--config",
        config.to_str().unwrap(),
        "--seed",
        "5",
        "--start-time",
        &start.to_string(),
        "--no-push",
        "--no-listen",
    ]
    .map(String::from)
    .to_vec();
    args.extend(extra.iter().map(|arg| arg.to_string()));
    args
}

fn as_strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

/// Runs promemu with `args` to its end (it must succeed); its log.
fn run_to_end(args: &[&str], dir: &Path) -> String {
    let log = dir.join(format!("run-{}.log", args.len()));
    let status = spawn_promemu(args, &log).wait().unwrap();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(status.success(), "{args:?}:\n{text}");
    text
}

/// The emulator's own samples of `config` from `start` (Unix s) over 8 s.
fn backfill_of(config: &Path, start: u64, seconds: u64) -> BTreeMap<SampleKey, f64> {
    let output = promemu_output(&[
        "backfill",
        "--config",
        config.to_str().unwrap(),
        "--seed",
        "5",
        "--from",
        &start.to_string(),
        "--to",
        &(start + seconds).to_string(),
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    backfill_samples(&String::from_utf8(output.stdout).unwrap())
}

fn write_fleet(dir: &Path, extra: &str) -> PathBuf {
    let config = dir.join("rw.toml");
    std::fs::write(&config, format!("{FLEET}\n{extra}")).unwrap();
    config
}

/// Checks that Prometheus holds exactly the emulator's samples of `config`
/// from `start`, and that none of its series is current any more.
fn assert_prometheus_holds_the_backfill(prometheus: &Service, config: &Path, start: u64) {
    let expected = backfill_of(config, start, 8);
    assert_eq!(expected.len(), FLEET_LINES * 8, "8 reports of every line");
    assert_prometheus_holds(prometheus, &expected, start);
    let during = query_at(prometheus, r#"count({job="rw"})"#, Some(start as f64 + 5.0));
    assert_eq!(
        during[0].1, FLEET_LINES as f64,
        "every line is current while alive"
    );
    assert!(
        query_at(prometheus, r#"{job="rw"}"#, None).is_empty(),
        "stale markers end every series at the TTL (else they would show for 5 minutes)"
    );
}

/// Checks that Prometheus holds exactly `expected` of job `rw`.
fn assert_prometheus_holds(prometheus: &Service, expected: &BTreeMap<SampleKey, f64>, start: u64) {
    let stored = wait_for(Duration::from_secs(10), || {
        let stored = stored_samples(prometheus, r#"{job="rw"}"#, start + 30);
        (&stored == expected).then_some(stored)
    });
    assert!(
        stored.is_some(),
        "Prometheus holds the emulator's samples:\nexpected {expected:#?}\nstored {:#?}",
        stored_samples(prometheus, r#"{job="rw"}"#, start + 30)
    );
}

#[test]
fn hosts_that_respawn_churn_series_seeded_and_each_old_identity_goes_stale() {
    let prometheus = prometheus_receiver();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("churn.toml");
    std::fs::write(
        &config,
        FLEET.replace("ttl = \"8s\"", "ttl = \"3s\"\nrespawn = true"),
    )
    .unwrap();
    let start = unix_now();
    let url = format!("{}/api/v1/write", prometheus.url);
    let listen = format!("127.0.0.1:{}", crate::services::free_port());
    let log = dir.path().join("churn.log");
    // Served, not pushed: the status shows the churn.
    let mut args = fleet_args(
        &config,
        start,
        &["--remote-write-url", &url, "--duration", "8s"],
    );
    args.retain(|arg| arg != "--no-listen");
    args.extend(["--listen".to_string(), listen.clone()]);
    let mut child = spawn_promemu(&as_strs(&args), &log);
    let status = wait_for(Duration::from_secs(15), || {
        let status: Value = serde_json::from_str(&get(&format!("http://{listen}/status"))?).ok()?;
        (status["churn"]["respawns"].as_u64()? >= 4).then_some(status)
    })
    .expect("the status shows the respawns");
    assert!(child.wait().unwrap().success());
    let text = std::fs::read_to_string(&log).unwrap();
    // Two hosts of 3 series each, respawned at 3 s and 6 s.
    let churn = &status["churn"];
    assert_eq!(churn["series_ended"], 12, "{status}");
    assert_eq!(churn["series_created"], 18, "{status}");
    assert!(
        churn["created_per_minute"].as_f64().unwrap() > 100.0,
        "{status}"
    );
    assert!(
        text.contains("Host <node-1> respawned as <node-1-"),
        "{text}"
    );

    // Prometheus holds what the emulator computes (its backfill of the same
    // seed and start names the same identities)...
    let expected = backfill_of(&config, start, 8);
    let identities: std::collections::BTreeSet<&str> = expected
        .keys()
        .filter_map(|(series, _)| series.split("name=\"").nth(1)?.split('"').next())
        .collect();
    assert_eq!(
        identities.len(),
        6,
        "three identities per host: {identities:?}"
    );
    assert_prometheus_holds(&prometheus, &expected, start);
    // ... and an identity ends with a stale marker when its host respawns:
    // after the first respawn only the new identities are current.
    let current = query_at(&prometheus, "count(load)", Some(start as f64 + 4.5));
    assert_eq!(
        current[0].1, 2.0,
        "old identities went stale at the respawn"
    );
    // The same seed gives the same identities.
    assert_eq!(backfill_of(&config, start, 8), expected);
}

#[test]
fn remote_write_sends_the_emulator_s_own_samples_and_ends_each_series_with_a_stale_marker() {
    let prometheus = prometheus_receiver();
    let dir = tempfile::tempdir().unwrap();
    let config = write_fleet(dir.path(), "");
    let start = unix_now();
    let url = format!("{}/api/v1/write", prometheus.url);
    let log = run_to_end(
        &as_strs(&fleet_args(&config, start, &["--remote-write-url", &url])),
        dir.path(),
    );
    assert!(
        log.contains(&format!("Remote write to {url} (16 series)")),
        "{log}"
    );
    // 8 reports of 16 lines, then 16 stale markers.
    assert!(
        log.contains("144 samples sent in 9 requests; 0 dropped"),
        "{log}"
    );
    assert_prometheus_holds_the_backfill(&prometheus, &config, start);
}

#[test]
fn a_past_start_at_full_speed_writes_its_history_then_a_config_s_target_with_a_bearer_token_file() {
    let prometheus = prometheus_receiver();
    let upstream = prometheus.port();
    let gate = Proxy::bearer_gate(upstream, "s3cret-token");
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("secrets")).unwrap();
    std::fs::write(dir.path().join("secrets/token"), "s3cret-token\n").unwrap();
    // The target and its token file (relative to the config) are in the TOML.
    let config = write_fleet(
        dir.path(),
        &format!(
            "[[remote_write]]\nurl = \"{}/api/v1/write\"\nbearer_token_file = \"secrets/token\"\n",
            gate.service.url
        ),
    );
    let start = unix_now() - 120;
    let log = run_to_end(
        &as_strs(&fleet_args(&config, start, &["--speed", "max"])),
        dir.path(),
    );
    assert!(
        log.contains("144 samples sent in 9 requests; 0 dropped"),
        "{log}"
    );
    assert_prometheus_holds_the_backfill(&prometheus, &config, start);

    // A wrong token: one clear error, nothing retried, the run goes on.
    std::fs::write(dir.path().join("secrets/token"), "wrong").unwrap();
    let log = run_to_end(
        &as_strs(&fleet_args(&config, start, &["--speed", "max"])),
        dir.path(),
    );
    let errors: Vec<&str> = log.lines().filter(|line| line.contains("ERROR")).collect();
    assert_eq!(errors.len(), 1, "{log}");
    assert!(
        errors[0].contains("refused POST") && errors[0].contains("401 Unauthorized"),
        "{log}"
    );
    assert!(errors[0].contains("dropped, not retried"), "{log}");
    assert!(!log.contains("retrying in"), "{log}");
    assert!(
        log.contains("0 samples sent in 0 requests; 144 dropped"),
        "{log}"
    );
}

#[test]
fn remote_write_retries_through_an_outage_and_loses_no_sample() {
    let prometheus = prometheus_receiver();
    let upstream = prometheus.port();
    let proxy = Proxy::in_front_of(upstream);
    proxy.set_maintenance(true);
    let dir = tempfile::tempdir().unwrap();
    let config = write_fleet(dir.path(), "");
    let start = unix_now();
    let url = format!("{}/api/v1/write", proxy.service.url);
    let log = dir.path().join("outage.log");
    let mut child = spawn_promemu(
        &as_strs(&fleet_args(&config, start, &["--remote-write-url", &url])),
        &log,
    );
    // Three seconds of 503s, then the target is back.
    std::thread::sleep(Duration::from_secs(3));
    proxy.set_maintenance(false);
    let status = child.wait().unwrap();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(status.success(), "{text}");
    assert!(text.contains("503 Service Unavailable"), "{text}");
    assert!(text.contains("works again"), "{text}");
    assert!(text.contains("144 samples sent"), "{text}");
    assert_prometheus_holds_the_backfill(&prometheus, &config, start);
}

#[test]
fn a_target_refusing_with_400_is_not_retried_and_holds_back_no_other() {
    let prometheus = prometheus_receiver();
    let upstream = prometheus.port();
    let refusing = Proxy::refusing(upstream, 400);
    let dir = tempfile::tempdir().unwrap();
    let config = write_fleet(dir.path(), "");
    let start = unix_now();
    let good = format!("{}/api/v1/write", prometheus.url);
    let bad = format!("{}/api/v1/write", refusing.service.url);
    let log = run_to_end(
        &as_strs(&fleet_args(
            &config,
            start,
            &["--remote-write-url", &bad, "--remote-write-url", &good],
        )),
        dir.path(),
    );
    assert!(
        log.contains("400 Bad Request: refused by the test proxy"),
        "{log}"
    );
    assert!(!log.contains("retrying in"), "{log}");
    assert!(
        log.contains(&format!(
            "Remote write to {bad}: 0 samples sent in 0 requests; 144 dropped"
        )),
        "{log}"
    );
    assert!(
        log.contains(&format!(
            "Remote write to {good}: 144 samples sent in 9 requests; 0 dropped"
        )),
        "{log}"
    );
    assert_prometheus_holds_the_backfill(&prometheus, &config, start);
}

/// The flags that pass a [`Proxy::tls_gate`] as `prefix` (push or
/// remote-write): CA, client certificate, credentials and tenant.
fn gate_flags(prefix: &str, tls: &TlsFiles, password: &str) -> Vec<String> {
    let flag =
        |name: &str, value: &Path| vec![format!("--{prefix}-{name}"), value.display().to_string()];
    [
        flag("ca-file", &tls.ca),
        flag("cert-file", &tls.client_cert),
        flag("key-file", &tls.client_key),
        vec![format!("--{prefix}-username"), "promemu".into()],
        vec![format!("--{prefix}-password"), password.into()],
        vec![format!("--{prefix}-header"), "X-Scope-OrgID: team-a".into()],
    ]
    .concat()
}

#[test]
fn both_sinks_pass_a_tls_proxy_that_wants_a_client_certificate_credentials_and_a_tenant() {
    let dir = tempfile::tempdir().unwrap();
    let tls = tls_files(dir.path());
    let gateway = pushgateway();
    let prometheus = prometheus_receiver();
    let push_gate = Proxy::tls_gate(gateway.port(), &tls, ("promemu", "pw"), "team-a");
    let write_gate = Proxy::tls_gate(prometheus.port(), &tls, ("promemu", "pw"), "team-a");
    let config = write_fleet(dir.path(), "");
    let start = unix_now();
    let start_text = start.to_string();
    let write_url = format!("{}/api/v1/write", write_gate.service.url);
    let mut args: Vec<String> = [
        "--config",
        config.to_str().unwrap(),
        "--seed",
        "5",
        "--start-time",
        &start_text,
        "--no-listen",
        "--push-interval",
        "1",
        "--cleanup-on-finish=false",
        "--pushgateway-url",
        &push_gate.service.url,
        "--remote-write-url",
        &write_url,
    ]
    .map(String::from)
    .to_vec();
    args.extend(gate_flags("push", &tls, "pw"));
    args.extend(gate_flags("remote-write", &tls, "pw"));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let log = dir.path().join("gated.log");
    let mut child = spawn_promemu(&args, &log);
    // Pushed while the hosts live (the group goes when they expire).
    let pushed = wait_for(Duration::from_secs(10), || {
        let pushed = pushgateway_series(&gateway, "rw");
        (pushed.len() == FLEET_LINES).then_some(pushed)
    });
    assert!(child.wait().unwrap().success());
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(pushed.is_some(), "{log}");
    assert!(!log.contains("WARN") && !log.contains("ERROR"), "{log}");
    assert_prometheus_holds_the_backfill(&prometheus, &config, start);

    // Each missing piece gives one clear error; the run itself goes on.
    let without = |dropped: &[&str], replaced: Option<(&str, &str)>| {
        let mut args: Vec<String> = [
            "--config",
            config.to_str().unwrap(),
            "--no-listen",
            "--duration",
            "3s",
            "--push-interval",
            "1",
            "--cleanup-on-start=false",
            "--cleanup-on-finish=false",
            "--pushgateway-url",
            &push_gate.service.url,
        ]
        .map(String::from)
        .to_vec();
        let flags = gate_flags("push", &tls, "pw");
        let mut pairs = flags.chunks(2);
        for pair in &mut pairs {
            if dropped.contains(&pair[0].as_str()) {
                continue;
            }
            match replaced {
                Some((flag, value)) if flag == pair[0] => {
                    args.extend([pair[0].clone(), value.to_string()]);
                }
                _ => args.extend(pair.iter().cloned()),
            }
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run_to_end(&args, dir.path())
    };
    let error_lines = |log: &str| -> Vec<String> {
        log.lines()
            .filter(|line| line.contains("ERROR") || line.contains("WARN"))
            .map(String::from)
            .collect()
    };
    let log = without(&["--push-cert-file", "--push-key-file"], None);
    let errors = error_lines(&log);
    assert!(
        errors.len() == 1
            && errors[0].contains("400 Bad Request: 400 No required SSL certificate was sent"),
        "{log}"
    );
    let log = without(&[], Some(("--push-password", "wrong")));
    let errors = error_lines(&log);
    assert!(
        errors.len() == 1 && errors[0].contains("401 Unauthorized"),
        "{log}"
    );
    let log = without(&["--push-header"], None);
    let errors = error_lines(&log);
    assert!(
        errors.len() == 1 && errors[0].contains("403 Forbidden: unknown tenant"),
        "{log}"
    );
    // Without the CA the proxy's certificate is not trusted.
    let log = without(&["--push-ca-file"], None);
    assert!(
        log.contains("UnknownIssuer") || log.contains("certificate"),
        "{log}"
    );
    assert!(!log.contains("Pushed job"), "{log}");
}

#[test]
fn unusable_sink_settings_stop_the_run_before_it_starts_with_status_two() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_fleet(
        dir.path(),
        "[[remote_write]]\nurl = \"https://127.0.0.1:9/api/v1/write\"\ntls = { ca_file = \"missing-ca.pem\" }\n",
    );
    let output = promemu_output(&["--config", config.to_str().unwrap(), "--check"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(
            "remote-write endpoint at https://127.0.0.1:9/api/v1/write: cannot read the CA file"
        ) && stderr.contains("missing-ca.pem"),
        "{stderr}"
    );
    let output = promemu_output(&[
        "--no-push",
        "--remote-write-url",
        "http://127.0.0.1:9/api/v1/write",
        "--remote-write-cert-file",
        "client.pem",
        "--check",
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("needs both cert_file and key_file"),
        "{stderr}"
    );
}

#[test]
fn a_run_whose_target_is_down_stops_at_once_on_a_signal() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("signal.log");
    let child = spawn_promemu(
        &[
            "--no-push",
            "--no-listen",
            "--remote-write-url",
            "http://127.0.0.1:9/api/v1/write",
        ],
        &log,
    );
    std::thread::sleep(Duration::from_secs(2));
    send_signal("-TERM", &child);
    let stopping = std::time::Instant::now();
    let mut child = child;
    let status = child.wait().unwrap();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(status.success(), "{text}");
    assert!(
        text.contains("failed while stopping; what is queued is dropped"),
        "{text}"
    );
    println!("stopped in {:?}", stopping.elapsed());
    assert!(stopping.elapsed() < Duration::from_secs(12), "{text}");
}
