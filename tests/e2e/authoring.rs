//! Plugin authoring from an empty folder: `promemu plugin new` writes a
//! project that builds as generated (outside this checkout), and the pack it
//! builds loads, lists its scenario and runs in a real emulation.

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
