//! `promemu scenarios` and `promemu plugin ...`: listing and inspecting plugins.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context;

use super::print;
use crate::plugin::{
    Limits, PackIdentity, PackMetadata, PluginRuntime, ScenarioInfo,
    componentize as encode_component, inspect as summarize,
};
use crate::registry::{Registry, default_cache};
use crate::session::load_pack;

/// Prints every scenario of the built-in pack and of each plugin file.
pub fn list_scenarios(plugin_files: &[impl AsRef<Path>]) -> anyhow::Result<()> {
    let runtime = PluginRuntime::new(Limits::default())?;
    let mut plugins = vec![runtime.builtin()?];
    for file in plugin_files {
        plugins.push(load_pack(&runtime, &file.as_ref().to_string_lossy(), None)?);
    }
    let mut out = String::new();
    for plugin in plugins {
        if !plugin.offers_scenarios() {
            writeln!(
                out,
                "{} (no scenarios; config builders only)\n",
                plugin.name()
            )?;
            continue;
        }
        let scenarios = plugin.instantiate(0)?.list_scenarios()?;
        let count = scenarios.len();
        let noun = if count == 1 { "scenario" } else { "scenarios" };
        writeln!(
            out,
            "{} ({count} {noun}; {})",
            plugin.name(),
            plugin.identity().short()
        )?;
        for scenario in &scenarios {
            describe_scenario(&mut out, scenario)?;
        }
        writeln!(out)?;
    }
    print(&out)
}

fn describe_scenario(out: &mut String, scenario: &ScenarioInfo) -> std::fmt::Result {
    writeln!(out, "  {}", scenario.name)?;
    writeln!(out, "      {}", scenario.description)?;
    for param in &scenario.params {
        writeln!(
            out,
            "      - {} = {}: {}",
            param.name, param.default_value, param.description
        )?;
    }
    Ok(())
}

/// Prints what a WebAssembly file imports and exports.
pub fn inspect(file: &Path) -> anyhow::Result<()> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let name = file.display().to_string();
    // A component for another contract is refused before anything compiles it.
    if wasmparser::Parser::is_component(&bytes)
        && let Err(err) = crate::plugin::check_contract_versions(&name, &bytes)
    {
        print(&format!(
            "{name}\n{}contract: does not fit\n",
            PackIdentity::of(&bytes).lines()
        ))?;
        return Err(err.into());
    }
    let runtime = PluginRuntime::new(Limits::default())?;
    let summary = summarize(runtime.engine(), &name, &bytes)?;
    let mut out = format!("{name}\n{}{summary}", PackIdentity::of(&bytes).lines());
    // A component that does not fit is bad input: the summary, then the error.
    match runtime.load_bytes(&name, &bytes) {
        Ok(plugin) => writeln!(
            out,
            "contract: scenarios {}, config builders {}, WASI {}",
            yes_no(plugin.offers_scenarios()),
            yes_no(plugin.offers_builders()),
            if plugin.uses_wasi() {
                "imported (linked deny-all)"
            } else {
                "not imported"
            }
        )?,
        Err(err) => {
            writeln!(out, "contract: does not fit")?;
            print(&out)?;
            return Err(err.into());
        }
    }
    print(&out)
}

fn yes_no(flag: bool) -> &'static str {
    if flag { "yes" } else { "no" }
}

/// Wraps a core module into a component (a component is taken as it is), with
/// the metadata of a project `manifest` when given (Cargo.toml, pyproject.toml
/// or package.json), and refuses one that would not load as a plugin (a module
/// that exports nothing of the contract, say). The check compiles it into the
/// compile cache, so the pack's first run starts at once.
pub fn componentize(input: &Path, output: &Path, manifest: Option<&Path>) -> anyhow::Result<()> {
    let bytes = std::fs::read(input).with_context(|| format!("cannot read {}", input.display()))?;
    let name = input.display().to_string();
    let mut component = if wasmparser::Parser::is_component(&bytes) {
        bytes
    } else {
        encode_component(&name, &bytes)?
    };
    if let Some(manifest) = manifest {
        component = PackMetadata::from_manifest(manifest)
            .and_then(|metadata| metadata.add_to(&component))
            .map_err(|err| crate::plugin::PluginError::Metadata {
                plugin: name.clone(),
                source: err,
            })?;
    }
    PluginRuntime::new(Limits::default())?.load_bytes(&name, &component)?;
    std::fs::write(output, &component)
        .with_context(|| format!("cannot write {}", output.display()))?;
    print(&format!(
        "wrote {} ({} bytes)\n",
        output.display(),
        component.len()
    ))
}

/// Pushes a pack to a registry, after checking that it loads as a plugin.
pub fn push(file: &Path, reference: &str) -> anyhow::Result<()> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let runtime = PluginRuntime::new(Limits::default())?;
    let name = file.display().to_string();
    let plugin = runtime.load_bytes(&name, &bytes)?;
    let summary = summarize(runtime.engine(), &name, &bytes)?;
    let names =
        |items: &[(String, Vec<String>)]| items.iter().map(|(name, _)| name.clone()).collect();
    let reference = reference.strip_prefix("oci://").unwrap_or(reference);
    let pushed = Registry::from_env(default_cache())
        .map_err(crate::session::SessionError::from)?
        .push(
            &bytes,
            plugin.identity(),
            names(&summary.imports),
            names(&summary.exports),
            reference,
        )
        .map_err(crate::session::SessionError::from)?;
    print(&format!(
        "pushed {} to {reference}\nmanifest: {}\ncomponent: {}\npin it as oci://{}@{}\n",
        plugin.identity().short(),
        pushed.manifest_digest,
        pushed.component_digest,
        without_tag(reference),
        pushed.manifest_digest
    ))
}

/// Pulls a pack from a registry into the local cache and says where it is.
pub fn pull(reference: &str) -> anyhow::Result<()> {
    let reference = reference.strip_prefix("oci://").unwrap_or(reference);
    let pulled = Registry::from_env(default_cache())
        .and_then(|registry| registry.pull(reference))
        .map_err(crate::session::SessionError::from)?;
    let identity = PackIdentity::of(&std::fs::read(&pulled.path)?);
    print(&format!(
        "{}\n{}manifest: {}\n{}\n",
        pulled.path.display(),
        identity.lines(),
        pulled.manifest_digest,
        if pulled.cached {
            "(from the cache)"
        } else {
            "(downloaded)"
        }
    ))
}

/// `host:port/repository` of `host:port/repository[:tag][@digest]`.
fn without_tag(reference: &str) -> &str {
    let reference = reference.split('@').next().unwrap_or(reference);
    let last_segment = reference.rfind('/').map_or(0, |slash| slash + 1);
    match reference[last_segment..].find(':') {
        Some(colon) => &reference[..last_segment + colon],
        None => reference,
    }
}
