//! Series stepped in groups: series of one plugin instance that share a
//! scenario, its parameters and their step instants (update interval, start
//! time, duration) go through one plugin call per instant (the contract's
//! `batch` interface), which costs a fraction of one call per series. Series
//! that listen to events, or that other series read, are stepped on their own.

use std::sync::Arc;

use crate::model::{HostConfig, MetricConfig};
use crate::plugin::{GroupId, MemberId};

use super::clock::VirtualTime;
use super::engine::{Simulation, metric_info, stream_key};
use super::error::SimError;
use super::ids::{GroupIndex, PluginId, SeriesId};
use super::schedule::Task;
use super::series::Runner;

/// What series must share to be stepped together.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct GroupKey {
    instance: PluginId,
    scenario: String,
    params: String,
    interval: VirtualTime,
    start: Option<VirtualTime>,
    duration: Option<VirtualTime>,
}

/// A group of series and the instance that steps it.
#[derive(Debug)]
pub(super) struct SeriesGroup {
    instance: PluginId,
    group: GroupId,
    interval: VirtualTime,
    members: Vec<(SeriesId, MemberId)>,
}

impl SeriesGroup {
    /// The plugin instance that steps the group.
    pub(super) fn instance(&self) -> PluginId {
        self.instance
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
        let unbatchable = (
            owner,
            metric.scenario.clone(),
            metric.scenario_params.clone(),
        );
        if self.unbatchable.contains(&unbatchable) {
            return Ok(None);
        }
        let plugin_error = |err| SimError::from_plugin(host, metric, err);
        let instance = self.instance_for(owner).map_err(plugin_error)?;
        // The hosts of a group share their metric list: decide once per metric
        // of the list (and instance), not once per host.
        let shared = (Arc::as_ptr(&host.metrics) as usize, index, instance);
        if let Some(&group) = self.group_of_shared.get(&shared) {
            return Ok(Some(group));
        }
        let key = GroupKey {
            instance,
            scenario: metric.scenario.clone(),
            params: metric.scenario_params.clone(),
            interval: VirtualTime::interval(metric.update_interval),
            start: VirtualTime::from_secs(metric.start_time),
            duration: metric.duration.and_then(VirtualTime::from_secs),
        };
        if let Some(&group) = self.group_index.get(&key) {
            self.group_of_shared.insert(shared, group);
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
            return Ok(None);
        };
        let group_index = GroupIndex::new(self.groups.len());
        self.groups.push(SeriesGroup {
            instance,
            group,
            interval: key.interval,
            members: Vec::new(),
        });
        if let Some(start) = key.start {
            self.schedule.at(start, Task::StepGroup(group_index));
        }
        self.group_index.insert(key, group_index);
        self.group_of_shared.insert(shared, group_index);
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
        let member = self.instances[state.instance.index()]
            .add_to_group(
                state.group,
                metric_info(host, metric),
                &stream_key(host, metric),
            )
            .map_err(|err| SimError::from_plugin(host, metric, err))?;
        state.members.push((series, member));
        Ok(Runner::Grouped { group, member })
    }

    /// Removes a grouped series' state from its plugin.
    pub(super) fn leave_group(&mut self, group: GroupIndex, member: MemberId) {
        let state = &self.groups[group.index()];
        self.instances[state.instance.index()].remove_from_group(state.group, member);
    }

    /// Steps every member of `index` that may step now, in one plugin call, and
    /// schedules the group's next step while any member may still step.
    pub(super) fn step_group(&mut self, index: GroupIndex) {
        let now = self.now;
        let group = &self.groups[index.index()];
        let mut ready: Vec<(SeriesId, MemberId)> = Vec::with_capacity(group.members.len());
        let mut live = false;
        for &(id, member) in &group.members {
            let series = &self.series[id.index()];
            if series.active && !series.dropped && self.hosts[series.host.index()].alive {
                live = true;
                if series.can_step(now) {
                    ready.push((id, member));
                }
            }
        }
        if live {
            self.schedule
                .at(now.saturating_add(group.interval), Task::StepGroup(index));
        }
        if ready.is_empty() {
            return;
        }
        let members: Vec<MemberId> = ready.iter().map(|(_, member)| *member).collect();
        let elapsed: Vec<f64> = ready
            .iter()
            .map(|(id, _)| now.as_secs() - self.series[id.index()].activated_at.as_secs())
            .collect();
        let values: Vec<f64> = ready
            .iter()
            .map(|(id, _)| self.series[id.index()].value)
            .collect();
        let (instance, group_id) = (group.instance, group.group);
        let Some(result) = self.within_budget(instance, ready.len() as u64, |instance| {
            instance.step_group(group_id, now.as_secs(), &members, &elapsed, &values)
        }) else {
            return;
        };
        self.stats.steps += ready.len() as u64;
        self.stats.group_calls += 1;
        match result {
            Ok(stepped) => {
                for ((id, _), value) in ready.into_iter().zip(stepped) {
                    self.take_group_value(id, value);
                }
            }
            Err(err) => {
                for (id, _) in ready {
                    self.series[id.index()].steps += 1;
                    self.fault(id, &err);
                }
            }
        }
    }

    fn take_group_value(&mut self, id: SeriesId, value: f64) {
        self.series[id.index()].steps += 1;
        self.recovered(id);
        // NaN is the group's way to keep the current value.
        if value.is_nan() {
            return;
        }
        self.take_value(id, value);
    }
}
