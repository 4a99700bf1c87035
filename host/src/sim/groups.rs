//! Series stepped in groups: series of one plugin instance that share a
//! scenario, its parameters and their step instants (update interval, phase,
//! duration) go through one plugin call per instant (the contract's `batch`
//! interface), which costs a fraction of one call per series. Series that
//! listen to events, or that other series read, are stepped on their own.
//!
//! A grouped series steps at the instants a series stepped on its own would:
//! from its activation (its host's birth plus its start time), every update
//! interval. So a group holds series whose activations fall on one grid (the
//! same phase within the interval), and its chain of steps runs while any
//! member is active: it stops when none is, and the next activation starts it
//! again (a respawned host's series, say).

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::model::{HostConfig, MetricConfig};
use crate::plugin::{GroupId, MemberId, PluginError, QueuedAdds};

use super::clock::VirtualTime;
use super::engine::{Simulation, metric_info};
use super::error::SimError;
use super::ids::{GroupIndex, PluginId, SeriesId};
use super::schedule::Task;
use super::series::Runner;
use super::threads::on_threads;

/// A group step's result: each member's new value (NaN keeps it).
type CallResult = Result<Vec<f64>, PluginError>;

/// One group's step at an instant, prepared on the simulation's thread.
struct GroupCall {
    instance: PluginId,
    group: GroupId,
    /// The members that step, as series and as members of the group.
    ready: Vec<SeriesId>,
    members: Vec<MemberId>,
    elapsed: Vec<f64>,
    values: Vec<f64>,
}

/// What series must share to be stepped together.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct GroupKey {
    instance: PluginId,
    scenario: String,
    params: String,
    interval: VirtualTime,
    /// Where the members' activations fall within the interval (`None`: the
    /// members never start).
    phase: Option<VirtualTime>,
    duration: Option<VirtualTime>,
}

/// What the hosts that share a metric list share of a metric's group: the
/// list, the metric's place in it, the instance and the phase.
pub(super) type SharedMetricKey = (usize, usize, PluginId, Option<VirtualTime>);

/// A group of series and the instance that steps it.
#[derive(Debug)]
pub(super) struct SeriesGroup {
    instance: PluginId,
    group: GroupId,
    interval: VirtualTime,
    /// When its chain of steps is due next (`None`: stopped, no member active).
    next_step: Option<VirtualTime>,
    /// Its members, in no set order: a member that leaves (its host expired)
    /// gives its place to the last one.
    members: Vec<(SeriesId, MemberId)>,
    /// Each member's place in `members`, by member ([`NO_PLACE`] for none).
    places: Vec<u32>,
}

/// The place of a member that is not in its group (any more).
const NO_PLACE: u32 = u32::MAX;

impl SeriesGroup {
    /// The plugin instance that steps the group.
    pub(super) fn instance(&self) -> PluginId {
        self.instance
    }

    /// Whether the group has no members.
    pub(super) fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    fn join(&mut self, series: SeriesId, member: MemberId) {
        if self.places.len() <= member.index() {
            self.places.resize(member.index() + 1, NO_PLACE);
        }
        self.places[member.index()] =
            u32::try_from(self.members.len()).expect("fewer than 2^32 members in a group");
        self.members.push((series, member));
    }

    fn leave(&mut self, member: MemberId) {
        let Some(place) = self.places.get_mut(member.index()) else {
            return;
        };
        let place = std::mem::replace(place, NO_PLACE);
        if place == NO_PLACE {
            return;
        }
        self.members.swap_remove(place as usize);
        if let Some(&(_, moved)) = self.members.get(place as usize) {
            self.places[moved.index()] = place;
        }
    }
}

impl Simulation {
    /// The group the metric `index` of `host` may join, creating it when it is
    /// the first of its kind; `None` when its scenario cannot be stepped in groups.
    pub(super) fn group_for(
        &mut self,
        host: &HostConfig,
        index: usize,
    ) -> Result<Option<GroupIndex>, SimError> {
        let metric = &host.metrics[index];
        let owner = self.owner(host, metric)?;
        let plugin_error = |err| SimError::from_plugin(host, metric, err);
        let instance = self.instance_for(owner).map_err(plugin_error)?;
        let interval = VirtualTime::interval(metric.update_interval);
        // Hosts are born now (built or respawned): the series activates at
        // now plus its start time.
        let phase = VirtualTime::from_secs(metric.start_time).map(|start| {
            VirtualTime::from_millis(
                self.now.saturating_add(start).as_millis() % interval.as_millis(),
            )
        });
        // The hosts of a group share their metric list: decide once per metric
        // of the list (and instance and phase), not once per host.
        let shared = (Arc::as_ptr(&host.metrics) as usize, index, instance, phase);
        if let Some(&group) = self.group_of_shared.get(&shared) {
            return Ok(group);
        }
        let unbatchable = (
            owner,
            metric.scenario.clone(),
            metric.scenario_params.clone(),
        );
        if self.unbatchable.contains(&unbatchable) {
            self.group_of_shared.insert(shared, None);
            return Ok(None);
        }
        let key = GroupKey {
            instance,
            scenario: metric.scenario.clone(),
            params: metric.scenario_params.clone(),
            interval,
            phase,
            duration: metric.duration.and_then(VirtualTime::from_secs),
        };
        if let Some(&group) = self.group_index.get(&key) {
            self.group_of_shared.insert(shared, Some(group));
            return Ok(Some(group));
        }
        let created = self.instances[instance.index()]
            .create_group(
                crate::plugin::unqualified_scenario(&metric.scenario),
                &metric.scenario_params,
            )
            .map_err(plugin_error)?;
        let Some(group) = created else {
            self.unbatchable.insert(unbatchable);
            self.group_of_shared.insert(shared, None);
            return Ok(None);
        };
        let group_index = GroupIndex::new(self.groups.len());
        self.groups.push(SeriesGroup {
            instance,
            group,
            interval,
            next_step: None,
            members: Vec::new(),
            places: Vec::new(),
        });
        self.group_index.insert(key, group_index);
        self.group_of_shared.insert(shared, Some(group_index));
        Ok(Some(group_index))
    }

    /// Adds `metric` of `host` to `group`, as the series `series` (about to be
    /// created).
    pub(super) fn join_group(
        &mut self,
        group: GroupIndex,
        series: SeriesId,
        host: &HostConfig,
        metric: &MetricConfig,
    ) -> Result<Runner, SimError> {
        let state = &mut self.groups[group.index()];
        let instance = state.instance.index();
        let info = metric_info(host, metric);
        let member = if let Some(queues) = &mut self.start_queues {
            if queues.len() <= instance {
                queues.resize_with(instance + 1, Vec::new);
            }
            queues[instance].push((series, group));
            self.instances[instance].queue_member(state.group, &info)
        } else {
            self.instances[instance]
                .add_to_group(state.group, &info)
                .map_err(|err| SimError::from_plugin(host, metric, err))?
        };
        self.placed[instance] += 1;
        state.join(series, member);
        Ok(Runner::Grouped { group, member })
    }

    /// Ends the building of the simulation: each instance adds the members it
    /// queued (the instances on up to `threads` threads). Where an instance
    /// reached half its memory cap first, the series it did not take go to
    /// other instances, one by one as later series would; where a plugin
    /// refused a member, the first such series (in config order) is the error.
    pub(super) fn add_queued_members(&mut self) -> Result<(), SimError> {
        let Some(queues) = self.start_queues.take() else {
            return Ok(());
        };
        let loads: Vec<usize> = (0..self.instances.len())
            .map(|instance| queues.get(instance).map_or(0, Vec::len))
            .collect();
        let threads = self.threads_for(&loads);
        let outcomes = on_threads(&mut self.instances, &loads, threads, |_, instance| {
            instance.add_queued()
        });
        let mut refused: Option<(SeriesId, PluginError)> = None;
        let mut left_out: Vec<(SeriesId, GroupIndex)> = Vec::new();
        for (instance, outcome) in outcomes.into_iter().enumerate() {
            let (added, error) = match outcome {
                None | Some(QueuedAdds::All) => continue,
                Some(QueuedAdds::HalfFull { added }) => (added, None),
                Some(QueuedAdds::Failed { added, error }) => (added, Some(error)),
            };
            let rest = &queues[instance][added..];
            if let Some(error) = error {
                let series = rest[0].0;
                if refused.as_ref().is_none_or(|(first, _)| series < *first) {
                    refused = Some((series, error));
                }
            }
            self.placed[instance] -= rest.len();
            for &(series, group) in rest {
                if let Runner::Grouped { member, .. } = self.series_cold[series.index()].runner {
                    self.groups[group.index()].leave(member);
                }
            }
            left_out.extend_from_slice(rest);
        }
        if let Some((series, error)) = refused {
            let state = &self.series[series.index()];
            let host = &self.hosts[self.series_cold[series.index()].host.index()].config;
            return Err(SimError::from_plugin(host, &state.config, error));
        }
        left_out.sort_unstable();
        for (series, _) in left_out {
            self.place_again(series)?;
        }
        Ok(())
    }

    /// Puts a grouped series that its instance did not take (see
    /// [`Self::add_queued_members`]) into a group of another instance.
    fn place_again(&mut self, series: SeriesId) -> Result<(), SimError> {
        let state = &self.series[series.index()];
        let host = self.hosts[self.series_cold[series.index()].host.index()]
            .config
            .clone();
        let index = state.config.index();
        let metric = &host.metrics[index];
        let runner = match self.group_for(&host, index)? {
            Some(group) => self.join_group(group, series, &host, metric)?,
            None => self.create_single(&host, metric)?.0,
        };
        self.series_cold[series.index()].runner = runner;
        Ok(())
    }

    /// Removes a grouped series' state from its plugin.
    pub(super) fn leave_group(&mut self, group: GroupIndex, member: MemberId) {
        let state = &mut self.groups[group.index()];
        state.leave(member);
        self.instances[state.instance.index()].remove_from_group(state.group, member);
    }

    /// Starts the chain of steps of `group` now, where a member activates:
    /// a stopped group steps from now on. A running one is due now already
    /// (its members share a phase), and activations run before steps.
    pub(super) fn wake_group(&mut self, group: GroupIndex) {
        let now = self.now;
        let state = &mut self.groups[group.index()];
        if state.next_step != Some(now) {
            state.next_step = Some(now);
            self.schedule.at(now, Task::StepGroup(group));
        }
    }

    /// Steps the groups `due` now (in index order), each in one plugin call,
    /// and schedules each group's next step while any member may still step.
    ///
    /// The calls are prepared in order, made instance by instance (the
    /// instances on up to `threads` threads when the work is large enough),
    /// and their values taken in order again. Grouped series emit no events
    /// and no series reads them, so a group's values depend only on its own
    /// members: the outcome is the same whatever the thread count.
    pub(super) fn step_groups(&mut self, due: &[GroupIndex]) {
        let calls: Vec<GroupCall> = due
            .iter()
            .filter_map(|&index| self.prepare_group_step(index))
            .collect();
        let outcomes = self.call_groups(&calls);
        for (call, (result, took)) in calls.into_iter().zip(outcomes) {
            self.budgets[self.instance_owner[call.instance.index()]].charge(took);
            self.stats.steps += call.ready.len() as u64;
            self.stats.group_calls += 1;
            match result {
                Ok(stepped) => {
                    for (id, value) in call.ready.into_iter().zip(stepped) {
                        self.take_group_value(id, value);
                    }
                }
                Err(err) => {
                    for id in call.ready {
                        self.series[id.index()].steps += 1;
                        self.fault(id, &err);
                    }
                }
            }
        }
    }

    /// The call that steps the members of `index` that may step now, if any
    /// may and its plugin is within its CPU budget; schedules the group's next
    /// step while any member may still step. A step task of a chain since
    /// replaced is dropped.
    fn prepare_group_step(&mut self, index: GroupIndex) -> Option<GroupCall> {
        let now = self.now;
        let group = &self.groups[index.index()];
        if group.next_step != Some(now) {
            return None;
        }
        let capacity = group.members.len();
        let (mut ready, mut members) = (Vec::with_capacity(capacity), Vec::with_capacity(capacity));
        let (mut elapsed, mut values) =
            (Vec::with_capacity(capacity), Vec::with_capacity(capacity));
        let mut live = false;
        let now_secs = now.as_secs();
        for &(id, member) in &group.members {
            let series = &self.series[id.index()];
            // An active series' host is alive (its expiry ends its series):
            // a step reads the series' state alone.
            if series.active && !series.dropped {
                live = true;
                if series.can_step(now) {
                    ready.push(id);
                    members.push(member);
                    elapsed.push(series.elapsed_secs(now_secs));
                    values.push(series.value);
                }
            }
        }
        let (instance, group_id, interval) = (group.instance, group.group, group.interval);
        let next = live.then(|| now.saturating_add(interval));
        self.groups[index.index()].next_step = next;
        if let Some(next) = next {
            self.schedule.at(next, Task::StepGroup(index));
        }
        if ready.is_empty() {
            return None;
        }
        let budget = &mut self.budgets[self.instance_owner[instance.index()]];
        if !budget.allows(now, ready.len() as u64) {
            self.stats.throttled_steps += ready.len() as u64;
            return None;
        }
        Some(GroupCall {
            instance,
            group: group_id,
            ready,
            members,
            elapsed,
            values,
        })
    }

    /// Makes `calls` (in order for each instance) and returns each one's
    /// result and wall time, in the order of `calls`.
    fn call_groups(&mut self, calls: &[GroupCall]) -> Vec<(CallResult, Duration)> {
        let time = self.now.as_secs();
        let mut by_instance: Vec<Vec<usize>> = vec![Vec::new(); self.instances.len()];
        for (index, call) in calls.iter().enumerate() {
            by_instance[call.instance.index()].push(index);
        }
        // Each instance's steps; an instance with calls has some (empty calls
        // are never made).
        let loads: Vec<usize> = by_instance
            .iter()
            .map(|indices| indices.iter().map(|&call| calls[call].ready.len()).sum())
            .collect();
        let threads = self.threads_for(&loads);
        let done = on_threads(&mut self.instances, &loads, threads, |index, instance| {
            by_instance[index]
                .iter()
                .map(|&call_index| {
                    let call = &calls[call_index];
                    let started = Instant::now();
                    let result = instance.step_group(
                        call.group,
                        time,
                        &call.members,
                        &call.elapsed,
                        &call.values,
                    );
                    (call_index, result, started.elapsed())
                })
                .collect::<Vec<_>>()
        });
        let mut outcomes: Vec<Option<(CallResult, Duration)>> =
            (0..calls.len()).map(|_| None).collect();
        for (index, result, took) in done.into_iter().flatten().flatten() {
            outcomes[index] = Some((result, took));
        }
        outcomes
            .into_iter()
            .map(|outcome| outcome.expect("every group call was made"))
            .collect()
    }

    /// Threads for work of `loads` (by instance): one below
    /// `parallel_from_steps` in all, where another would cost more than it saves.
    fn threads_for(&self, loads: &[usize]) -> usize {
        if loads.iter().sum::<usize>() < self.parallel_from_steps {
            1
        } else {
            self.threads
        }
    }

    fn take_group_value(&mut self, id: SeriesId, value: f64) {
        let series = &mut self.series[id.index()];
        series.steps += 1;
        if series.fault_streak > 0 {
            self.recovered(id);
        }
        // NaN is the group's way to keep the current value.
        if value.is_nan() {
            return;
        }
        self.take_value(id, value);
    }
}
