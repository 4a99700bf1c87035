//! The simulation proper: builds hosts and series from the model, runs the
//! schedule up to a virtual time and carries events between series.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::ops::Range;
use std::sync::Arc;
use std::time::Instant;

use crate::model::{FaultPolicy, HostConfig, MetricConfig, MixerConfig, respawned_name};
use crate::plugin::{
    EmittedEvent, Event, LinkedValue, MetricInfo, Plugin, PluginError, PluginInstance,
    ScenarioDirectory, Sender, SeriesSpec, StepInput, unqualified_scenario,
};

use super::HOSTS_LOGGED_ONE_BY_ONE;
use super::budget::CpuBudget;
use super::clock::VirtualTime;
use super::error::SimError;
use super::groups::{GroupKey, SeriesGroup, SharedMetricKey};
use super::ids::{GroupIndex, HostId, PluginId, SeriesId};
use super::journal::{Journal, JournalEvent, Stepped};
use super::schedule::{Schedule, Task};
use super::series::{Runner, SeriesCold, SeriesState, SharedMetric, ValueIssue};
use super::view::{HostView, Reports, SeriesView};

/// Longest fault backoff, in update intervals.
pub const MAX_BACKOFF_INTERVALS: u64 = 64;

/// Events delivered at one instant before the bus stops a cascade (listeners that
/// re-emit what they hear would otherwise never end).
pub const MAX_DELIVERIES_PER_INSTANT: usize = 1_000;

/// One emulated host; readers see it through [`HostView`].
#[derive(Debug, Clone)]
pub(super) struct HostState {
    pub(super) config: HostConfig,
    /// The name the config gave it (a respawned host's name derives from it).
    pub(super) base_name: String,
    /// How many times it respawned (`respawn = true`).
    pub(super) incarnation: u32,
    /// When this incarnation started.
    pub(super) born_at: VirtualTime,
    pub(super) alive: bool,
    pub(super) expires_at: Option<VirtualTime>,
    /// When the host last reported its series; `None` before its first report.
    pub(super) reported_at: Option<VirtualTime>,
    /// When its next report is due: a report task of an earlier life (the
    /// host respawned since) is not this life's, and is dropped.
    pub(super) next_report: Option<VirtualTime>,
    /// Indices of the host's series in the simulation's series table.
    pub(super) series: Range<usize>,
}

/// Counters of what happened, for status reports and tests.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SimStats {
    /// Scheduled tasks run (steps, reports, activations, expiries).
    pub tasks: u64,
    pub steps: u64,
    /// Plugin calls that stepped a group of series (each counted in `steps`).
    pub group_calls: u64,
    pub events: u64,
    pub deliveries: u64,
    pub deliveries_dropped: u64,
    pub faults: u64,
    pub plugin_events_dropped: u64,
    /// Steps skipped because their plugin was over its CPU budget.
    pub throttled_steps: u64,
    /// Hosts brought back after their TTL (`respawn = true`).
    pub respawns: u64,
    /// Series created, at the start and by respawns.
    pub series_created: u64,
    /// Series ended by their host's TTL.
    pub series_ended: u64,
}

/// Events kept for [`Simulation::recent_events`].
pub const RECENT_EVENTS: usize = 50;

/// Series an instance of a plugin takes before the next series go to another
/// instance: a large fleet spreads over several instances, whose groups are
/// stepped on several threads.
pub const SERIES_PER_INSTANCE: usize = 100_000;

/// Below this many grouped steps at an instant, groups are stepped on the
/// simulation's thread alone: another thread would cost more than it saves.
pub const PARALLEL_FROM_STEPS: usize = 20_000;

/// How a simulation spreads its series over plugin instances and its work
/// over threads. Neither changes a value: only where and when work is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spread {
    /// Series an instance of a plugin takes before the next go to another
    /// (default [`SERIES_PER_INSTANCE`]).
    pub series_per_instance: usize,
    /// Grouped steps (or, while the simulation is built, series added to
    /// groups) from which several threads share the work (default
    /// [`PARALLEL_FROM_STEPS`]).
    pub parallel_from_steps: usize,
    /// Threads that step and build groups of different instances (default:
    /// the machine's cores).
    pub threads: usize,
}

impl Default for Spread {
    fn default() -> Self {
        Self {
            series_per_instance: SERIES_PER_INSTANCE,
            parallel_from_steps: PARALLEL_FROM_STEPS,
            threads: std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get),
        }
    }
}

/// Distinct (event, source) pairs counted one by one (see
/// [`Simulation::event_counts`]); past it, an event counts under source `other`.
pub const MAX_EVENT_KINDS: usize = 1000;

/// How much of its instances a scenario plugin uses (what `--check` reports).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginUsage {
    pub plugin: String,
    pub series: usize,
    /// Of `series`, those stepped in groups, and the groups they are in.
    pub grouped: usize,
    pub groups: usize,
    pub instances: usize,
    /// Bytes of memories and tables its instances hold.
    pub memory_bytes: usize,
    /// Its instances' caps together.
    pub cap_bytes: usize,
}

/// The whole emulation in virtual time.
pub struct Simulation {
    pub(super) now: VirtualTime,
    pub(super) schedule: Schedule,
    pub(super) hosts: Vec<HostState>,
    /// Each series' state: what steps touch, and the rest (same indices).
    pub(super) series: Vec<SeriesState>,
    pub(super) series_cold: Vec<SeriesCold>,
    /// Instances of the scenario plugins; a plugin gets another instance when
    /// its current one holds half its memory cap (see [`Self::instance_for`]).
    pub(super) instances: Vec<PluginInstance>,
    /// Series stepped together (see `groups`), and how to find a group by what
    /// its series share.
    pub(super) groups: Vec<SeriesGroup>,
    pub(super) group_index: HashMap<GroupKey, GroupIndex>,
    /// The group of (shared metric list, metric, instance), or `None` when
    /// its scenario cannot be stepped in groups; see `group_for`.
    pub(super) group_of_shared: HashMap<SharedMetricKey, Option<GroupIndex>>,
    /// (plugin, scenario, parameters) that cannot be stepped in groups.
    pub(super) unbatchable: HashSet<(usize, String, String)>,
    /// The scenario plugins, in the order of `directory`.
    plugins: Vec<Plugin>,
    /// Per plugin (in `directory` order), the instance new series go to.
    filling: Vec<PluginId>,
    /// Per plugin (in `directory` order), its CPU budget.
    pub(super) budgets: Vec<CpuBudget>,
    /// Per instance, its plugin (in `directory` order).
    pub(super) instance_owner: Vec<usize>,
    directory: Arc<ScenarioDirectory>,
    seed: u64,
    /// Event name -> listening series, in series order.
    listeners: HashMap<String, Vec<SeriesId>>,
    /// Threads that step groups of different instances at one instant.
    pub(super) threads: usize,
    /// While the simulation is built: per instance, the grouped series whose
    /// members it queued (with their groups), in order (see `groups`).
    pub(super) start_queues: Option<Vec<Vec<(SeriesId, GroupIndex)>>>,
    /// Per instance, the series placed in it (see [`Self::instance_for`]).
    pub(super) placed: Vec<usize>,
    /// Series an instance takes before the next go to another.
    series_per_instance: usize,
    /// Steps at one instant from which groups are stepped on several threads.
    pub(super) parallel_from_steps: usize,
    pub(super) stats: SimStats,
    /// Bumped whenever a series' reported sample may have changed.
    samples_generation: u64,
    /// Bumped whenever a host respawned with a new identity.
    identity_generation: u64,
    fault_policy: FaultPolicy,
    /// Hosts of a large fleet expired since the last summary line.
    expired_unlogged: usize,
    /// Events sent on the bus, per (event, source): at most
    /// [`MAX_EVENT_KINDS`] pairs; others count under source `other`.
    event_counts: BTreeMap<(String, String), u64>,
    /// The last events sent on the bus (for the live page's timeline).
    recent_events: VecDeque<JournalEvent>,
    /// Steps and events, when a reader keeps a journal (see [`Self::keep_journal`]).
    journal: Option<Journal>,
    /// Whether hosts take their reports (see [`Self::skip_reports`]).
    reports: bool,
}

impl Simulation {
    /// Builds every host and series of `config` (validated, identities filled) on
    /// the scenario plugins `plugins` (later plugins shadow earlier ones' scenario
    /// names, also where scenarios nest others). Unknown scenarios and refused
    /// parameters are errors here, before anything runs.
    pub fn new(config: &MixerConfig, plugins: &[Plugin], seed: u64) -> Result<Self, SimError> {
        Self::with_spread(config, plugins, seed, Spread::default())
    }

    /// Like [`Simulation::new`], with the spread over instances and threads
    /// tuned (see [`Spread`]).
    pub fn with_spread(
        config: &MixerConfig,
        plugins: &[Plugin],
        seed: u64,
        spread: Spread,
    ) -> Result<Self, SimError> {
        let Spread {
            series_per_instance,
            parallel_from_steps,
            threads,
        } = spread;
        let series_per_instance = series_per_instance.max(1);
        let mut instances = Vec::new();
        let mut directory = ScenarioDirectory::default();
        let plugins: Vec<Plugin> = plugins
            .iter()
            .filter(|plugin| plugin.offers_scenarios())
            .cloned()
            .collect();
        for plugin in &plugins {
            let mut instance = plugin
                .instantiate(seed)
                .map_err(|err| SimError::Instantiate(Box::new(err)))?;
            let offered = instance
                .list_scenarios()
                .map_err(|err| SimError::Instantiate(Box::new(err)))?;
            directory.add(plugin, offered.into_iter().map(|info| info.name).collect());
            instances.push(instance);
        }
        let directory = Arc::new(directory);
        let instance_count = instances.len();
        for instance in &mut instances {
            instance.set_directory(directory.clone());
        }

        let mut simulation = Simulation {
            now: VirtualTime::ZERO,
            schedule: Schedule::default(),
            hosts: Vec::new(),
            series: Vec::new(),
            series_cold: Vec::new(),
            filling: (0..instances.len()).map(PluginId::new).collect(),
            budgets: plugins
                .iter()
                .map(|plugin| {
                    let limits = plugin.limits();
                    CpuBudget::new(plugin.name(), limits.cpu_share, limits.call_deadline)
                })
                .collect(),
            instance_owner: (0..instances.len()).collect(),
            instances,
            groups: Vec::new(),
            group_index: HashMap::new(),
            group_of_shared: HashMap::new(),
            unbatchable: HashSet::new(),
            plugins,
            directory,
            seed,
            listeners: HashMap::new(),
            threads: threads.max(1),
            start_queues: Some(Vec::new()),
            placed: vec![0; instance_count],
            series_per_instance,
            parallel_from_steps,
            stats: SimStats::default(),
            samples_generation: 0,
            identity_generation: 0,
            fault_policy: FaultPolicy::default(),
            expired_unlogged: 0,
            event_counts: BTreeMap::new(),
            recent_events: VecDeque::new(),
            journal: None,
            reports: true,
        };
        let series: usize = config.hosts.iter().map(|host| host.metrics.len()).sum();
        simulation.series.reserve_exact(series);
        simulation.hosts.reserve_exact(config.hosts.len());
        for host in &config.hosts {
            simulation.add_host(host)?;
        }
        simulation.add_queued_members()?;
        simulation.stats.series_created = simulation.series.len() as u64;
        Ok(simulation)
    }

    fn add_host(&mut self, host: &HostConfig) -> Result<(), SimError> {
        let id = HostId::new(self.hosts.len());
        let first = self.series.len();
        let (runners, links) = self.create_runners(host, first)?;
        for (index, runner) in runners.into_iter().enumerate() {
            let metric = SharedMetric::new(&host.metrics, index);
            let (state, cold) = SeriesState::new(id, metric, runner);
            self.series.push(state);
            self.series_cold.push(cold);
        }
        let range = first..self.series.len();
        for (index, names) in range.clone().zip(links) {
            let mut resolved = Vec::with_capacity(names.len());
            for link in names {
                let target = range
                    .clone()
                    .find(|other| self.series[*other].config.name == link)
                    .ok_or_else(|| SimError::UnknownLink {
                        host: host.name.clone(),
                        metric: self.series[index].config.name.clone(),
                        link: link.clone(),
                    })?;
                resolved.push((link, SeriesId::new(target)));
            }
            self.series_cold[index].links = resolved.into_boxed_slice();
        }
        for index in range.clone() {
            let metric = &self.series[index].config;
            let mut events: Vec<&String> = metric
                .listen_events
                .iter()
                .chain(&host.listen_events)
                .collect();
            events.sort();
            events.dedup();
            for event in events {
                self.listeners
                    .entry(event.clone())
                    .or_default()
                    .push(SeriesId::new(index));
            }
        }
        self.hosts.push(HostState {
            config: host.clone(),
            base_name: host.name.clone(),
            incarnation: 0,
            born_at: VirtualTime::ZERO,
            alive: true,
            expires_at: None,
            reported_at: None,
            next_report: None,
            series: range,
        });
        self.schedule_life(id);
        Ok(())
    }

    /// Schedules the life of host `id` from now: its metrics' activations,
    /// its first report, and its TTL.
    fn schedule_life(&mut self, id: HostId) {
        let now = self.now;
        let state = &mut self.hosts[id.index()];
        state.born_at = now;
        for index in state.series.clone() {
            let metric = &self.series[index].config;
            if let Some(start) = VirtualTime::from_secs(metric.start_time) {
                self.schedule.at(
                    now.saturating_add(start),
                    Task::Activate(SeriesId::new(index)),
                );
            }
        }
        state.expires_at =
            VirtualTime::from_secs(state.config.ttl).map(|ttl| now.saturating_add(ttl));
        state.next_report = Some(now);
        if let Some(expiry) = state.expires_at {
            self.schedule.at(expiry, Task::ExpireHost(id));
        }
        self.schedule.at(now, Task::Report(id));
    }

    /// Brings host `id` (just expired) back with a new identity, derived from
    /// the seed, its configured name and how often it came back: new series
    /// from the scenarios' start, as a replaced container's would be.
    fn respawn(&mut self, id: HostId) {
        let state = &self.hosts[id.index()];
        let incarnation = state.incarnation + 1;
        let mut config = state.config.clone();
        config.name = respawned_name(self.seed, &state.base_name, incarnation);
        config.host.clear();
        config.address.clear();
        config.fill_identity(self.seed);
        let range = state.series.clone();
        let (runners, _) = match self.create_runners(&config, range.start) {
            Ok(created) => created,
            Err(err) => {
                let base = &self.hosts[id.index()].base_name;
                tracing::error!("Host <{base}> cannot respawn: {err}");
                return;
            }
        };
        for (index, runner) in range.clone().zip(runners) {
            let (fresh, mut fresh_cold) =
                SeriesState::new(id, self.series[index].config.clone(), runner);
            fresh_cold.links = std::mem::take(&mut self.series_cold[index].links);
            self.series[index] = fresh;
            self.series_cold[index] = fresh_cold;
        }
        let state = &mut self.hosts[id.index()];
        state.config = config;
        state.incarnation = incarnation;
        state.alive = true;
        state.reported_at = None;
        self.stats.respawns += 1;
        self.stats.series_created += range.len() as u64;
        self.identity_generation += 1;
        self.schedule_life(id);
    }

    /// Creates the scenario state of every metric of `host`, whose series
    /// are (or are about to be) `first..`: grouped where they can be. Returns
    /// each series' runner and the names of the metrics it reads.
    fn create_runners(
        &mut self,
        host: &HostConfig,
        first: usize,
    ) -> Result<(Vec<Runner>, Vec<Vec<String>>), SimError> {
        // Series that listen to no events may be stepped in groups; series that
        // others read are stepped on their own too, since a reader at the same
        // instant must see them in config order.
        let mut grouped: Vec<Option<GroupIndex>> = Vec::with_capacity(host.metrics.len());
        for (index, metric) in host.metrics.iter().enumerate() {
            let quiet = metric.listen_events.is_empty() && host.listen_events.is_empty();
            let group = if quiet {
                self.group_for(host, index)?
            } else {
                None
            };
            grouped.push(group);
        }
        let mut runners: Vec<Option<Runner>> = vec![None; host.metrics.len()];
        let mut links: Vec<Vec<String>> = vec![Vec::new(); host.metrics.len()];
        for (index, metric) in host.metrics.iter().enumerate() {
            if grouped[index].is_none() {
                let (runner, names) = self.create_single(host, metric)?;
                runners[index] = Some(runner);
                links[index] = names;
            }
        }
        let read: HashSet<&str> = links.iter().flatten().map(String::as_str).collect();
        for (index, metric) in host.metrics.iter().enumerate() {
            let Some(group) = grouped[index] else {
                continue;
            };
            runners[index] = Some(if read.contains(metric.name.as_str()) {
                self.create_single(host, metric)?.0
            } else {
                self.join_group(group, SeriesId::new(first + index), host, metric)?
            });
        }
        let runners = runners
            .into_iter()
            .map(|runner| runner.expect("every metric got a runner"))
            .collect();
        Ok((runners, links))
    }

    /// The plugin (in directory order) that runs `metric`'s scenario.
    pub(super) fn owner(
        &self,
        host: &HostConfig,
        metric: &MetricConfig,
    ) -> Result<usize, SimError> {
        self.directory
            .owner(&metric.scenario)
            .ok_or_else(|| SimError::UnknownScenario {
                host: host.name.clone(),
                metric: metric.name.clone(),
                scenario: metric.scenario.clone(),
                available: self.directory.offered(),
            })
    }

    /// Creates `metric`'s own scenario handle; returns how it runs and the
    /// names of the metrics it reads.
    pub(super) fn create_single(
        &mut self,
        host: &HostConfig,
        metric: &MetricConfig,
    ) -> Result<(Runner, Vec<String>), SimError> {
        let owner = self.owner(host, metric)?;
        let plugin = self
            .instance_for(owner)
            .map_err(|err| SimError::from_plugin(host, metric, err))?;
        let spec = SeriesSpec {
            scenario: unqualified_scenario(&metric.scenario).to_string(),
            params: metric.scenario_params.clone(),
            info: metric_info(host, metric),
            stream_key: stream_key(host, metric),
        };
        let instance = &mut self.instances[plugin.index()];
        let slot = instance
            .create_series(spec)
            .and_then(|slot| Ok((slot, instance.links(slot)?)))
            .map_err(|err| SimError::from_plugin(host, metric, err));
        let (slot, links) = slot?;
        self.placed[plugin.index()] += 1;
        Ok((Runner::Single { plugin, slot }, links))
    }

    /// The instance of plugin `owner` (in directory order) that takes the next
    /// series: the current one, or a new one once the current one holds half
    /// its memory cap (so a large fleet never runs an instance out of memory)
    /// or [`SERIES_PER_INSTANCE`] series (so a large fleet's groups can be
    /// stepped on several threads).
    pub(super) fn instance_for(&mut self, owner: usize) -> Result<PluginId, PluginError> {
        let current = self.filling[owner];
        let instance = &self.instances[current.index()];
        if !instance.is_half_full() && self.placed[current.index()] < self.series_per_instance {
            return Ok(current);
        }
        let mut fresh = self.plugins[owner].instantiate(self.seed)?;
        fresh.set_directory(self.directory.clone());
        tracing::debug!(
            "{} holds {} bytes: another instance takes the next series",
            fresh.plugin_name(),
            instance.memory_bytes()
        );
        self.instances.push(fresh);
        self.instance_owner.push(owner);
        self.placed.push(0);
        let id = PluginId::new(self.instances.len() - 1);
        self.filling[owner] = id;
        Ok(id)
    }

    /// The same simulation stepping groups of different plugin instances on
    /// up to `threads` threads (at least 1); the values do not depend on it.
    pub fn with_threads(mut self, threads: usize) -> Self {
        self.threads = threads.max(1);
        self
    }

    /// Threads that groups of different plugin instances are stepped on, at most.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// The same simulation with another fault policy.
    pub fn with_fault_policy(mut self, policy: FaultPolicy) -> Self {
        self.fault_policy = policy;
        self
    }

    /// Current virtual time.
    pub fn now(&self) -> VirtualTime {
        self.now
    }

    /// When the next task is due, if any.
    pub fn next_due(&self) -> Option<VirtualTime> {
        self.schedule.next_time()
    }

    /// Whether every host has expired.
    pub fn is_finished(&self) -> bool {
        self.hosts.iter().all(|host| !host.alive)
    }

    /// Every host, in config order.
    pub fn hosts(&self) -> impl ExactSizeIterator<Item = HostView<'_>> {
        self.hosts
            .iter()
            .enumerate()
            .map(|(index, state)| HostView::new(self, HostId::new(index), state))
    }

    pub fn host(&self, id: HostId) -> HostView<'_> {
        HostView::new(self, id, &self.hosts[id.index()])
    }

    /// The host named `name`, if there is one.
    pub fn host_named(&self, name: &str) -> Option<HostView<'_>> {
        self.hosts().find(|host| host.name() == name)
    }

    /// Every series, in config order.
    pub fn series(&self) -> impl ExactSizeIterator<Item = SeriesView<'_>> {
        (0..self.series.len()).map(|index| self.series_view(SeriesId::new(index)))
    }

    pub fn series_view(&self, id: SeriesId) -> SeriesView<'_> {
        SeriesView::new(id, &self.series[id.index()], &self.series_cold[id.index()])
    }

    /// The name of the plugin that runs `scenario` (as a config names it).
    pub fn provider(&self, scenario: &str) -> Option<&str> {
        self.directory.provider(scenario)
    }

    /// Per scenario plugin, the series it runs and the memory its instances
    /// hold against their caps (a plugin gets another instance when one holds
    /// half its cap, so a fleet never runs one out of memory).
    pub fn plugin_usage(&self) -> Vec<PluginUsage> {
        let mut usage: Vec<PluginUsage> = self
            .plugins
            .iter()
            .map(|plugin| PluginUsage {
                plugin: plugin.name().to_string(),
                series: 0,
                grouped: 0,
                groups: 0,
                instances: 0,
                memory_bytes: 0,
                cap_bytes: 0,
            })
            .collect();
        for (instance, &owner) in self.instances.iter().zip(&self.instance_owner) {
            let entry = &mut usage[owner];
            entry.instances += 1;
            entry.memory_bytes += instance.memory_bytes();
            entry.cap_bytes += self.plugins[owner].limits().memory_bytes;
        }
        for series in &self.series_cold {
            let instance = match series.runner {
                Runner::Single { plugin, .. } => plugin,
                Runner::Grouped { group, .. } => self.groups[group.index()].instance(),
            };
            let entry = &mut usage[self.instance_owner[instance.index()]];
            entry.series += 1;
            entry.grouped += usize::from(matches!(series.runner, Runner::Grouped { .. }));
        }
        for group in self.groups.iter().filter(|group| !group.is_empty()) {
            usage[self.instance_owner[group.instance().index()]].groups += 1;
        }
        usage
    }

    /// How many plugin instances run the series (a large fleet spreads over several).
    pub fn plugin_instances(&self) -> usize {
        self.instances.len()
    }

    /// How many times the plugin instances that run series were rebuilt after
    /// a fault (private instances of nested scenarios not counted).
    pub fn plugin_restarts(&self) -> u64 {
        self.instances.iter().map(PluginInstance::restarts).sum()
    }

    /// What the hosts last reported, readable from other threads.
    pub fn reports(&self) -> Reports<'_> {
        Reports::new(&self.series_cold)
    }

    /// Changes whenever a series' reported sample, or a host's life, may have
    /// changed: equal generations expose the same text. Zero until the first
    /// report, while no series has a reported sample.
    pub fn samples_generation(&self) -> u64 {
        self.samples_generation
    }

    /// Changes whenever a host respawned with a new identity (see
    /// [`HostView::incarnation`]): readers that render labels once re-render
    /// the hosts whose incarnation changed.
    pub fn identity_generation(&self) -> u64 {
        self.identity_generation
    }

    pub fn stats(&self) -> &SimStats {
        &self.stats
    }

    /// From now on, writes down every step's series and every event (see
    /// [`Self::swap_journal`]).
    pub fn keep_journal(&mut self) {
        self.journal.get_or_insert_with(Journal::default);
    }

    /// From now on, hosts take no reports (the samples `/metrics`, pushes and
    /// remote write send): a replay reads every step from the journal instead,
    /// and saves copying each sample at each report.
    pub fn skip_reports(&mut self) {
        self.reports = false;
    }

    /// The journal since the last swap, exchanged for `empty` (pass the last one
    /// back, cleared, to keep its allocations); an empty one when none is kept.
    pub fn swap_journal(&mut self, empty: Journal) -> Journal {
        match &mut self.journal {
            Some(journal) => std::mem::replace(journal, empty),
            None => Journal::default(),
        }
    }

    /// Runs every task due up to and including `until`, then sets the clock there.
    pub fn advance_to(&mut self, until: VirtualTime) {
        while let Some((time, task)) = self.schedule.pop_due(until) {
            self.now = time;
            if let Task::StepGroup(first) = task {
                // Every group due now, stepped together (see `step_groups`).
                let mut due = vec![first];
                while let Some(next) = self.schedule.pop_group_step_at(time) {
                    due.push(next);
                }
                self.stats.tasks += due.len() as u64;
                self.step_groups(&due);
            } else {
                self.run(task);
            }
        }
        self.now = self.now.max(until);
        if self.expired_unlogged > 0 {
            let alive = self.hosts.iter().filter(|host| host.alive).count();
            tracing::info!(
                "{} hosts reached their TTL by {} ({} respawns so far); {alive} of {} alive",
                self.expired_unlogged,
                self.now,
                self.stats.respawns,
                self.hosts.len()
            );
            self.expired_unlogged = 0;
        }
    }

    /// The name of the host of series `id` (as it stands: a respawned host's
    /// new name).
    fn host_name(&self, id: SeriesId) -> &str {
        &self.hosts[self.series_cold[id.index()].host.index()]
            .config
            .name
    }

    fn is_alive(&self, host: HostId) -> bool {
        self.hosts[host.index()].alive
    }

    fn run(&mut self, task: Task) {
        self.stats.tasks += 1;
        match task {
            Task::ExpireHost(host) => self.expire(host),
            Task::Activate(id) => {
                let now = self.now;
                let host = &self.hosts[self.series_cold[id.index()].host.index()];
                // Due at this life's birth plus the start time; one left from
                // an earlier life of the host (it respawned since) is dropped.
                let due = VirtualTime::from_secs(self.series[id.index()].config.start_time)
                    .map(|start| host.born_at.saturating_add(start));
                if !host.alive || due != Some(now) {
                    return;
                }
                let (series, cold) = (
                    &mut self.series[id.index()],
                    &mut self.series_cold[id.index()],
                );
                series.activate(cold, now);
                if let Some(duration) = series.config.duration.and_then(VirtualTime::from_secs) {
                    self.schedule
                        .at(now.saturating_add(duration), Task::Deactivate(id));
                }
                match cold.runner {
                    Runner::Single { .. } => {
                        cold.next_step = Some(now);
                        self.schedule.at(now, Task::Step(id));
                    }
                    Runner::Grouped { group, .. } => self.wake_group(group),
                }
            }
            Task::Deactivate(id) => {
                let series = &mut self.series[id.index()];
                let activated_at = self.series_cold[id.index()].activated_at;
                // Due at this activation's end (not an earlier life's).
                let due = series
                    .config
                    .duration
                    .and_then(VirtualTime::from_secs)
                    .map(|duration| activated_at.saturating_add(duration));
                if series.active && due == Some(self.now) {
                    series.active = false;
                }
            }
            Task::Step(id) => {
                let now = self.now;
                let (series, cold) = (&self.series[id.index()], &mut self.series_cold[id.index()]);
                // One chain of steps a series: a step task of an earlier life
                // of its host, or of a chain since replaced, is dropped.
                if cold.next_step != Some(now) {
                    return;
                }
                cold.next_step = None;
                if !series.active || series.dropped || !self.hosts[cold.host.index()].alive {
                    return;
                }
                let next = now.saturating_add(cold.interval);
                cold.next_step = Some(next);
                if series.can_step(now) {
                    let emitted = self.step_series(id, None);
                    self.dispatch(emitted);
                }
                self.schedule.at(next, Task::Step(id));
            }
            Task::StepGroup(group) => self.step_groups(&[group]),
            Task::Report(host) => {
                // One chain of reports a life (see `next_report`).
                if self.hosts[host.index()].next_report != Some(self.now) {
                    return;
                }
                self.hosts[host.index()].next_report = None;
                if !self.reports || !self.is_alive(host) {
                    return;
                }
                self.samples_generation += 1;
                self.hosts[host.index()].reported_at = Some(self.now);
                for index in self.hosts[host.index()].series.clone() {
                    let (series, cold) = (&self.series[index], &mut self.series_cold[index]);
                    cold.reported = series.active.then(|| series.sample(cold));
                }
                let interval = VirtualTime::interval(self.hosts[host.index()].config.interval);
                let next = self.now.saturating_add(interval);
                self.hosts[host.index()].next_report = Some(next);
                self.schedule.at(next, Task::Report(host));
            }
        }
    }

    fn expire(&mut self, host: HostId) {
        let one_by_one = self.hosts.len() <= HOSTS_LOGGED_ONE_BY_ONE;
        self.samples_generation += 1;
        let state = &mut self.hosts[host.index()];
        state.alive = false;
        let lived = self.now.saturating_sub(state.born_at);
        if one_by_one {
            tracing::info!("Host <{}> reached its TTL after {lived}", state.config.name);
        } else {
            self.expired_unlogged += 1;
        }
        let series = state.series.clone();
        self.stats.series_ended += series.len() as u64;
        for index in series {
            self.series[index].active = false;
            self.series_cold[index].reported = None;
            self.release(SeriesId::new(index));
        }
        if self.hosts[host.index()].config.respawn {
            let old = self.hosts[host.index()].config.name.clone();
            self.respawn(host);
            let state = &self.hosts[host.index()];
            if one_by_one && state.alive {
                tracing::info!("Host <{old}> respawned as <{}>", state.config.name);
            }
        }
    }

    /// Removes a series' state from the plugin that runs it.
    fn release(&mut self, id: SeriesId) {
        match self.series_cold[id.index()].runner {
            Runner::Single { plugin, slot } => self.instances[plugin.index()].remove_series(slot),
            Runner::Grouped { group, member } => self.leave_group(group, member),
        }
    }

    fn count_event(&mut self, event: &Event) {
        if self.recent_events.len() == RECENT_EVENTS {
            self.recent_events.pop_front();
        }
        self.recent_events.push_back(JournalEvent {
            time: self.now,
            name: event.name.clone(),
            source: event.source.clone(),
        });
        let key = (event.name.clone(), event.source.clone());
        if let Some(count) = self.event_counts.get_mut(&key) {
            *count += 1;
        } else if self.event_counts.len() < MAX_EVENT_KINDS {
            self.event_counts.insert(key, 1);
        } else {
            *self
                .event_counts
                .entry((event.name.clone(), "other".into()))
                .or_default() += 1;
        }
    }

    /// The last [`RECENT_EVENTS`] events sent on the bus, oldest first.
    pub fn recent_events(&self) -> &VecDeque<JournalEvent> {
        &self.recent_events
    }

    /// Events sent on the bus so far, per (event name, source).
    pub fn event_counts(&self) -> &BTreeMap<(String, String), u64> {
        &self.event_counts
    }

    /// Delivers events, and the events their listeners emit, at this instant.
    fn dispatch(&mut self, initial: Vec<BusEvent>) {
        let mut queue: VecDeque<BusEvent> = initial.into();
        let mut delivered = 0;
        while let Some(event) = queue.pop_front() {
            self.stats.events += 1;
            self.count_event(&event.event);
            if let Some(journal) = &mut self.journal {
                journal.events.push(JournalEvent {
                    time: self.now,
                    name: event.event.name.clone(),
                    source: event.event.source.clone(),
                });
            }
            let sender = &event.sender;
            tracing::debug!(
                "Event <{}> from <{}> (sent by {}/{} of plugin {}) at {}: {} listeners",
                event.event.name,
                event.event.source,
                sender.host,
                sender.metric,
                sender.plugin,
                self.now,
                self.listeners.get(&event.event.name).map_or(0, Vec::len)
            );
            // Indexed, not cloned: stepping a listener never changes the listeners.
            let mut next = 0;
            while let Some(&id) = self
                .listeners
                .get(&event.event.name)
                .and_then(|ids| ids.get(next))
            {
                next += 1;
                let host = self.series_cold[id.index()].host;
                if !self.series[id.index()].can_step(self.now) || !self.is_alive(host) {
                    continue;
                }
                if delivered >= MAX_DELIVERIES_PER_INSTANT {
                    let dropped = queue.len() as u64 + 1;
                    self.stats.deliveries_dropped += dropped;
                    tracing::warn!(
                        "event storm at {}: stopped after {MAX_DELIVERIES_PER_INSTANT} deliveries, dropped {dropped} pending events",
                        self.now
                    );
                    return;
                }
                delivered += 1;
                self.stats.deliveries += 1;
                let emitted = self.step_series(id, Some(&event));
                queue.extend(emitted);
            }
        }
    }

    /// Steps one series (for its schedule or for an event) and returns the events
    /// it emitted. A fault keeps the last value and is logged once per burst.
    fn step_series(&mut self, id: SeriesId, event: Option<&BusEvent>) -> Vec<BusEvent> {
        let (series, cold) = (&self.series[id.index()], &self.series_cold[id.index()]);
        let Runner::Single { plugin, slot } = cold.runner else {
            // Grouped series listen to no events and step with their group.
            return Vec::new();
        };
        let now_secs = self.now.as_secs();
        let input = StepInput {
            time: now_secs,
            elapsed: series.elapsed_secs(now_secs),
            value: series.value,
            event: event.map(|event| event.event.clone()),
            links: cold
                .links
                .iter()
                .map(|(name, target)| LinkedValue {
                    name: name.clone(),
                    value: self.series[target.index()].linked_value(),
                })
                .collect(),
        };
        let sender = event.map(|event| event.sender.clone());
        let Some(result) = self.within_budget(plugin, 1, |instance| {
            instance.step_sent_by(slot, input, sender)
        }) else {
            return Vec::new();
        };
        self.stats.steps += 1;
        self.series[id.index()].steps += 1;
        let output = match result {
            Ok(output) => output,
            Err(err) => {
                self.fault(id, &err);
                return Vec::new();
            }
        };
        self.recovered(id);
        let series = &self.series[id.index()];
        let host_name = self.host_name(id);
        if !output.logs.is_empty() {
            crate::plugin::forward_plugin_logs(
                self.instances[plugin.index()].plugin_name(),
                &format!("{host_name}/{}", series.config.name),
                &output.logs,
            );
        }
        if output.events_dropped > 0 || output.log_bytes_dropped > 0 {
            tracing::debug!(host = %host_name, metric = %series.config.name,
                "step exceeded its limits: {} events and {} log bytes dropped", output.events_dropped, output.log_bytes_dropped);
        }
        self.stats.plugin_events_dropped += output.events_dropped as u64;
        if let Some(value) = output.value {
            self.take_value(id, value);
        }
        if output.events.is_empty() {
            return Vec::new();
        }
        let sender = Sender {
            host: self.host_name(id).to_string(),
            metric: self.series[id.index()].config.name.clone(),
            plugin: self.instances[plugin.index()].plugin_name().to_string(),
        };
        output
            .events
            .into_iter()
            .map(|emitted| into_bus_event(emitted, &sender))
            .collect()
    }

    /// Makes a call of `steps` steps into `instance` if its plugin is within its
    /// CPU budget, and charges the plugin what it took; `None` (the steps
    /// skipped) when the plugin is over its budget.
    pub(super) fn within_budget<R>(
        &mut self,
        instance: PluginId,
        steps: u64,
        call: impl FnOnce(&mut PluginInstance) -> R,
    ) -> Option<R> {
        let budget = &mut self.budgets[self.instance_owner[instance.index()]];
        if !budget.allows(self.now, steps) {
            self.stats.throttled_steps += steps;
            return None;
        }
        let started = Instant::now();
        let result = call(&mut self.instances[instance.index()]);
        budget.charge(started.elapsed());
        Some(result)
    }

    /// Takes a step's value into the series, saying what was wrong with it.
    #[inline(always)]
    pub(super) fn take_value(&mut self, id: SeriesId, value: f64) {
        let series = &mut self.series[id.index()];
        let cold = &mut self.series_cold;
        let issue = series.apply(value, |bounds, value| {
            cold[id.index()].observe(bounds, value)
        });
        if let Some(journal) = &mut self.journal {
            journal.stepped.push(Stepped {
                series: id,
                value: series.linked_value(),
            });
        }
        if let Some(issue) = issue {
            self.report_value_issue(id, value, issue);
        }
    }

    /// Logs what was wrong with a step's `value` (out of the way of the
    /// steps that have nothing wrong).
    #[cold]
    #[inline(never)]
    fn report_value_issue(&self, id: SeriesId, value: f64, issue: ValueIssue) {
        let (host, series) = (self.host_name(id), &self.series[id.index()]);
        let metric = &series.config.name;
        match issue {
            ValueIssue::NotFinite => tracing::warn!(host = %host, metric = %metric,
                "scenario returned {value}; keeping the last value"),
            ValueIssue::OutOfRange => tracing::debug!(host = %host, metric = %metric,
                "scenario returned {value}, outside [{}, {}]; clamped", series.config.min, series.config.max),
            ValueIssue::Reset => tracing::warn!(host = %host, metric = %metric,
                "the series' total would overflow; it starts again from {value:?} (a counter reset)"),
        }
    }

    /// A good step after faulty ones ends the burst (logged once).
    pub(super) fn recovered(&mut self, id: SeriesId) {
        let series = &self.series[id.index()];
        if series.fault_streak > 0 {
            tracing::info!(host = %self.host_name(id), metric = %series.config.name,
                "series recovered after {} faulty steps", series.fault_streak);
            self.series[id.index()].fault_streak = 0;
        }
    }

    /// A faulty step: the series keeps its last value and follows the fault
    /// policy; the first fault of a burst is logged as a warning.
    pub(super) fn fault(&mut self, id: SeriesId, err: &PluginError) {
        self.stats.faults += 1;
        let (series, cold) = (
            &mut self.series[id.index()],
            &mut self.series_cold[id.index()],
        );
        cold.faults += 1;
        series.fault_streak = series.fault_streak.saturating_add(1);
        let policy = match self.fault_policy {
            FaultPolicy::Backoff => {
                let intervals =
                    1u64 << (series.fault_streak - 1).min(MAX_BACKOFF_INTERVALS.ilog2());
                let wait = cold.interval.saturating_mul(intervals);
                series.retry_at = self.now.saturating_add(wait);
                format!("keeping the last value, retrying in {wait}")
            }
            FaultPolicy::Hold => "keeping the last value".to_string(),
            FaultPolicy::Drop => {
                series.dropped = true;
                series.active = false;
                "dropping the series".to_string()
            }
        };
        let (streak, metric) = (series.fault_streak, series.config.name.clone());
        let host = self.host_name(id);
        if streak == 1 {
            tracing::warn!(host = %host, metric = %metric, "scenario fault, {policy}: {err}");
        } else {
            tracing::debug!(host = %host, metric = %metric,
                "scenario fault #{streak} in a row, {policy}: {err}");
        }
        if self.fault_policy == FaultPolicy::Drop {
            self.release(id);
        }
    }
}

/// An event on the bus, with who really sent it.
#[derive(Debug, Clone)]
pub(super) struct BusEvent {
    event: Event,
    sender: Sender,
}

fn into_bus_event(emitted: EmittedEvent, sender: &Sender) -> BusEvent {
    BusEvent {
        event: Event {
            name: emitted.name,
            source: emitted.source.unwrap_or_else(|| sender.host.clone()),
            payload: emitted.payload,
        },
        sender: sender.clone(),
    }
}

/// What a scenario knows of the metric it drives.
pub(super) fn metric_info(host: &HostConfig, metric: &MetricConfig) -> MetricInfo {
    MetricInfo {
        host: host.name.clone(),
        name: metric.name.clone(),
        kind: metric.kind.into(),
        min: metric.min,
        max: metric.max,
        default_value: metric.default_value,
        update_interval: metric.update_interval,
    }
}

/// Names a series' random stream: the same series draws the same values.
pub(super) fn stream_key(host: &HostConfig, metric: &MetricConfig) -> String {
    format!("{}/{}", host.name, metric.name)
}
