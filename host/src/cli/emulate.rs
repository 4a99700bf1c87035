//! The main job: load the config, build the simulation and run it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;

use super::{BadInput, RunArgs};
use crate::configs::{ConfigCatalog, ConfigRequest, default_configs_dir};
use crate::mixer::{Mixer, StatusOptions};
use crate::model::{LimitOverrides, MixerConfig, validate};
use crate::plugin::{Limits, Plugin, PluginRuntime};
use crate::run::{PushOptions, RunOptions, run as run_emulation};
use crate::sim::Simulation;

/// Push interval when neither the command line nor the config sets one.
const DEFAULT_PUSH_INTERVAL: f64 = 15.0;

pub fn run(args: &RunArgs, plugin_files: &[PathBuf]) -> anyhow::Result<u8> {
    let runtime = PluginRuntime::new(args.limits.limits())?;
    let mut plugins: Vec<Plugin> = vec![runtime.builtin()?];
    for file in plugin_files {
        plugins.push(runtime.load_file(file)?);
    }
    let configs_dir = args.configs_dir.clone().or_else(default_configs_dir);
    let catalog = ConfigCatalog::discover(&runtime, configs_dir, &plugins[1..])?;

    if args.list_configs {
        let listed = catalog.list();
        let width = listed
            .iter()
            .map(|entry| entry.name.len())
            .max()
            .unwrap_or(0);
        let mut out = String::from("Available configurations:\n");
        for entry in listed {
            out.push_str(&format!(
                "  {:width$}  {} [{}]\n",
                entry.name, entry.description, entry.origin
            ));
        }
        super::print(&out)?;
        return Ok(0);
    }

    tracing::info!("Loading configuration: <{}>", args.config);
    if !args.config_args.is_empty() {
        tracing::info!("Config arguments: {}", format_args_map(&args.config_args));
    }
    let request = ConfigRequest {
        config: args.config.clone(),
        class: args.class.clone(),
        args: args.config_args.clone(),
    };
    let mut config = catalog.load(&runtime, &request)?;
    let seed = args.seed.unwrap_or_else(random_seed);
    for host in &mut config.hosts {
        host.fill_identity(seed);
    }
    let problems = validate(&config);
    if !problems.is_empty() {
        let listed: Vec<String> = problems
            .iter()
            .map(|problem| format!("  - {problem}"))
            .collect();
        return Err(BadInput(format!(
            "config '{}' is not valid:\n{}",
            config.name,
            listed.join("\n")
        ))
        .into());
    }
    apply_plugin_limits(&mut plugins, &config.plugin_limits)?;
    tracing::info!("Seed: {seed} (pass --seed {seed} to repeat this run)");
    for host in &config.hosts {
        tracing::info!(
            target: "promemu::sim",
            "Created host <{}>: {} / {}",
            host.name,
            host.host,
            host.address
        );
    }

    let fault_policy = args
        .fault_policy
        .or(config.fault_policy)
        .unwrap_or_default();
    let simulation = Simulation::new(&config, &plugins, seed)?.with_fault_policy(fault_policy);
    let default_job = args
        .default_job_name
        .clone()
        .or(config.default_job_name.clone())
        .unwrap_or_else(|| {
            format!(
                "{}_{}",
                config.name,
                chrono::Local::now().format("%Y-%m-%dT%H-%M-%S%.6f")
            )
        });
    let mixer = Mixer::new(&config, &default_job);
    tracing::info!(
        target: "promemu::mixer",
        "Created MetricsMixer with {} hosts across {} job groups",
        config.hosts.len(),
        mixer.jobs().len()
    );

    let push_interval = args
        .push_interval
        .or(config.push_interval)
        .unwrap_or(DEFAULT_PUSH_INTERVAL);
    if push_interval <= 0.0 {
        return Err(BadInput(format!(
            "--push-interval must be greater than 0, got {push_interval}"
        ))
        .into());
    }
    if args.check {
        super::print(&check_summary(&config, &mixer, seed, push_interval))?;
        return Ok(0);
    }
    let push = (!args.no_push).then(|| PushOptions {
        url: args.pushgateway_url.clone(),
        cleanup_on_start: args.cleanup_on_start,
        cleanup_on_finish: args.cleanup_on_finish,
    });
    let options = RunOptions {
        push: push.clone(),
        push_interval: Duration::from_secs_f64(push_interval),
        listen: (!args.no_listen).then_some(args.listen),
        status_interval: (args.status_interval > 0.0)
            .then(|| Duration::from_secs_f64(args.status_interval)),
        stop_after: args.duration.map(Duration::from_secs_f64),
        status: StatusOptions {
            pushgateway_url: push.as_ref().map(|push| push.url.clone()),
            push_interval,
            show_metrics: args.show_metrics_status,
        },
    };

    tracing::info!("------------------------------");
    tracing::info!(
        "Starting metrics emulation with <{}> hosts",
        config.hosts.len()
    );
    tracing::info!("Configuration: <{}>", config.name);
    if !args.config_args.is_empty() {
        tracing::info!("Config arguments: {}", format_args_map(&args.config_args));
    }
    match &push {
        Some(push) => tracing::info!("Pushgateway URL: <{}>", push.url),
        None => tracing::info!("Pushgateway: off"),
    }
    tracing::info!("Press Ctrl+C to stop");
    tracing::info!("------------------------------");
    tracing::info!(target: "promemu::mixer", "Starting MetricsMixer...");

    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting tokio")?;
    // Every way a run ends by itself is a success, a clean stop on a signal too; a
    // second signal exits at once from inside `run` with 128 + its number.
    tokio.block_on(run_emulation(simulation, mixer, options))?;
    Ok(0)
}

/// What `--check` prints about a config that would run.
fn check_summary(config: &MixerConfig, mixer: &Mixer, seed: u64, push_interval: f64) -> String {
    let series: usize = config.hosts.iter().map(|host| host.metrics.len()).sum();
    let mut scenarios: BTreeMap<&str, usize> = BTreeMap::new();
    let mut listened: BTreeMap<&str, usize> = BTreeMap::new();
    for host in &config.hosts {
        for metric in &host.metrics {
            *scenarios.entry(&metric.scenario).or_default() += 1;
            for event in metric.listen_events.iter().chain(&host.listen_events) {
                *listened.entry(event).or_default() += 1;
            }
        }
    }
    let counted = |counts: BTreeMap<&str, usize>| {
        counts
            .iter()
            .map(|(name, count)| format!("{name} x{count}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut out = format!(
        "Config <{}> is valid (seed {seed}): {} hosts, {series} series, push every {push_interval}s
",
        config.name,
        config.hosts.len()
    );
    for job in mixer.jobs() {
        out.push_str(&format!(
            "  job {}: {} hosts
",
            job.name,
            job.hosts.len()
        ));
    }
    out.push_str(&format!(
        "  scenarios: {}
",
        counted(scenarios)
    ));
    if !listened.is_empty() {
        out.push_str(&format!(
            "  listened events (series): {}
",
            counted(listened)
        ));
    }
    out
}

/// Applies a config's `plugin_limits` to the plugins they name (by file name, path
/// or `builtin`); naming a plugin that is not loaded is an error.
fn apply_plugin_limits(
    plugins: &mut [Plugin],
    overrides: &BTreeMap<String, LimitOverrides>,
) -> anyhow::Result<()> {
    for (key, limits) in overrides {
        let matches = |plugin: &Plugin| {
            plugin.name() == key
                || Path::new(plugin.name())
                    .file_name()
                    .is_some_and(|name| name == key.as_str())
        };
        let Some(plugin) = plugins.iter_mut().find(|plugin| matches(plugin)) else {
            let loaded: Vec<&str> = plugins.iter().map(Plugin::name).collect();
            return Err(BadInput(format!(
                "plugin_limits names '{key}', which is not a loaded plugin (loaded: {})",
                loaded.join(", ")
            ))
            .into());
        };
        let mut merged: Limits = plugin.limits();
        if let Some(seconds) = limits.call_deadline {
            merged.call_deadline = Duration::from_secs_f64(seconds);
        }
        if let Some(bytes) = limits.memory_bytes {
            merged.memory_bytes = usize::try_from(bytes).unwrap_or(usize::MAX);
        }
        if let Some(events) = limits.events_per_step {
            merged.events_per_call = events;
        }
        if let Some(bytes) = limits.log_bytes_per_step {
            merged.log_bytes_per_call = usize::try_from(bytes).unwrap_or(usize::MAX);
        }
        tracing::info!("Limits for plugin {}: {merged:?}", plugin.name());
        *plugin = plugin.with_limits(merged);
    }
    Ok(())
}

fn format_args_map(args: &[(String, String)]) -> String {
    let pairs: Vec<String> = args
        .iter()
        .map(|(key, value)| format!("'{key}': {value}"))
        .collect();
    format!("{{{}}}", pairs.join(", "))
}

/// A seed from the wall clock, for runs without --seed.
fn random_seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos());
    (nanos as u64) ^ u64::from(std::process::id()).rotate_left(32)
}
