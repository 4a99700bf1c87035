//! Scenarios of any loaded plugin run on behalf of another plugin's series: the
//! host side of the contract's `nested-scenario` resource, and the directory of
//! which plugin offers which scenario.
//!
//! A plugin that nests a scenario it does not offer itself asks the host, which
//! runs it in a private instance of the offering plugin, owned by the caller's
//! store. Nothing is shared between stores, so a plugin may even nest its own
//! scenarios this way; the instances go when the caller's store goes (a restart
//! rebuilds them). Events and log lines of a nested step count as the caller's,
//! under the caller's limits. A fault in a nested scenario rebuilds only the
//! private instance that runs it; the caller gets no value, and its step is
//! reported as a fault of the calling series (see `PluginError::NestedFault`),
//! without rebuilding the caller's instance or disturbing its other series.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use rand::RngExt;
use wasmtime::component::{Resource, ResourceTable};

use super::bindings::host;
use super::bindings::types::{Context, MetricInfo};
use super::engine::{Plugin, PluginInner};
use super::error::PluginError;
use super::instance::{PluginInstance, SeriesSpec, SlotId};
use super::limits::{MemoryFamily, nesting_reserve};
use super::state::StoreState;

/// Longest chain of nested scenarios (one nesting one that nests one ...), so a
/// scenario that nests itself cannot instantiate plugins without end.
pub const MAX_NESTING_DEPTH: usize = 4;

/// Which loaded plugin offers which scenarios, in load order; where several offer
/// a name, the one loaded last wins (with a warning naming both), unless the name
/// is qualified by its plugin: `builtin/sine_wave`, `custom/sine_wave` (a plugin
/// by file stem, file name or path). The one place that decides which plugin runs
/// a scenario, for a metric's own scenario and for nested ones alike.
#[derive(Default)]
pub struct ScenarioDirectory {
    entries: Vec<(Arc<PluginInner>, Vec<String>)>,
}

impl ScenarioDirectory {
    /// Adds `plugin`, which offers the scenarios `names`; its names shadow those
    /// of plugins added before.
    pub fn add(&mut self, plugin: &Plugin, names: Vec<String>) {
        for name in &names {
            if let Some(previous) = self.owner(name) {
                let (shadowed, new) = (&self.entries[previous].0.name, plugin.name());
                tracing::warn!(
                    "scenario {name} of {new} shadows the one of {shadowed}: unqualified, '{name}' now runs {new}'s (write '{}/{name}' for the other)",
                    Path::new(shadowed)
                        .file_stem()
                        .map_or(shadowed.as_str(), |stem| stem.to_str().unwrap_or(shadowed))
                );
            }
        }
        self.entries.push((plugin.inner().clone(), names));
    }

    /// The position (in the order plugins were added) of the plugin that runs
    /// `scenario`: the last one added that offers it, or for `plugin/name` the
    /// plugin so named, if it offers it.
    pub fn owner(&self, scenario: &str) -> Option<usize> {
        let name = unqualified(scenario);
        let qualifier = scenario.rsplit_once('/').map(|(plugin, _)| plugin);
        self.entries.iter().rposition(|(plugin, names)| {
            qualifier.is_none_or(|key| plugin.is_named(key))
                && names.iter().any(|offered| offered == name)
        })
    }

    /// The name of the plugin that runs `scenario`, if one does.
    pub fn provider(&self, scenario: &str) -> Option<&str> {
        self.owner(scenario)
            .map(|index| self.entries[index].0.name.as_str())
    }

    /// Every scenario name offered, sorted, for messages.
    pub fn offered(&self) -> String {
        let mut names: Vec<&str> = self
            .entries
            .iter()
            .flat_map(|(_, names)| names.iter().map(String::as_str))
            .collect();
        names.sort_unstable();
        names.dedup();
        if names.is_empty() {
            "none (no plugin was made available for nesting)".into()
        } else {
            names.join(", ")
        }
    }
}

/// A scenario's name as its plugin knows it: `sine_wave` for `builtin/sine_wave`.
pub fn unqualified(scenario: &str) -> &str {
    scenario.rsplit_once('/').map_or(scenario, |(_, name)| name)
}

/// The host's record behind one `nested-scenario` handle.
pub struct NestedSeries {
    /// Index of the offering plugin in the directory.
    plugin: usize,
    series: SlotId,
}

/// The nesting state of one store.
pub(super) struct Nesting {
    directory: Arc<ScenarioDirectory>,
    /// 0 for an instance the simulation drives, 1 for one nested in it, ...
    depth: usize,
    seed: u64,
    /// Private instances of the directory's plugins, created on first use.
    instances: Vec<Option<PluginInstance>>,
    table: ResourceTable,
}

impl Nesting {
    pub(super) fn new(directory: Arc<ScenarioDirectory>, depth: usize, seed: u64) -> Self {
        Self {
            directory,
            depth,
            seed,
            instances: Vec::new(),
            table: ResourceTable::new(),
        }
    }

    /// Makes `directory` the one nested scenarios are looked up in from now on.
    pub(super) fn set_directory(&mut self, directory: Arc<ScenarioDirectory>) {
        self.directory = directory;
        self.instances.clear();
    }

    /// The private instance of the directory's plugin `index`, counted against
    /// the caller's memory `family`.
    fn instance(
        &mut self,
        index: usize,
        family: &Arc<MemoryFamily>,
    ) -> Result<&mut PluginInstance, PluginError> {
        if self.instances.len() < self.directory.entries.len() {
            self.instances
                .resize_with(self.directory.entries.len(), || None);
        }
        if self.instances[index].is_none() {
            let plugin = self.directory.entries[index].0.clone();
            let instance = PluginInstance::new(
                plugin,
                self.seed,
                self.directory.clone(),
                self.depth + 1,
                Some(family.clone()),
            )?;
            self.instances[index] = Some(instance);
        }
        self.instances[index]
            .as_mut()
            .ok_or_else(|| PluginError::Runtime {
                plugin: "host".into(),
                message: "nested instance missing".into(),
            })
    }

    fn series_of(&mut self, handle: &Resource<NestedSeries>) -> wasmtime::Result<(usize, SlotId)> {
        let nested = self.table.get(handle)?;
        Ok((nested.plugin, nested.series))
    }
}

impl StoreState {
    /// The private instance of the directory's plugin `index`, ready for a call
    /// made within the current one: its memory counts against this instance's
    /// cap, and it must end early enough to leave this call time of its own.
    fn nested_instance(&mut self, index: usize) -> Result<&mut PluginInstance, PluginError> {
        let family = self.memory.family().clone();
        let until = self
            .deadline
            .checked_sub(nesting_reserve(self.limits.call_deadline));
        let instance = self.nesting.instance(index, &family)?;
        instance.set_budget_until(until.unwrap_or_else(Instant::now));
        Ok(instance)
    }
}

impl host::HostNestedScenario for StoreState {
    fn create(
        &mut self,
        name: String,
        params: String,
        info: MetricInfo,
    ) -> Result<Resource<NestedSeries>, String> {
        if self.nesting.depth >= MAX_NESTING_DEPTH {
            return Err(format!(
                "cannot nest '{name}': scenarios nest at most {MAX_NESTING_DEPTH} levels deep"
            ));
        }
        let Some(plugin) = self.nesting.directory.owner(&name) else {
            return Err(format!(
                "unknown scenario '{name}'; the loaded plugins offer: {}",
                self.nesting.directory.offered()
            ));
        };
        // Its own stream, derived from the caller's: same seed, same nested values.
        let stream_key = format!("nested/{:016x}", self.current_stream().random::<u64>());
        let spec = SeriesSpec {
            scenario: unqualified(&name).to_string(),
            params,
            info,
            stream_key,
        };
        let series = self
            .nested_instance(plugin)
            .and_then(|instance| instance.create_series(spec))
            .map_err(|err| match err {
                PluginError::Rejected { message, .. } => message,
                other => other.to_string(),
            })?;
        self.nesting
            .table
            .push(NestedSeries { plugin, series })
            .map_err(|err| format!("cannot keep another nested scenario: {err}"))
    }

    fn links(&mut self, handle: Resource<NestedSeries>) -> wasmtime::Result<Vec<String>> {
        let (plugin, series) = self.nesting.series_of(&handle)?;
        Ok(self.nested_instance(plugin)?.links(series)?)
    }

    fn step(
        &mut self,
        handle: Resource<NestedSeries>,
        ctx: Context,
    ) -> wasmtime::Result<Option<f64>> {
        let (plugin, series) = self.nesting.series_of(&handle)?;
        let sender = self.event_sender.clone();
        let output = match self
            .nested_instance(plugin)
            .and_then(|instance| instance.step_sent_by(series, ctx, sender))
        {
            Ok(output) => output,
            Err(err) => {
                self.capture.nested_fault = Some(err.to_string());
                return Ok(None);
            }
        };
        self.capture.events_dropped += output.events_dropped;
        self.capture.log_bytes_dropped += output.log_bytes_dropped;
        for event in output.events {
            host::Host::emit(
                self,
                event.name,
                event.source.unwrap_or_default(),
                event.payload,
            )?;
        }
        for line in output.logs {
            host::Host::log(self, line.level, line.message)?;
        }
        Ok(output.value)
    }

    fn drop(&mut self, handle: Resource<NestedSeries>) -> wasmtime::Result<()> {
        let nested = self.nesting.table.delete(handle)?;
        if let Some(Some(instance)) = self.nesting.instances.get_mut(nested.plugin) {
            instance.remove_series(nested.series);
        }
        Ok(())
    }
}
