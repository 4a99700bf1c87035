//! Time travel on the binary: a backfill taken by `promtool tsdb
//! create-blocks-from openmetrics` and queried in a real Prometheus, previews
//! drawn to PNG, SVG and the terminal, and live runs at another speed or from
//! another start.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use crate::query_at;
use crate::services::{
    free_port, get, promemu, promemu_output, prometheus_on_blocks, send_signal, spawn_promemu,
    unix_now, virtual_seconds, wait_for,
};

/// Runs promemu with `args` to the end, which must be a success.
fn promemu_ok(args: &[&str]) -> Output {
    let output = promemu_output(args);
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// (value, timestamp) of every line that starts with `prefix` and holds `label`.
fn samples_of<'a>(
    text: &'a str,
    prefix: &'a str,
    label: &'a str,
) -> impl Iterator<Item = (f64, f64)> + 'a {
    text.lines()
        .filter(move |line| line.starts_with(prefix) && line.contains(label))
        .map(|line| {
            let mut fields = line.rsplitn(3, ' ');
            let time = fields.next().unwrap().parse().unwrap();
            let value = fields.next().unwrap().parse().unwrap();
            (value, time)
        })
}

#[test]
fn a_six_hour_backfill_goes_through_promtool_into_prometheus_with_its_peaks_where_the_config_puts_them()
 {
    let dir = tempfile::tempdir().unwrap();
    // Whole hours, ending two hours ago (within the TSDB's retention, clear of its head).
    let from = unix_now() / 3600 * 3600 - 8 * 3600;
    let to = from + 6 * 3600;
    let (from_text, to_text) = (from.to_string(), to.to_string());
    let backfill = |out: &Path| {
        let output = promemu_ok(&[
            "backfill",
            "--config",
            "hosts_load_with_peaks",
            "--config-args",
            "hosts_count=3",
            "hosts_ttl=5h",
            "--seed",
            "5",
            "--from",
            &from_text,
            "--to",
            &to_text,
            "--out",
            out.to_str().unwrap(),
        ]);
        // The hosts live 5 of the 6 hours: the last hour is empty, and said so.
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("Every host reached its TTL by 18000.0s: the last 3600.0s of the span have no samples"),
            "{stderr}"
        );
        std::fs::read_to_string(out).unwrap()
    };
    let started = Instant::now();
    let first = backfill(&dir.path().join("a.om"));
    println!(
        "6 h backfill: {} bytes in {:?}",
        first.len(),
        started.elapsed()
    );
    assert_eq!(
        first,
        backfill(&dir.path().join("b.om")),
        "same seed, same bytes"
    );

    let prometheus = prometheus_on_blocks(|data| {
        let created = Command::new("promtool")
            .args(["tsdb", "create-blocks-from", "openmetrics"])
            .arg(dir.path().join("a.om"))
            .arg(data)
            .output()
            .expect("promtool runs (tests/run.sh installs prometheus, which ships it)");
        assert!(
            created.status.success(),
            "promtool refused the backfill: {}",
            String::from_utf8_lossy(&created.stderr)
        );
    });
    let value = |query: &str, at: u64| {
        let results = query_at(&prometheus, query, Some(at as f64));
        assert_eq!(results.len(), 1, "{query} at {at}: {results:?}");
        results[0].1
    };
    // Peaks start 60 s in, last 2 min, and come again after 3 min off.
    for peak in [0, 1, 30, 59] {
        let start = from + 60 + 300 * peak;
        assert_eq!(value("load_peak_active", start + 30), 1.0, "peak {peak}");
        assert_eq!(
            value("load_peak_active", start + 150),
            0.0,
            "after peak {peak}"
        );
        let cpu_in = value("avg(cpu_usage_percent)", start + 100);
        let cpu_out = value("avg(cpu_usage_percent)", start + 170);
        assert!(
            cpu_in > 70.0 && cpu_out < 40.0,
            "peak {peak}: {cpu_in} / {cpu_out}"
        );
    }
    // Prometheus holds the emulator's own values: the file's sample at or
    // before each instant, for a gauge, a counter and a histogram's count.
    for (query, prefix) in [
        (
            "cpu_usage_percent{name=\"worker-02\"}",
            "cpu_usage_percent{",
        ),
        (
            "http_requests_total{name=\"worker-02\"}",
            "http_requests_total{",
        ),
        (
            "http_response_time_seconds_count{name=\"worker-02\"}",
            "http_response_time_seconds_count{",
        ),
    ] {
        for second in [7, 3612, 4 * 3600 + 3] {
            let at = from + second;
            let expected = samples_of(&first, prefix, "name=\"worker-02\"")
                .take_while(|(_, time)| *time <= at as f64)
                .last()
                .unwrap()
                .0;
            assert_eq!(value(query, at), expected, "{query} at +{second}s");
        }
    }
    // Hosts live 5 h: their series are current before, gone once the lookback passed.
    assert_eq!(value("count(cpu_usage_percent)", from + 5 * 3600 - 60), 3.0);
    let after = query_at(
        &prometheus,
        "cpu_usage_percent",
        Some((from + 5 * 3600 + 6 * 60) as f64),
    );
    assert!(after.is_empty(), "{after:?}");
}

#[test]
fn previews_are_drawn_to_png_svg_and_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("p.png");
    promemu_ok(&[
        "preview",
        "--config",
        "hosts_load_with_peaks",
        "--seed",
        "2",
        "--out",
        png.to_str().unwrap(),
    ]);
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    let width = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
    // One panel per metric of the config: six.
    assert_eq!((width, height), (1200, 80 + 260 * 6));
    // Not a blank canvas: a blank one compresses to a few KB.
    assert!(bytes.len() > 50_000, "{} bytes", bytes.len());

    let svg = dir.path().join("p.svg");
    promemu_ok(&[
        "preview",
        "--for",
        "10m",
        "--metric",
        "cpu_usage_percent",
        "--out",
        svg.to_str().unwrap(),
    ]);
    let svg = std::fs::read_to_string(svg).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("cpu_usage_percent"));
    assert!(svg.contains("worker-09") && !svg.contains("load_peak_active"));

    let output = promemu_ok(&["preview", "--for", "10m"]);
    let lines = String::from_utf8(output.stdout).unwrap();
    assert!(
        lines.contains("\ncpu_usage_percent\n  worker-01  "),
        "{lines}"
    );
    assert!(
        lines.contains('█') && lines.contains("load_peak_start from"),
        "{lines}"
    );

    for (args, expected) in [
        (
            vec!["preview", "--out", "p.gif"],
            "expected a file name ending in .png or .svg",
        ),
        (
            vec!["preview", "--metric", "nope"],
            "no metric named 'nope' in this config; its metrics are: cpu_usage_percent",
        ),
        (
            vec!["preview", "--for", "0"],
            "expected a time greater than 0",
        ),
    ] {
        let output = promemu_output(&args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}

#[test]
fn bad_instants_and_speeds_exit_with_status_two() {
    for (args, expected) in [
        (
            vec![
                "backfill",
                "--from",
                "2026-01-02T00:00:00Z",
                "--to",
                "2026-01-01T00:00:00Z",
            ],
            "invalid value for '--from': 2026-01-02T00:00:00Z is not before --to 2026-01-01T00:00:00Z",
        ),
        (
            vec!["backfill", "--from", "yesterday"],
            "'yesterday' is not an instant",
        ),
        (
            vec!["backfill", "--from", "-1h", "--to", "-2h"],
            "is not before --to",
        ),
        (
            vec!["--speed", "0"],
            "expected virtual seconds per wall second",
        ),
        (vec!["--speed", "fast"], "or 'max'"),
        (vec!["--start-time", "1e300"], "is out of range"),
    ] {
        let output = promemu_output(&args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}

#[test]
fn speed_fast_forwards_a_live_run_and_a_past_start_catches_up_then_goes_on_in_real_time() {
    let dir = tempfile::tempdir().unwrap();
    // Ten minutes at 300x: about two seconds.
    let started = Instant::now();
    let log = dir.path().join("fast.log");
    let status = spawn_promemu(
        &[
            "--speed",
            "300",
            "--duration",
            "10m",
            "--no-push",
            "--no-listen",
            "--status-interval",
            "0",
        ],
        &log,
    )
    .wait()
    .unwrap();
    let took = started.elapsed();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(status.success(), "{text}");
    assert!(text.contains("Stopping: --duration elapsed"), "{text}");
    println!("10 min at --speed 300 took {took:?}");
    assert!(took < Duration::from_secs(60), "{took:?}");

    // Started an hour ago, as fast as it goes: it catches up, then keeps pace.
    let listen = format!("127.0.0.1:{}", free_port());
    let log = dir.path().join("catch-up.log");
    let mut child = spawn_promemu(
        &[
            "--speed",
            "max",
            "--start-time",
            "-1h",
            "--config-args",
            "hosts_ttl=3h",
            "--no-push",
            "--listen",
            &listen,
        ],
        &log,
    );
    let caught_up = wait_for(Duration::from_secs(60), || {
        virtual_seconds(&listen).filter(|seconds| *seconds >= 3600.0)
    });
    let text = || std::fs::read_to_string(&log).unwrap();
    assert!(caught_up.is_some(), "{}", text());
    let then = Instant::now();
    std::thread::sleep(Duration::from_secs(3));
    let later = virtual_seconds(&listen).expect("status served");
    let wall = then.elapsed().as_secs_f64();
    assert!(
        later < 3600.0 + wall + 5.0,
        "virtual time ran ahead of the present: {later} s"
    );
    assert!(
        get(&format!("http://{listen}/metrics"))
            .is_some_and(|text| text.contains("cpu_usage_percent"))
    );
    send_signal("-TERM", &child);
    let status = child.wait().unwrap();
    assert!(status.success(), "{}", text());
}

#[test]
fn a_backfill_shows_its_progress_on_a_terminal_and_nowhere_else() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.om");
    let args = [
        "backfill",
        "--from",
        "-6h",
        "--config-args",
        "hosts_ttl=7h",
        "--out",
        out.to_str().unwrap(),
    ];
    // `script` runs the command on a pseudo-terminal and keeps what it showed.
    let shown = dir.path().join("terminal.txt");
    let command = format!("{} {}", promemu().display(), args.join(" "));
    let status = Command::new("script")
        .args(["-qec", &command])
        .arg(&shown)
        .env("PME_CACHE_DIR", "off")
        .stdout(std::process::Stdio::null())
        .status()
        .expect("script (util-linux) runs");
    assert!(status.success());
    let terminal = String::from_utf8_lossy(&std::fs::read(&shown).unwrap()).into_owned();
    for part in ["% of virtual time", "ETA"] {
        assert!(terminal.contains(part), "{part} not in {terminal}");
    }
    let piped = promemu_ok(&args);
    let stderr = String::from_utf8_lossy(&piped.stderr);
    assert!(
        !stderr.contains("ETA") && stderr.contains("samples/s"),
        "{stderr}"
    );
    // The hosts outlive the span: nothing to warn of.
    assert!(!stderr.contains("reached its TTL by"), "{stderr}");
}
