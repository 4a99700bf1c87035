//! The Docker stack of `docker/`, checked with real parts since no container
//! engine runs here: the compose file by a real compose implementation, the
//! Prometheus config by promtool, the Dockerfile by hadolint, and every query
//! of every shipped dashboard (panels, template variables, annotations) run
//! against a real Prometheus, configured as the stack's, scraping a real
//! Pushgateway fed by promemu running the matching configs, each required to
//! return data.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use crate::services::{
    Service, free_port, get, pushgateway, repository, spawn_promemu, start_service, wait_for,
};
use crate::urlencode;

fn docker_dir() -> PathBuf {
    repository().join("docker")
}

/// Runs `program` with `args` in `dir`; its output, which must be a success.
fn run_ok(program: &str, args: &[&str], dir: &Path) -> String {
    let output = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|err| panic!("{program} runs (tests/run.sh installs it): {err}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{program} {args:?}:\n{text}");
    text
}

#[test]
fn the_stack_s_files_pass_compose_promtool_and_hadolint() {
    let dir = docker_dir();
    // A real compose implementation reads the file with the stack's .env.
    let config = run_ok("docker-compose", &["--profile", "emulator", "config"], &dir);
    for service in ["pushgateway:", "prometheus:", "grafana:", "promemu:"] {
        assert!(config.contains(service), "{config}");
    }
    assert!(
        config.contains("published: 3000") || config.contains("3000:3000"),
        "{config}"
    );
    assert!(
        config.contains("GF_SECURITY_ADMIN_PASSWORD: admin123"),
        "{config}"
    );
    let checked = run_ok(
        "promtool",
        &["check", "config", "prometheus/prometheus.yml"],
        &dir,
    );
    assert!(checked.contains("SUCCESS"), "{checked}");
    run_ok("hadolint", &["Dockerfile"], &dir);
    run_ok("bash", &["-n", "manage.sh"], &dir);
    // Without a command it prints its usage and exits 2.
    let usage = Command::new("./manage.sh")
        .current_dir(&dir)
        .output()
        .unwrap();
    assert_eq!(usage.status.code(), Some(2));
    let text = String::from_utf8_lossy(&usage.stdout);
    for command in ["start", "stop", "status", "logs", "clean"] {
        assert!(text.contains(&format!("./manage.sh {command}")), "{text}");
    }
}

/// The stack's Prometheus config with its targets pointed at this machine's
/// services, scraping every second.
fn prometheus_like_the_stack(pushgateway: &str, promemus: &[String]) -> Service {
    let stack = std::fs::read_to_string(docker_dir().join("prometheus/prometheus.yml")).unwrap();
    let targets = promemus
        .iter()
        .map(|target| format!("\"{target}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let config = stack
        .replace("scrape_interval: 15s", "scrape_interval: 1s")
        .replace("\"pushgateway:9091\"", &format!("\"{pushgateway}\""))
        .replace("\"promemu:9464\", \"host.docker.internal:9464\"", &targets);
    assert!(
        config.contains(pushgateway) && config.contains(&promemus[0]),
        "{config}"
    );
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("prometheus.yml");
    std::fs::write(&file, config).unwrap();
    let args = vec![
        format!("--config.file={}", file.display()),
        format!("--storage.tsdb.path={}", dir.path().join("data").display()),
        format!("--web.listen-address=127.0.0.1:{port}"),
    ];
    start_service("prometheus", &args, format!("http://127.0.0.1:{port}"), dir)
}

/// What a Grafana Prometheus query asks: `label_values(...)` of a variable,
/// or a PromQL expression.
fn run_query(prometheus: &Service, query: &str) -> Vec<String> {
    if let Some(inner) = query
        .strip_prefix("label_values(")
        .and_then(|rest| rest.strip_suffix(')'))
    {
        let (selector, label) = match inner.rsplit_once(',') {
            Some((selector, label)) => (Some(selector.trim()), label.trim()),
            None => (None, inner.trim()),
        };
        let matcher = selector.map_or_else(String::new, |selector| {
            format!("?match[]={}", urlencode(selector))
        });
        let body: Value = serde_json::from_str(
            &get(&format!(
                "{}/api/v1/label/{label}/values{matcher}",
                prometheus.url
            ))
            .unwrap_or_default(),
        )
        .unwrap_or(Value::Null);
        return body["data"]
            .as_array()
            .map(|values| {
                values
                    .iter()
                    .filter_map(|value| value.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
    }
    let body: Value = serde_json::from_str(
        &get(&format!(
            "{}/api/v1/query?query={}",
            prometheus.url,
            urlencode(query)
        ))
        .unwrap_or_default(),
    )
    .unwrap_or(Value::Null);
    assert_eq!(body["status"], "success", "{query}: {body}");
    body["data"]["result"]
        .as_array()
        .map(|results| results.iter().map(|result| result.to_string()).collect())
        .unwrap_or_default()
}

/// `text` with the dashboard's variables and Grafana's built-in intervals replaced.
fn substitute(text: &str, values: &BTreeMap<String, String>) -> String {
    let mut text = text
        .replace("$__rate_interval", "1m")
        .replace("$__range", "5m")
        .replace("$__interval", "15s");
    // Longest names first, so `$hostname` is not taken for `$host`.
    let mut names: Vec<&String> = values.keys().collect();
    names.sort_by_key(|name| std::cmp::Reverse(name.len()));
    for name in names {
        text = text.replace(&format!("${name}"), &values[name]);
    }
    text
}

/// Every `datasource` object in `json`, with where it is.
fn datasources(json: &Value, at: &str, found: &mut Vec<(String, Value)>) {
    match json {
        Value::Object(map) => {
            for (key, value) in map {
                let here = format!("{at}.{key}");
                if key == "datasource" {
                    found.push((here.clone(), value.clone()));
                }
                datasources(value, &here, found);
            }
        }
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                datasources(item, &format!("{at}[{index}]"), found);
            }
        }
        _ => {}
    }
}

/// Checks every query of `dashboard` returns data, variables first (each
/// takes what Grafana shows by default: All where a variable offers it, else
/// its first value); a repeated panel is checked for each value of its
/// variable.
fn check_dashboard(prometheus: &Service, file: &Path, provisioned: &[String]) -> usize {
    let dashboard: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    let name = file.file_name().unwrap().to_string_lossy().to_string();
    let mut found = Vec::new();
    datasources(&dashboard, &name, &mut found);
    for (at, datasource) in &found {
        match datasource["type"].as_str() {
            Some("prometheus") => assert!(
                provisioned
                    .iter()
                    .any(|uid| datasource["uid"] == uid.as_str()),
                "{at}: data source {datasource} is not provisioned ({provisioned:?})"
            ),
            Some("grafana") => assert!(at.contains("annotations"), "{at}"),
            _ => panic!("{at}: unknown data source {datasource}"),
        }
    }
    let mut checked = 0;
    let mut values = BTreeMap::new();
    let mut options: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for variable in dashboard["templating"]["list"].as_array().unwrap() {
        let query = substitute(variable["query"]["query"].as_str().unwrap(), &values);
        let result = wait_for(Duration::from_secs(30), || {
            let result = run_query(prometheus, &query);
            (!result.is_empty()).then_some(result)
        })
        .unwrap_or_else(|| panic!("{name}: variable query {query} returns nothing"));
        let variable_name = variable["name"].as_str().unwrap().to_string();
        let shown = match variable["allValue"].as_str() {
            Some(all) if variable["includeAll"] == true => all.to_string(),
            _ => result[0].clone(),
        };
        values.insert(variable_name.clone(), shown);
        options.insert(variable_name, result);
        checked += 1;
    }
    let mut queries = Vec::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        let title = panel["title"].as_str().unwrap();
        for target in panel["targets"].as_array().unwrap() {
            let expr = target["expr"].as_str().unwrap();
            match panel["repeat"].as_str() {
                // One panel per value of the variable, each with that value.
                Some(repeat) => {
                    for value in &options[repeat] {
                        queries.push(format!("panel '{title}' repeated for {value}"));
                        queries.push(expr.replace(&format!("${repeat}"), value));
                    }
                }
                None => {
                    queries.push(format!("panel '{title}'"));
                    queries.push(expr.to_string());
                }
            }
        }
    }
    for annotation in dashboard["annotations"]["list"].as_array().unwrap() {
        if annotation["datasource"]["type"] == "prometheus" {
            queries.push(format!(
                "annotation '{}'",
                annotation["name"].as_str().unwrap()
            ));
            queries.push(annotation["expr"].as_str().unwrap().to_string());
        }
    }
    for pair in queries.chunks(2) {
        let query = substitute(&pair[1], &values);
        let answered = wait_for(Duration::from_secs(30), || {
            (!run_query(prometheus, &query).is_empty()).then_some(())
        });
        assert!(
            answered.is_some(),
            "{name}: {} query {query} returns no data (variables {values:?})",
            pair[0]
        );
        checked += 1;
    }
    checked
}

#[test]
fn every_query_of_every_shipped_dashboard_returns_data_from_a_real_run() {
    let gateway = pushgateway();
    let dir = tempfile::tempdir().unwrap();
    let fast = "update_interval=1s report_interval=1s";
    let runs = [
        (
            "hosts_load_with_peaks",
            format!("{fast} hosts_count=3 peak_start=2s peak_duration=3s peak_interval=5s"),
        ),
        ("single_host_load", fast.to_string()),
    ];
    let mut children = Vec::new();
    let mut listens = Vec::new();
    for (config, args) in &runs {
        let listen = format!("127.0.0.1:{}", free_port());
        let mut flags = vec![
            "--config",
            config,
            "--pushgateway-url",
            &gateway.url,
            "--push-interval",
            "1",
            "--listen",
            &listen,
            "--config-args",
        ];
        flags.extend(args.split(' '));
        children.push(spawn_promemu(
            &flags,
            &dir.path().join(format!("{config}.log")),
        ));
        listens.push(listen);
    }
    let address = gateway.url.trim_start_matches("http://").to_string();
    let prometheus = prometheus_like_the_stack(&address, &listens);
    let provisioning = std::fs::read_to_string(
        docker_dir().join("grafana/provisioning/datasources/prometheus.yml"),
    )
    .unwrap();
    let provisioned: Vec<String> = provisioning
        .lines()
        .filter_map(|line| line.trim().strip_prefix("uid:"))
        .map(|uid| uid.trim().to_string())
        .collect();
    assert_eq!(provisioned, ["prometheus"]);

    let mut dashboards: Vec<PathBuf> = std::fs::read_dir(docker_dir().join("grafana/dashboards"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    dashboards.sort();
    // One per shipped config, and the fleet dashboard.
    let names: Vec<String> = dashboards
        .iter()
        .map(|path| path.file_stem().unwrap().to_string_lossy().to_string())
        .collect();
    assert_eq!(
        names,
        ["fleet", "hosts_load_with_peaks", "single_host_load"]
    );
    for dashboard in &dashboards {
        let checked = check_dashboard(&prometheus, dashboard, &provisioned);
        println!("{}: {checked} queries return data", dashboard.display());
    }
    for child in &mut children {
        crate::services::send_signal("-TERM", child);
        assert!(child.wait().unwrap().success());
    }
}
