//! The live page at `/`, rendered by a real headless Chromium (Debian's
//! package): hosts with their TTL, a sparkline per metric, the event timeline
//! and the run's status; and a fleet of 100k series served page by page.

use std::process::{Child, Command};
use std::time::Duration;

use crate::services::{free_port, get, send_signal, spawn_promemu, wait_for};

/// The page at `url` as Chromium leaves it after `budget_ms` of (virtual)
/// time, scripts run.
fn rendered_dom(url: &str, budget_ms: u32) -> String {
    let chromium = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|candidate| {
            Command::new(candidate)
                .arg("--version")
                .output()
                .is_ok_and(|output| output.status.success())
        })
        .expect("a headless Chromium (tests/run.sh installs Debian's chromium)");
    let profile = tempfile::tempdir().unwrap();
    let output = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            &format!("--user-data-dir={}", profile.path().display()),
            &format!("--virtual-time-budget={budget_ms}"),
            "--dump-dom",
            url,
        ])
        .output()
        .expect("chromium runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Runs promemu serving on a free port; (child, address).
fn serve(args: &[&str], log: &std::path::Path) -> (Child, String) {
    let listen = format!("127.0.0.1:{}", free_port());
    let mut all = vec!["--no-push", "--listen", &listen, "--status-interval", "0"];
    all.extend(args);
    let child = spawn_promemu(&all, log);
    wait_for(Duration::from_secs(30), || {
        get(&format!("http://{listen}/api/page?limit=1"))
    })
    .expect("the page's data is served");
    (child, listen)
}

#[test]
fn the_live_page_shows_hosts_with_ttl_sparklines_events_and_status_in_a_real_browser() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, listen) = serve(
        &[
            "--config",
            "hosts_load_with_peaks",
            "--config-args",
            "update_interval=1s",
            "report_interval=1s",
            "peak_start=1s",
            "peak_duration=2s",
            "peak_interval=3s",
        ],
        &dir.path().join("page.log"),
    );
    // Let the first peak happen, then let the page poll a few times.
    std::thread::sleep(Duration::from_secs(3));
    let dom = rendered_dom(&format!("http://{listen}/"), 5000);
    send_signal("-TERM", &child);
    assert!(child.wait().unwrap().success());

    let hosts: Vec<&str> = dom
        .split("data-host=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .collect();
    assert_eq!(hosts.len(), 10, "every host of the config: {hosts:?}");
    assert!(
        hosts.contains(&"balancer-1") && hosts.contains(&"worker-09"),
        "{hosts:?}"
    );
    // A sparkline per metric (1 of the balancer, 5 per worker), each drawn
    // from the values seen while the page was open.
    let lines: Vec<&str> = dom
        .split("<polyline points=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .collect();
    assert_eq!(lines.len(), 1 + 9 * 5, "{dom}");
    assert!(
        lines.iter().all(|points| points.split(' ').count() >= 3),
        "several values per sparkline: {lines:?}"
    );
    assert!(dom.contains("cpu_usage_percent"), "{dom}");
    // TTLs (15 min) and the run's status.
    assert!(dom.contains(" min</td>"), "{dom}");
    assert!(dom.contains("hosts alive: <b>10 of 10</b>"), "{dom}");
    // The event timeline names the load peaks and who sent them.
    assert!(dom.contains("load_peak_start from balancer-1"), "{dom}");
}

#[test]
fn a_fleet_of_100k_series_is_served_page_by_page() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("big.toml");
    let mut text =
        String::from("[[hosts]]\nname = \"node-{i:05}\"\ncount = 10000\ninterval = \"15s\"\n");
    for metric in 0..10 {
        text.push_str(&format!(
            "[[hosts.metrics]]\nname = \"m{metric}\"\nupdate_interval = \"15s\"\nscenario = \"sine_wave\"\n"
        ));
    }
    std::fs::write(&config, text).unwrap();
    let (mut child, listen) = serve(
        &["--config", config.to_str().unwrap()],
        &dir.path().join("big.log"),
    );
    let html = get(&format!("http://{listen}/")).unwrap();
    assert!(
        html.len() < 20_000,
        "the page is small: {} bytes",
        html.len()
    );
    let last = get(&format!("http://{listen}/api/page?offset=9950&limit=50")).unwrap();
    let page: serde_json::Value = serde_json::from_str(&last).unwrap();
    assert_eq!(page["total_hosts"], 10_000);
    assert_eq!(page["series"], 100_000);
    let hosts = page["hosts"].as_array().unwrap();
    assert_eq!(hosts.len(), 50);
    assert_eq!(hosts[0]["name"], "node-09951");
    assert_eq!(hosts[0]["metrics"].as_array().unwrap().len(), 10);
    assert!(
        last.len() < 100_000,
        "a page, not the fleet: {} bytes",
        last.len()
    );
    // Asking for more than a page gets a page.
    let capped: serde_json::Value =
        serde_json::from_str(&get(&format!("http://{listen}/api/page?limit=100000")).unwrap())
            .unwrap();
    assert_eq!(capped["hosts"].as_array().unwrap().len(), 200);
    // The browser shows the first 50 hosts.
    let dom = rendered_dom(&format!("http://{listen}/"), 3000);
    assert_eq!(
        dom.matches("data-host=\"").count(),
        50,
        "{}",
        &dom[..dom.len().min(2000)]
    );
    assert!(
        dom.contains("page 1 of 200"),
        "{}",
        &dom[..dom.len().min(2000)]
    );
    send_signal("-TERM", &child);
    assert!(child.wait().unwrap().success());
}
