//! A live plugin instance: one store, the bound exports, and a table of series
//! (scenario resource handles). Every call runs under the epoch deadline and the
//! memory cap; after a trap the instance is rebuilt from its `InstancePre` and every
//! live series is created again (its random stream carries on where it was).

use std::sync::Arc;
use std::time::Instant;

use wasmtime::Store;
use wasmtime::component::ResourceAny;

use super::bindings::types::{BuilderInfo, Context, MetricInfo, MixerConfig, ScenarioInfo, Sender};
use super::bindings::{batch, config_builder, scenarios};
use super::engine::PluginInner;
use super::error::{Fault, PluginError};
use super::group::{GroupId, GroupSlot, MemberId};
use super::limits::{MemoryFamily, deadline_ticks};
use super::nested::{Nesting, ScenarioDirectory};
use super::state::{CallCapture, EmittedEvent, PluginLogLine, StoreState, stream_for};
use super::wasi::WasiState;

/// Component handles a store may hold besides two per series (its own handle and
/// a borrow during a call). wasmtime caps live handles per store (100 000 by
/// default) so a guest cannot grow host memory without bound by minting them; the
/// cap grows with the series a run actually creates.
const HANDLE_HEADROOM: usize = 100_000;

/// A series' slot in its plugin instance (its scenario handle and random stream).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SlotId(usize);

impl SlotId {
    #[cfg(test)]
    pub(crate) const fn new(index: usize) -> Self {
        Self(index)
    }

    /// The slot's position in its instance.
    pub const fn index(self) -> usize {
        self.0
    }
}

/// What a series is: which scenario, with which parameters, for which metric.
#[derive(Debug, Clone)]
pub struct SeriesSpec {
    pub scenario: String,
    /// JSON object text; "" for defaults.
    pub params: String,
    pub info: MetricInfo,
    /// Names the series' random stream: "host/metric" for a series the
    /// simulation drives, "nested/<hex>" for a nested one.
    pub stream_key: String,
}

/// The inputs of one step: the contract's `context` record itself, so a step
/// hands it to the plugin without copying its event and links again.
pub type StepInput = Context;

/// What one step produced.
#[derive(Debug, Default)]
pub struct StepOutput {
    /// The new value; `None` keeps the current one.
    pub value: Option<f64>,
    pub events: Vec<EmittedEvent>,
    pub events_dropped: usize,
    pub logs: Vec<PluginLogLine>,
    pub log_bytes_dropped: usize,
}

struct SeriesSlot {
    spec: SeriesSpec,
    /// `None` once removed, or while its creation keeps trapping after a restart.
    handle: Option<ResourceAny>,
    removed: bool,
}

/// A running instance of a plugin.
pub struct PluginInstance {
    pub(super) plugin: Arc<PluginInner>,
    pub(super) seed: u64,
    /// Where nested scenarios are looked up, and how deep this instance nests.
    directory: Arc<ScenarioDirectory>,
    depth: usize,
    /// The memory cap it shares with the instances it nests (and, when it is
    /// nested itself, with its caller's).
    family: Arc<MemoryFamily>,
    pub(super) store: Store<StoreState>,
    pub(super) guests: Guests,
    series: Vec<SeriesSlot>,
    /// Series groups of the batch interface (see `group`).
    pub(super) groups: Vec<GroupSlot>,
    /// Members queued for their groups but not yet added to the guest's, in
    /// order (see [`PluginInstance::queue_member`]).
    pub(super) queued: Vec<(GroupId, MemberId)>,
    /// Slots of removed series, reused by the next creations (nested scenarios
    /// come and go with events; their slots must not pile up).
    free: Vec<SlotId>,
    restarts: u64,
    /// Linear memory the instance held before it had any series.
    start_memory: usize,
    /// For a nested instance: when the calling scenario's own deadline leaves no
    /// more time to its nested calls. Each of its calls ends by then.
    budget_until: Option<Instant>,
    /// A nested instance that trapped is rebuilt on its next use, in the time of
    /// the call that uses it, not in the time of the call it trapped in.
    needs_restart: bool,
}

impl PluginInstance {
    pub(super) fn new(
        plugin: Arc<PluginInner>,
        seed: u64,
        directory: Arc<ScenarioDirectory>,
        depth: usize,
        family: Option<Arc<MemoryFamily>>,
    ) -> Result<Self, PluginError> {
        let family = family.unwrap_or_else(|| MemoryFamily::new(plugin.limits.memory_bytes));
        let mut store = new_store(&plugin, seed, &directory, depth, &family);
        let guests = instantiate(&plugin, &mut store).map_err(|err| PluginError::Trap {
            plugin: plugin.name.clone(),
            call: "instantiation".into(),
            fault: Fault::of(&err),
        })?;
        let start_memory = store.data().memory.granted();
        Ok(Self {
            start_memory,
            plugin,
            seed,
            directory,
            depth,
            family,
            store,
            guests,
            groups: Vec::new(),
            queued: Vec::new(),
            series: Vec::new(),
            free: Vec::new(),
            restarts: 0,
            budget_until: None,
            needs_restart: false,
        })
    }

    /// The plugin's name.
    pub fn plugin_name(&self) -> &str {
        &self.plugin.name
    }

    /// Lets this instance's scenarios nest the scenarios of `directory`'s plugins
    /// (see the contract's `nested-scenario`).
    pub fn set_directory(&mut self, directory: Arc<ScenarioDirectory>) {
        self.store
            .data_mut()
            .nesting
            .set_directory(directory.clone());
        self.directory = directory;
    }

    /// Bytes of linear memory the instance holds (not counting the private
    /// instances of scenarios it nests).
    pub fn memory_bytes(&self) -> usize {
        self.store.data().memory.granted()
    }

    /// Whether its series have used half the memory the cap leaves beyond what
    /// the instance held when it started: the moment to give new series to
    /// another instance.
    pub fn is_half_full(&self) -> bool {
        let start = self.start_memory;
        let grown = self.memory_bytes().saturating_sub(start);
        grown > 0 && grown >= self.plugin.limits.memory_bytes.saturating_sub(start) / 2
    }

    /// How many times the instance was rebuilt after a trap.
    pub fn restarts(&self) -> u64 {
        self.restarts
    }

    /// Every scenario the plugin offers.
    pub fn list_scenarios(&mut self) -> Result<Vec<ScenarioInfo>, PluginError> {
        let guest = self.scenarios_guest()?.clone();
        self.call_plugin("list-scenarios", None, |store| {
            guest.call_list_scenarios(store)
        })
        .0
    }

    /// Every config builder the plugin offers.
    pub fn list_builders(&mut self) -> Result<Vec<BuilderInfo>, PluginError> {
        let guest = self.builders_guest()?.clone();
        self.call_plugin("list-builders", None, |store| {
            guest.call_list_builders(store)
        })
        .0
    }

    /// Runs the builder `name` with `--config-args`.
    pub fn build(
        &mut self,
        name: &str,
        args: &[(String, String)],
    ) -> Result<MixerConfig, PluginError> {
        let guest = self.builders_guest()?.clone();
        let (result, capture) =
            self.call_plugin("build", None, |store| guest.call_build(store, name, args));
        forward_logs(&self.plugin.name, "config builder", &capture.logs);
        result?.map_err(|message| PluginError::rejected(&self.plugin.name, &message))
    }

    /// Creates a series; a scenario's refusal (bad parameters, unknown name) comes
    /// back as [`PluginError::Rejected`] with the plugin's own message.
    pub fn create_series(&mut self, spec: SeriesSpec) -> Result<SlotId, PluginError> {
        self.restart_if_needed();
        let stream = stream_for(self.seed, &spec.stream_key);
        let slot = SeriesSlot {
            spec,
            handle: None,
            removed: false,
        };
        let id = match self.free.pop() {
            Some(id) => {
                self.series[id.0] = slot;
                self.store.data_mut().streams[id.0] = stream;
                id
            }
            None => {
                self.series.push(slot);
                self.store.data_mut().streams.push(stream);
                self.allow_handles();
                SlotId(self.series.len() - 1)
            }
        };
        match self.create_handle(id) {
            Ok(handle) => {
                self.series[id.0].handle = Some(handle);
                Ok(id)
            }
            Err(err) => {
                self.series[id.0].removed = true;
                self.free.push(id);
                // Rebuild without the series that trapped, so it is not tried again.
                if matches!(err, PluginError::Trap { .. }) {
                    self.after_trap();
                }
                Err(err)
            }
        }
    }

    /// Names of the metrics the series reads.
    pub fn links(&mut self, id: SlotId) -> Result<Vec<String>, PluginError> {
        self.restart_if_needed();
        let handle = self.handle(id)?;
        let guest = self.scenarios_guest()?.clone();
        let (result, _) = self.call_plugin("links", Some(id), |store| {
            guest.scenario().call_links(store, handle)
        });
        result
    }

    /// Advances the series once. On a trap the instance is rebuilt before this
    /// returns, so the next call works again; the error says what trapped.
    pub fn step(&mut self, id: SlotId, input: StepInput) -> Result<StepOutput, PluginError> {
        self.step_sent_by(id, input, None)
    }

    /// [`Self::step`] for an event that `sender` put on the bus (what
    /// `host.event-sender` tells the scenario).
    pub fn step_sent_by(
        &mut self,
        id: SlotId,
        input: StepInput,
        sender: Option<Sender>,
    ) -> Result<StepOutput, PluginError> {
        self.restart_if_needed();
        self.store.data_mut().event_sender = sender;
        let handle = self.handle(id)?;
        let guest = self.scenarios_guest()?.clone();
        self.store.data_mut().set_virtual_time(input.time);
        let (result, capture) = self.call_plugin("step", Some(id), |store| {
            guest.scenario().call_step(store, handle, &input)
        });
        self.store.data_mut().event_sender = None;
        let value = result?;
        if let Some(fault) = capture.nested_fault {
            return Err(PluginError::NestedFault {
                plugin: self.plugin.name.clone(),
                call: format!("step of {}", self.series[id.0].spec.stream_key),
                fault,
            });
        }
        Ok(StepOutput {
            value,
            events: capture.events,
            events_dropped: capture.events_dropped,
            logs: capture.logs,
            log_bytes_dropped: capture.log_bytes_dropped,
        })
    }

    /// Drops the series' state in the plugin; a later creation may reuse its id.
    pub fn remove_series(&mut self, id: SlotId) {
        let Some(slot) = self.series.get_mut(id.0) else {
            return;
        };
        if slot.removed {
            return;
        }
        slot.removed = true;
        self.free.push(id);
        if let Some(handle) = slot.handle.take() {
            // The destructor runs under the call deadline like any other
            // call; a trap in it restarts the instance as any trap does.
            let _ = self.call_plugin("drop", None, |store| handle.resource_drop(store));
        }
    }

    fn handle(&self, id: SlotId) -> Result<ResourceAny, PluginError> {
        self.series
            .get(id.0)
            .and_then(|slot| slot.handle)
            .ok_or_else(|| PluginError::Runtime {
                plugin: self.plugin.name.clone(),
                message: format!(
                    "series {} is not available (removed, or its creation failed after a restart)",
                    id.0
                ),
            })
    }

    fn scenarios_guest(&self) -> Result<&scenarios::Guest, PluginError> {
        self.guests
            .scenarios
            .as_ref()
            .ok_or_else(|| PluginError::MissingInterface {
                plugin: self.plugin.name.clone(),
                interface: "promemu:plugin/scenarios",
            })
    }

    fn builders_guest(&self) -> Result<&config_builder::Guest, PluginError> {
        self.guests
            .builders
            .as_ref()
            .ok_or_else(|| PluginError::MissingInterface {
                plugin: self.plugin.name.clone(),
                interface: "promemu:plugin/config-builder",
            })
    }

    fn create_handle(&mut self, id: SlotId) -> Result<ResourceAny, PluginError> {
        let guest = self.scenarios_guest()?.clone();
        let spec = self.series[id.0].spec.clone();
        let (result, capture) = self.sandboxed("create", Some(id), |store| {
            guest
                .scenario()
                .call_create(store, &spec.scenario, &spec.params, &spec.info)
        });
        forward_logs(&self.plugin.name, &spec.stream_key, &capture.logs);
        result?.map_err(|message| PluginError::rejected(&self.plugin.name, &message))
    }

    /// Raises the store's handle cap to fit every series slot.
    fn allow_handles(&mut self) {
        self.store
            .set_max_component_handles(HANDLE_HEADROOM + 2 * self.series.len());
    }

    /// Runs one call under the sandbox; on a trap rebuilds the instance.
    pub(super) fn call_plugin<R>(
        &mut self,
        call: &str,
        series: Option<SlotId>,
        run: impl FnOnce(&mut Store<StoreState>) -> wasmtime::Result<R>,
    ) -> (Result<R, PluginError>, CallCapture) {
        let (result, capture) = self.sandboxed(call, series, run);
        if matches!(result, Err(PluginError::Trap { .. })) {
            self.after_trap();
        }
        (result, capture)
    }

    /// Limits every call of this (nested) instance to end by `until`, the time
    /// its caller's deadline leaves it.
    pub(super) fn set_budget_until(&mut self, until: Instant) {
        self.budget_until = Some(until);
    }

    /// A trapped instance is rebuilt: at once when the simulation drives it, on
    /// next use when it is nested (see `needs_restart`).
    fn after_trap(&mut self) {
        if self.depth > 0 {
            self.needs_restart = true;
        } else {
            self.restart();
        }
    }

    /// Rebuilds a nested instance that trapped before it is used again (before
    /// any export or handle of its store is taken for the call).
    fn restart_if_needed(&mut self) {
        if std::mem::take(&mut self.needs_restart) {
            self.restart();
        }
    }

    /// Runs one call under the deadline with the series' stream and capture set
    /// up; a failure becomes [`PluginError::Trap`] naming the call and series.
    pub(super) fn sandboxed<R>(
        &mut self,
        call: &str,
        series: Option<SlotId>,
        run: impl FnOnce(&mut Store<StoreState>) -> wasmtime::Result<R>,
    ) -> (Result<R, PluginError>, CallCapture) {
        let own = self.plugin.limits.call_deadline;
        let now = Instant::now();
        let allowed = self
            .budget_until
            .map_or(own, |until| until.saturating_duration_since(now).min(own));
        if allowed.is_zero() {
            return (
                Err(PluginError::NoTimeLeft {
                    plugin: self.plugin.name.clone(),
                    call: call.to_string(),
                }),
                CallCapture::default(),
            );
        }
        let running = self.plugin.enter_call();
        self.store.set_epoch_deadline(deadline_ticks(allowed));
        self.store
            .data_mut()
            .begin_call(series.map(|id| id.0), now + allowed);
        let result = run(&mut self.store);
        drop(running);
        let capture = self.store.data_mut().end_call();
        match result {
            Ok(value) => (Ok(value), capture),
            Err(err) => {
                let what = match series {
                    Some(id) => format!("{call} of {}", self.series[id.0].spec.stream_key),
                    None => call.to_string(),
                };
                let error = PluginError::Trap {
                    plugin: self.plugin.name.clone(),
                    call: what,
                    fault: Fault::of(&err),
                };
                (Err(error), capture)
            }
        }
    }

    /// Rebuilds the instance and re-creates every live series. A series whose
    /// creation traps again is left without a handle (and the instance rebuilt
    /// once more without it) so the rest can run.
    pub(super) fn restart(&mut self) {
        self.restarts += 1;
        let mut skipped: Vec<SlotId> = Vec::new();
        let mut skipped_groups: Vec<usize> = Vec::new();
        'rebuild: loop {
            let streams = std::mem::take(&mut self.store.data_mut().streams);
            self.store.data_mut().memory.release();
            let mut store = new_store(
                &self.plugin,
                self.seed,
                &self.directory,
                self.depth,
                &self.family,
            );
            store.data_mut().streams = streams;
            match instantiate(&self.plugin, &mut store) {
                Ok(guests) => {
                    self.store = store;
                    self.allow_handles();
                    self.guests = guests;
                }
                Err(err) => {
                    self.store.data_mut().streams = store.into_data().streams;
                    tracing::error!(plugin = %self.plugin.name, "cannot re-instantiate plugin: {}", Fault::of(&err));
                    self.series.iter_mut().for_each(|slot| slot.handle = None);
                    self.groups.iter_mut().for_each(GroupSlot::forget_handle);
                    return;
                }
            }
            for id in (0..self.series.len()).map(SlotId) {
                self.series[id.0].handle = None;
                if self.series[id.0].removed || skipped.contains(&id) {
                    continue;
                }
                match self.create_handle(id) {
                    Ok(handle) => self.series[id.0].handle = Some(handle),
                    Err(PluginError::NoTimeLeft { .. }) => {
                        // The caller's time ran out: finish the rebuild on next use.
                        self.needs_restart = true;
                        return;
                    }
                    Err(err) => {
                        tracing::warn!(plugin = %self.plugin.name, series = %self.series[id.0].spec.stream_key,
                            "series not re-created after restart: {err}");
                        if matches!(err, PluginError::Trap { .. }) {
                            skipped.push(id);
                            continue 'rebuild;
                        }
                    }
                }
            }
            if let Err(trapped) = self.recreate_groups(&skipped_groups) {
                skipped_groups.push(trapped);
                continue 'rebuild;
            }
            return;
        }
    }
}

fn new_store(
    plugin: &PluginInner,
    seed: u64,
    directory: &Arc<ScenarioDirectory>,
    depth: usize,
    family: &Arc<MemoryFamily>,
) -> Store<StoreState> {
    let wasi = plugin
        .uses_wasi
        .then(|| WasiState::deny_all(seed, &plugin.name));
    let mut store = Store::new(
        plugin.engine(),
        StoreState::new(
            plugin.limits,
            family.clone(),
            wasi,
            seed,
            &plugin.name,
            Nesting::new(directory.clone(), depth, seed),
        ),
    );
    store.limiter(|state| &mut state.memory);
    store.epoch_deadline_trap();
    store
}

/// The contract interfaces an instance exports, bound.
pub(super) struct Guests {
    pub(super) scenarios: Option<scenarios::Guest>,
    pub(super) builders: Option<config_builder::Guest>,
    pub(super) batch: Option<batch::Guest>,
}

fn instantiate(plugin: &PluginInner, store: &mut Store<StoreState>) -> wasmtime::Result<Guests> {
    let _running = plugin.enter_call();
    store.set_epoch_deadline(plugin.limits.deadline_ticks());
    let instance = plugin.pre.instantiate(&mut *store)?;
    let scenarios = plugin
        .scenarios
        .as_ref()
        .map(|indices| indices.load(&mut *store, &instance))
        .transpose()?;
    let builders = plugin
        .builders
        .as_ref()
        .map(|indices| indices.load(&mut *store, &instance))
        .transpose()?;
    let batch = plugin
        .batch
        .as_ref()
        .map(|indices| indices.load(&mut *store, &instance))
        .transpose()?;
    Ok(Guests {
        scenarios,
        builders,
        batch,
    })
}

/// Sends a plugin's log lines to the emulator's log, attributed to it.
pub fn forward_logs(plugin: &str, series: &str, logs: &[PluginLogLine]) {
    use super::bindings::types::LogLevel;
    for line in logs {
        let message = super::text::sanitize(&line.message, usize::MAX);
        match line.level {
            LogLevel::Trace => tracing::trace!(plugin, series, "{message}"),
            LogLevel::Debug => tracing::debug!(plugin, series, "{message}"),
            LogLevel::Info => tracing::info!(plugin, series, "{message}"),
            LogLevel::Warn => tracing::warn!(plugin, series, "{message}"),
            LogLevel::Error => tracing::error!(plugin, series, "{message}"),
        }
    }
}
