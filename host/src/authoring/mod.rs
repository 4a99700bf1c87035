//! Projects for plugin authors: `promemu plugin new NAME --lang rust|python|js`
//! writes a self-contained scenario pack that builds as generated, outside any
//! checkout: the contract's WIT, the `sawtooth` example scenario (parameters,
//! `random`, events, links, `log`), a `build.sh` that writes `NAME.wasm` beside
//! it, and a README. Rust projects vendor the guest SDK and start from
//! `plugins/examples/sawtooth` (they build with plain cargo or with
//! cargo-component); Python projects start from `plugins/examples/sawtooth-python`
//! in componentize-py's layout (`app.py`, and the resource class in
//! `scenarios.py`, the module named after the exported interface); JavaScript
//! projects start from `plugins/examples/sawtooth-js` and build with
//! componentize-js, WASI HTTP left out (promemu links no network). Every
//! `build.sh` ends with `promemu plugin componentize --manifest`, which writes
//! the project's name, version and description into the pack. The files are
//! embedded in the binary, from the examples the test command builds and runs.

use std::path::{Path, PathBuf};

/// A language a project can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Language {
    /// Rust on the guest SDK (plain cargo for wasm32-unknown-unknown, then
    /// `promemu plugin componentize`).
    Rust,
    /// Python with componentize-py (`pip install componentize-py==0.25.1`).
    Python,
    /// JavaScript with componentize-js 0.23 (npm).
    Js,
}

/// Why a project could not be written.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error(
        "'{0}' is not a usable plugin name: use lowercase letters, digits, '-' and '_', starting with a letter"
    )]
    BadName(String),
    #[error("{} exists and is not empty; choose another --dir or name", .0.display())]
    NotEmpty(PathBuf),
    #[error("cannot write {}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl TemplateError {
    /// Whether the user's input is wrong (exit status 2) rather than the disk.
    pub fn is_bad_input(&self) -> bool {
        !matches!(self, TemplateError::Write { .. })
    }
}

/// The guest SDK, vendored into Rust projects.
const SDK_FILES: [(&str, &str); 4] = [
    (
        "Cargo.toml",
        include_str!("../../../plugins/sdk/Cargo.toml"),
    ),
    (
        "src/lib.rs",
        include_str!("../../../plugins/sdk/src/lib.rs"),
    ),
    (
        "src/params.rs",
        include_str!("../../../plugins/sdk/src/params.rs"),
    ),
    (
        "wit/promemu.wit",
        include_str!("../../../plugins/sdk/wit/promemu.wit"),
    ),
];

/// The example scenario every new Rust project starts from.
const RUST_EXAMPLE: &str = include_str!("../../../plugins/examples/sawtooth/src/lib.rs");

/// Writes a new `language` project called `name` into `dir/name`; returns
/// the project's folder.
pub fn new_project(name: &str, language: Language, dir: &Path) -> Result<PathBuf, TemplateError> {
    let valid = name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if !valid {
        return Err(TemplateError::BadName(name.into()));
    }
    let root = dir.join(name);
    if root
        .read_dir()
        .is_ok_and(|mut entries| entries.next().is_some())
    {
        return Err(TemplateError::NotEmpty(root));
    }
    let files = match language {
        Language::Rust => rust_files(name),
        Language::Python => python_files(name),
        Language::Js => js_files(name),
    };
    for (path, text, executable) in files {
        write(&root.join(path), &text, executable)?;
    }
    Ok(root)
}

fn write(path: &Path, text: &str, executable: bool) -> Result<(), TemplateError> {
    let failed = |source| TemplateError::Write {
        path: path.to_path_buf(),
        source,
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(failed)?;
    }
    std::fs::write(path, text).map_err(failed)?;
    if executable {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).map_err(failed)?;
    }
    Ok(())
}

/// The files of a Rust project: (path, text, executable).
fn rust_files(name: &str) -> Vec<(String, String, bool)> {
    let library = name.replace('-', "_");
    let mut files = vec![
        ("Cargo.toml".to_string(), rust_manifest(name), false),
        ("src/lib.rs".to_string(), RUST_EXAMPLE.to_string(), false),
        (
            "build.sh".to_string(),
            RUST_BUILD
                .replace("@NAME@", name)
                .replace("@LIB@", &library),
            true,
        ),
        (
            "README.md".to_string(),
            RUST_README
                .replace("@NAME@", name)
                .replace("@LIB@", &library),
            false,
        ),
        (
            ".gitignore".to_string(),
            "/target/\n/src/bindings.rs\n*.wasm\n".to_string(),
            false,
        ),
    ];
    for (path, text) in SDK_FILES {
        files.push((
            format!("vendor/promemu-guest/{path}"),
            text.to_string(),
            false,
        ));
    }
    files
}

/// The files of a Python project: (path, text, executable).
fn python_files(name: &str) -> Vec<(String, String, bool)> {
    vec![
        (
            "pyproject.toml".to_string(),
            PYTHON_PROJECT.replace("@NAME@", name),
            false,
        ),
        ("app.py".to_string(), PYTHON_APP.to_string(), false),
        (
            "scenarios.py".to_string(),
            PYTHON_SCENARIOS.to_string(),
            false,
        ),
        (
            "wit/promemu.wit".to_string(),
            SDK_FILES[3].1.to_string(),
            false,
        ),
        (
            "build.sh".to_string(),
            PYTHON_BUILD.replace("@NAME@", name),
            true,
        ),
        (
            "README.md".to_string(),
            PYTHON_README.replace("@NAME@", name),
            false,
        ),
        (
            ".gitignore".to_string(),
            "__pycache__/
*.wasm
"
            .to_string(),
            false,
        ),
    ]
}

/// The files of a JavaScript project: (path, text, executable).
fn js_files(name: &str) -> Vec<(String, String, bool)> {
    vec![
        ("scenarios.js".to_string(), JS_SCENARIOS.to_string(), false),
        (
            "wit/promemu.wit".to_string(),
            SDK_FILES[3].1.to_string(),
            false,
        ),
        (
            "package.json".to_string(),
            JS_PACKAGE.replace("@NAME@", name),
            false,
        ),
        (
            "build.sh".to_string(),
            JS_BUILD.replace("@NAME@", name),
            true,
        ),
        (
            "README.md".to_string(),
            JS_README.replace("@NAME@", name),
            false,
        ),
        (
            ".gitignore".to_string(),
            "node_modules/\n*.wasm\n".to_string(),
            false,
        ),
    ]
}

const JS_SCENARIOS: &str = include_str!("../../../plugins/examples/sawtooth-js/scenarios.js");

const JS_PACKAGE: &str = r#"{
  "name": "@NAME@",
  "version": "0.1.0",
  "description": "A PromEmu scenario pack.",
  "license": "MIT OR Apache-2.0",
  "private": true,
  "type": "module",
  "scripts": {
    "build": "./build.sh"
  },
  "devDependencies": {
    "@bytecodealliance/componentize-js": "0.23.0"
  }
}
"#;

const JS_BUILD: &str = r#"#!/usr/bin/env bash
# Builds @NAME@.wasm with componentize-js: scenarios.js against the contract in
# wit/, for the scenario-pack world, without WASI HTTP (promemu links no network
# and refuses a pack that imports it). Uses componentize-js from PATH, else
# installs the version package.json pins.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
componentize=componentize-js
if ! command -v "$componentize" >/dev/null 2>&1; then
    [ -x node_modules/.bin/componentize-js ] || npm install --no-audit --no-fund
    componentize=node_modules/.bin/componentize-js
fi
"$componentize" scenarios.js --wit wit/promemu.wit --world-name scenario-pack \
    --disable http fetch-event -o @NAME@.wasm
# The pack's name, version and description, from package.json.
"${PROMEMU:-promemu}" plugin componentize @NAME@.wasm --output @NAME@.wasm --manifest package.json
echo "Built @NAME@.wasm; try: promemu scenarios --plugin @NAME@.wasm"
"#;

const JS_README: &str = r#"# @NAME@

A PromEmu scenario pack in JavaScript, built with componentize-js. It starts as
the `sawtooth` example: a ramp from `low` to `high` over `period` seconds, with
seeded `jitter`, an event that restarts it (`restart_on`), an event it sends when
it wraps (`announce`), another metric it can follow (`follow`, a link), and a
debug log line.

Build it (needs Node.js and npm; build.sh installs componentize-js 0.23.0 into
node_modules unless `componentize-js` is on PATH):

    ./build.sh

Use it:

    promemu scenarios --plugin @NAME@.wasm                 # lists sawtooth and its parameters
    promemu --plugin @NAME@.wasm --config my.toml          # a config whose metrics use scenario = "sawtooth"

Layout:

    scenarios.js    export const scenarios = { listScenarios, Scenario }: the
                    export is named after the interface; WIT names are camelCase
    wit/            the contract (promemu:plugin)

A thrown string is the error `create` returns: promemu shows it with the config's
host, metric and field. `--disable http fetch-event` keeps WASI HTTP out of the
component, which promemu would refuse. What it costs: the component is about
12 MB; its first start compiles it (several seconds; then it comes from promemu's
cache); a step costs about 20 microseconds more than in Rust.
"#;

const PYTHON_APP: &str = include_str!("../../../plugins/examples/sawtooth-python/app.py");
const PYTHON_SCENARIOS: &str =
    include_str!("../../../plugins/examples/sawtooth-python/scenarios.py");

const PYTHON_PROJECT: &str = r#"[project]
name = "@NAME@"
version = "0.1.0"
description = "A PromEmu scenario pack."
license = "MIT OR Apache-2.0"
# build.sh writes these fields into the pack (promemu plugin componentize
# --manifest pyproject.toml); componentize-py builds it, not pip.
"#;

const PYTHON_BUILD: &str = r#"#!/usr/bin/env bash
# Builds @NAME@.wasm with componentize-py: app.py's Scenarios and scenarios.py's
# Scenario, against the contract in wit/, for the scenario-pack world.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
if ! command -v componentize-py >/dev/null 2>&1; then
    echo "build.sh: componentize-py is missing: pip install componentize-py==0.25.1" >&2
    exit 1
fi
componentize-py -d wit/promemu.wit -w scenario-pack componentize app -o @NAME@.wasm
# The pack's name, version and description, from pyproject.toml.
"${PROMEMU:-promemu}" plugin componentize @NAME@.wasm --output @NAME@.wasm --manifest pyproject.toml
echo "Built @NAME@.wasm; try: promemu scenarios --plugin @NAME@.wasm"
"#;

const PYTHON_README: &str = r#"# @NAME@

A PromEmu scenario pack in Python, built with componentize-py. It starts as the
`sawtooth` example: a ramp from `low` to `high` over `period` seconds, with seeded
`jitter`, an event that restarts it (`restart_on`), an event it sends when it
wraps (`announce`), another metric it can follow (`follow`, a link), and a debug
log line.

Build it (needs `pip install componentize-py==0.25.1`):

    ./build.sh

Use it:

    promemu scenarios --plugin @NAME@.wasm                 # lists sawtooth and its parameters
    promemu --plugin @NAME@.wasm --config my.toml          # a config whose metrics use scenario = "sawtooth"

Layout:

    app.py          class Scenarios: the scenarios the pack offers (list_scenarios)
    scenarios.py    class Scenario: one series' state (create, links, step); it must
                    live in a module named after the exported interface
    wit/            the contract (promemu:plugin)

Errors from `create` are raised as `componentize_py_types.Err("what is wrong")`:
promemu shows them with the config's host, metric and field. What it costs: the
component is about 18 MB; its first start compiles it (several seconds; then it
comes from promemu's cache, `~/.cache/promemu`); a step costs a few microseconds
more than in Rust.
"#;

fn rust_manifest(name: &str) -> String {
    let library = name.replace('-', "_");
    let package = name.replace('_', "-");
    format!(
        r#"[package]
name = "{name}"
description = "A PromEmu scenario pack."
version = "0.1.0"
edition = "2024"
license = "MIT OR Apache-2.0"
publish = false

[lib]
crate-type = ["cdylib"]

[dependencies]
promemu-guest = {{ path = "vendor/promemu-guest" }}

# Small, fast components.
[profile.release]
opt-level = "s"
lto = true
codegen-units = 1
panic = "abort"
strip = true
debug = false

# A project of its own, even inside another workspace.
[workspace]

# For cargo-component (`cargo component build --release`, which writes
# target/wasm32-wasip1/release/{library}.wasm): the contract the vendored SDK
# carries and the world this pack implements. cargo-component also generates
# src/bindings.rs, which this crate does not use (the SDK has its own).
[package.metadata.component]
package = "promemu:{package}"

[package.metadata.component.target]
path = "vendor/promemu-guest/wit"
world = "scenario-pack"
"#
    )
}

const RUST_BUILD: &str = r#"#!/usr/bin/env bash
# Builds @NAME@.wasm: the crate for wasm32-unknown-unknown, made a component (with
# this Cargo.toml's name, version and description as its metadata) by promemu.
# PROMEMU names the promemu binary when it is not on PATH.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
if command -v rustup >/dev/null 2>&1; then
    rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
fi
cargo build --release --target wasm32-unknown-unknown
target_dir="${CARGO_TARGET_DIR:-target}"
"${PROMEMU:-promemu}" plugin componentize "$target_dir/wasm32-unknown-unknown/release/@LIB@.wasm" \
    --output @NAME@.wasm --manifest Cargo.toml
echo "Built @NAME@.wasm; try: promemu scenarios --plugin @NAME@.wasm"
"#;

const RUST_README: &str = r#"# @NAME@

A PromEmu scenario pack in Rust. It starts as the SDK's example, `sawtooth`: a
ramp from `low` to `high` over `period` seconds, with seeded `jitter`, an event
that restarts it (`restart_on`), an event it sends when it wraps (`announce`),
another metric it can follow (`follow`, a link), and a debug log line.

Build it (needs Rust with the `wasm32-unknown-unknown` target, which build.sh
adds through rustup, and `promemu` on PATH or in `$PROMEMU`):

    ./build.sh

Use it:

    promemu scenarios --plugin @NAME@.wasm                 # lists sawtooth and its parameters
    promemu --plugin @NAME@.wasm --config my.toml          # a config whose metrics use scenario = "sawtooth"
    promemu preview --plugin @NAME@.wasm --config my.toml  # see what it draws

Layout:

    src/lib.rs               the scenarios: rename, change, add more
    vendor/promemu-guest/    the guest SDK with the contract's WIT (wit/promemu.wit)
    build.sh                 cargo build, then promemu plugin componentize

With cargo-component (`cargo install --locked cargo-component@0.21.1`) the same
crate also builds as it is: `cargo component build --release` writes
`target/wasm32-wasip1/release/@LIB@.wasm`, a component with the WASI adapter
(promemu links WASI deny-all) and the manifest's metadata. It generates
`src/bindings.rs`, which the crate does not use: the SDK brings its own.

The README of promemu ("Writing plugins") describes the contract, the SDK's
parameter helpers, the sandbox's limits, and what a step costs.
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_vendored_wit_is_the_contract() {
        assert_eq!(SDK_FILES[3].1, include_str!("../../../wit/promemu.wit"));
    }

    #[test]
    fn bad_names_and_used_folders_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["Demo", "9lives", "a/b", ""] {
            let err = new_project(name, Language::Rust, dir.path()).unwrap_err();
            assert!(
                err.is_bad_input() && err.to_string().contains("not a usable"),
                "{err}"
            );
        }
        let root = new_project("demo", Language::Rust, dir.path()).unwrap();
        assert!(root.join("vendor/promemu-guest/wit/promemu.wit").is_file());
        let err = new_project("demo", Language::Rust, dir.path()).unwrap_err();
        assert!(err.to_string().contains("is not empty"), "{err}");
    }
}
