//! Plugin authoring from an empty folder: `promemu plugin new` writes a
//! project that builds as generated (outside this checkout), and the pack it
//! builds loads, lists its scenario and runs in a real emulation.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::services::{free_port, get, promemu, repository, spawn_promemu, wait_for};

#[test]
fn a_new_rust_project_builds_as_generated_and_its_pack_runs() {
    // A target folder of the repository's keeps the dependencies between runs.
    let target = repository().join("target/plugin-new");
    new_project_builds_and_runs(
        "rust",
        &[
            "Cargo.toml",
            "src/lib.rs",
            "vendor/promemu-guest/wit/promemu.wit",
        ],
        &[("CARGO_TARGET_DIR", target.as_os_str())],
    );
}

#[test]
fn a_new_python_project_builds_with_componentize_py_and_its_pack_runs() {
    new_project_builds_and_runs(
        "python",
        &["app.py", "scenarios.py", "wit/promemu.wit"],
        &[],
    );
}

#[test]
fn a_new_javascript_project_builds_with_componentize_js_and_its_pack_runs() {
    new_project_builds_and_runs(
        "js",
        &["scenarios.js", "package.json", "wit/promemu.wit"],
        &[],
    );
}

/// `plugin new demo --lang LANG` in an empty folder, `./build.sh` (with
/// `env`), then the pack lists its scenario and its series show on /metrics.
fn new_project_builds_and_runs(lang: &str, files: &[&str], env: &[(&str, &std::ffi::OsStr)]) {
    let dir = tempfile::tempdir().unwrap();
    let created = Command::new(promemu())
        .args(["plugin", "new", "demo", "--lang", lang, "--dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let project = dir.path().join("demo");
    for file in files.iter().chain(&["build.sh", "README.md"]) {
        assert!(project.join(file).is_file(), "{file}");
    }
    // The same name again is refused, with status 2.
    let again = Command::new(promemu())
        .args(["plugin", "new", "demo", "--dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("is not empty"));

    // Built where it stands (the temporary folder is outside any workspace).
    let built = Command::new(project.join("build.sh"))
        .env("PROMEMU", promemu())
        .envs(env.iter().copied())
        .output()
        .unwrap();
    assert!(
        built.status.success(),
        "{}{}",
        String::from_utf8_lossy(&built.stdout),
        String::from_utf8_lossy(&built.stderr)
    );
    let pack = project.join("demo.wasm");
    assert!(pack.is_file());

    let listed = Command::new(promemu())
        .args(["scenarios", "--plugin"])
        .arg(&pack)
        .env("PME_CACHE_DIR", "off")
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(listed.contains("demo.wasm (1 scenario;"), "{listed}");
    assert!(listed.contains("  sawtooth"), "{listed}");

    if lang == "rust" {
        // The same project builds with cargo-component, and its pack gives the
        // example's values.
        let target = repository().join("target/plugin-new");
        let built = Command::new("cargo")
            .args(["component", "build", "--release"])
            .current_dir(&project)
            .env("CARGO_TARGET_DIR", &target)
            .output()
            .unwrap();
        assert!(
            built.status.success(),
            "{}",
            String::from_utf8_lossy(&built.stderr)
        );
        let cache = dir.path().join("cache");
        let expected = backfill_30s(
            &sawtooth_config(
                dir.path(),
                &repository().join("plugins/examples/sawtooth.wasm"),
            ),
            None,
        );
        assert_same_sawtooth(
            &target.join("wasm32-wasip1/release/demo.wasm"),
            "demo 0.1.0",
            &expected,
            dir.path(),
            &cache,
        );
    }

    // Ten seconds of an emulation with it: its series on /metrics.
    let config = dir.path().join("saw.toml");
    std::fs::write(
        &config,
        "[[hosts]]\nname = \"saw-host\"\ninterval = \"1s\"\n[[hosts.metrics]]\nname = \"ramp\"\nupdate_interval = \"1s\"\nscenario = \"sawtooth\"\nscenario_data = { period = 4 }\n",
    )
    .unwrap();
    let listen = format!("127.0.0.1:{}", free_port());
    let mut child = spawn_promemu(
        &[
            "--plugin",
            pack.to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
            "--no-push",
            "--listen",
            &listen,
            "--duration",
            "10s",
        ],
        &dir.path().join("run.log"),
    );
    // A Python pack compiles for some seconds first.
    let values = wait_for(Duration::from_secs(90), || {
        let text = get(&format!("http://{listen}/metrics"))?;
        let value: f64 = text
            .lines()
            .find(|line| line.starts_with("ramp{"))?
            .rsplit(' ')
            .next()?
            .parse()
            .ok()?;
        (value > 0.0).then_some(value)
    });
    assert!(child.wait().unwrap().success());
    let value = values.expect("the pack's series on /metrics");
    assert!((0.0..=100.0).contains(&value), "{value}");
}

#[test]
fn the_cargo_component_python_and_javascript_examples_give_the_rust_example_s_values() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let examples = repository().join("plugins/examples");
    let expected = backfill_30s(
        &sawtooth_config(dir.path(), &examples.join("sawtooth.wasm")),
        None,
    );
    assert_eq!(
        expected
            .lines()
            .filter(|line| line.starts_with("noisy{"))
            .count(),
        30
    );
    for (example, name) in [
        (
            "sawtooth-cargo-component",
            "promemu-example-sawtooth-cargo-component 0.1.0",
        ),
        ("sawtooth-python", "promemu-example-sawtooth-python 0.1.0"),
        ("sawtooth-js", "promemu-example-sawtooth-js 0.1.0"),
    ] {
        let pack = dir.path().join(format!("{example}.wasm"));
        let built = Command::new(examples.join(example).join("build.sh"))
            .arg(&pack)
            .env("PROMEMU", promemu())
            .env("PME_CACHE_DIR", &cache)
            // A target folder of the repository's keeps cargo's work between runs.
            .env(
                "CARGO_TARGET_DIR",
                repository().join("target/cargo-component"),
            )
            .output()
            .unwrap();
        assert!(
            built.status.success(),
            "{example}: {}{}",
            String::from_utf8_lossy(&built.stdout),
            String::from_utf8_lossy(&built.stderr)
        );
        assert_same_sawtooth(&pack, name, &expected, dir.path(), &cache);
    }
}

/// The pack at `pack` carries the name and version `name` and gives, step for
/// step, the `expected` backfill of [`sawtooth_config`] (the Rust example's).
fn assert_same_sawtooth(pack: &Path, name: &str, expected: &str, dir: &Path, cache: &Path) {
    let listed = Command::new(promemu())
        .args(["scenarios", "--plugin"])
        .arg(pack)
        .env("PME_CACHE_DIR", cache)
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(listed.contains(&format!("; {name}, sha256:")), "{listed}");
    // Events and jitter included: the configs differ only in the pack's path.
    let folder = tempfile::tempdir_in(dir).unwrap();
    let got = backfill_30s(&sawtooth_config(folder.path(), pack), Some(cache));
    assert!(
        got == expected,
        "{}:\n{got}\nexpected:\n{expected}",
        pack.display()
    );
}

/// A config of four series of the sawtooth example in `pack`: one follows a
/// constant and announces its wraps, one restarts on them, one has jitter.
pub fn sawtooth_config(dir: &Path, pack: &Path) -> PathBuf {
    let config = dir.join("saw.toml");
    std::fs::write(
        &config,
        format!(
            r#"plugins = ["{}"]
[[hosts]]
name = "saw"
interval = "1s"
  [[hosts.metrics]]
  name = "base"
  value_range = [0, 1000]
  default_value = 5
  update_interval = "1s"
  scenario = "do_nothing"
  [[hosts.metrics]]
  name = "ramp"
  value_range = [0, 1000]
  update_interval = "1s"
  scenario = "sawtooth"
  scenario_data = {{ period = 10, low = 0, high = 100, follow = "base", announce = true }}
  [[hosts.metrics]]
  name = "restarted"
  value_range = [0, 1000]
  update_interval = "1s"
  listen_events = ["sawtooth_wrapped"]
  scenario = "sawtooth"
  scenario_data = {{ period = 7, low = 0, high = 70, restart_on = "sawtooth_wrapped" }}
  [[hosts.metrics]]
  name = "noisy"
  value_range = [-1000, 1000]
  update_interval = "1s"
  scenario = "sawtooth"
  scenario_data = {{ period = 10, low = 0, high = 100, jitter = 2.5 }}
"#,
            pack.display()
        ),
    )
    .unwrap();
    config
}

/// The OpenMetrics backfill of `config`'s first 30 s with seed 3: every
/// step's value at its instant. Compiled components are cached in
/// `cache_dir` (none: not cached).
pub fn backfill_30s(config: &Path, cache_dir: Option<&Path>) -> String {
    let output = Command::new(promemu())
        .args([
            "backfill",
            "--seed",
            "3",
            "--from",
            "1000000000",
            "--to",
            "1000000029",
            "--config",
        ])
        .arg(config)
        .env(
            "PME_CACHE_DIR",
            cache_dir.map_or("off".as_ref(), Path::as_os_str),
        )
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}
