//! What `--check` says about a config that would run.

use std::collections::BTreeMap;
use std::fmt;

use crate::mixer::Mixer;
use crate::model::MixerConfig;
use crate::plugin::{BUILTIN_PACK_NAME, PackIdentity, Plugin};
use crate::sim::{PluginUsage, Simulation};

/// A prepared run in figures: hosts, series, jobs, scenarios and listened events.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckSummary {
    pub config: String,
    pub seed: u64,
    pub hosts: usize,
    pub series: usize,
    pub push_interval: f64,
    /// (job, hosts), in order of first appearance.
    pub jobs: Vec<(String, usize)>,
    /// Series per scenario.
    pub scenarios: BTreeMap<String, usize>,
    /// The plugin that runs each scenario.
    pub providers: BTreeMap<String, String>,
    /// What each scenario plugin's instances hold against their caps.
    pub plugins: Vec<PluginUsage>,
    /// Threads that groups of different plugin instances are stepped on, at most.
    pub threads: usize,
    /// Series listening to each event.
    pub listened: BTreeMap<String, usize>,
    /// Every loaded pack: its name in the run, its identity, where it came from.
    pub packs: Vec<(String, PackIdentity, String)>,
}

impl CheckSummary {
    pub fn new(
        config: &MixerConfig,
        mixer: &Mixer,
        simulation: &Simulation,
        plugins: &[Plugin],
        seed: u64,
        push_interval: f64,
    ) -> Self {
        let mut scenarios: BTreeMap<String, usize> = BTreeMap::new();
        let mut listened: BTreeMap<String, usize> = BTreeMap::new();
        for host in &config.hosts {
            for metric in host.metrics.iter() {
                *scenarios.entry(metric.scenario.clone()).or_default() += 1;
                for event in metric.listen_events.iter().chain(&host.listen_events) {
                    *listened.entry(event.clone()).or_default() += 1;
                }
            }
        }
        let providers = scenarios
            .keys()
            .filter_map(|scenario| {
                let provider = simulation.provider(scenario)?;
                Some((scenario.clone(), provider.to_string()))
            })
            .collect();
        Self {
            providers,
            plugins: simulation
                .plugin_usage()
                .into_iter()
                .filter(|usage| usage.series > 0)
                .collect(),
            threads: simulation.threads(),
            config: config.name.clone(),
            seed,
            hosts: config.hosts.len(),
            series: config.hosts.iter().map(|host| host.metrics.len()).sum(),
            push_interval,
            jobs: mixer
                .jobs()
                .iter()
                .map(|job| (job.name.clone(), job.hosts.len()))
                .collect(),
            scenarios,
            listened,
            packs: plugins
                .iter()
                .map(|plugin| {
                    let origin = if plugin.name() == BUILTIN_PACK_NAME {
                        "embedded"
                    } else if plugin.name().starts_with("oci://") {
                        "registry"
                    } else {
                        "file"
                    };
                    (
                        plugin.name().to_string(),
                        plugin.identity().clone(),
                        origin.to_string(),
                    )
                })
                .collect(),
        }
    }
}

fn counted(counts: &BTreeMap<String, usize>) -> String {
    counts
        .iter()
        .map(|(name, count)| format!("{name} x{count}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The ending of a noun counted `count` times: "" for one, "s" otherwise.
fn plural(count: usize) -> &'static str {
    if count == 1 { "" } else { "s" }
}

impl fmt::Display for CheckSummary {
    fn fmt(&self, out: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            out,
            "Config <{}> is valid (seed {}): {} hosts, {} series, push every {}s",
            self.config, self.seed, self.hosts, self.series, self.push_interval
        )?;
        for (job, hosts) in &self.jobs {
            writeln!(out, "  job {job}: {hosts} hosts")?;
        }
        let scenarios: Vec<String> = self
            .scenarios
            .iter()
            .map(|(name, count)| match self.providers.get(name) {
                Some(plugin) => format!("{name} x{count} ({plugin})"),
                None => format!("{name} x{count}"),
            })
            .collect();
        writeln!(out, "  scenarios: {}", scenarios.join(", "))?;
        for usage in &self.plugins {
            let mib = |bytes: usize| bytes as f64 / f64::from(1 << 20);
            writeln!(
                out,
                "  plugin {}: {} series on {} instance{} ({} stepped in {} group{}), {:.1} MiB held of {:.0} MiB of caps",
                usage.plugin,
                usage.series,
                usage.instances,
                plural(usage.instances),
                usage.grouped,
                usage.groups,
                plural(usage.groups),
                mib(usage.memory_bytes),
                mib(usage.cap_bytes)
            )?;
        }
        writeln!(
            out,
            "  groups of different instances are stepped on up to {} thread{} (--threads)",
            self.threads,
            plural(self.threads)
        )?;
        for (name, identity, origin) in &self.packs {
            writeln!(
                out,
                "  pack {name}: {}, {} ({origin})",
                match (&identity.name, &identity.version) {
                    (Some(pack), Some(version)) => format!("{pack} {version}"),
                    (Some(pack), None) => format!("{pack}, no version"),
                    (None, _) => "no name or version".to_string(),
                },
                identity.digest
            )?;
        }
        if !self.listened.is_empty() {
            writeln!(
                out,
                "  listened events (series): {}",
                counted(&self.listened)
            )?;
        }
        Ok(())
    }
}
