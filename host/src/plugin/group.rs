//! Series groups of the contract's `batch` interface: series of one scenario
//! with the same parameters, stepped in one call. The host keeps what it needs
//! to rebuild a group after a trap (scenario, parameters, each member's metric
//! and stream key); the guest keeps each member's state and random generator,
//! seeded from the member's stream key, so the same seed gives the same values.

use sha2::{Digest, Sha256};
use wasmtime::component::ResourceAny;

use super::bindings::batch;
use super::bindings::types::{MetricInfo, MetricKind};
use super::error::PluginError;
use super::instance::PluginInstance;

/// A group in its plugin instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GroupId(usize);

/// A member of a group, stable across the group's rebuilds; once it is
/// removed, a later member may take its id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MemberId(usize);

impl MemberId {
    pub fn index(self) -> usize {
        self.0
    }
}

/// What the host keeps of a member, to add it again after a restart: its
/// stream key ("host/metric", which also names its host and metric) and its
/// metric's kind and numbers. One allocation a member, for fleets of millions.
struct Member {
    stream_key: Box<str>,
    /// Where the host's name ends in `stream_key`.
    host_len: usize,
    kind: MetricKind,
    min: f64,
    max: f64,
    default_value: f64,
    update_interval: f64,
}

impl Member {
    fn new(info: &MetricInfo) -> Self {
        Self {
            stream_key: format!("{}/{}", info.host, info.name).into_boxed_str(),
            host_len: info.host.len(),
            kind: info.kind,
            min: info.min,
            max: info.max,
            default_value: info.default_value,
            update_interval: info.update_interval,
        }
    }

    fn info(&self) -> MetricInfo {
        MetricInfo {
            host: self.stream_key[..self.host_len].to_string(),
            name: self.stream_key[self.host_len + 1..].to_string(),
            kind: self.kind,
            min: self.min,
            max: self.max,
            default_value: self.default_value,
            update_interval: self.update_interval,
        }
    }
}

/// How [`PluginInstance::add_queued`] ended: how many queued members (from
/// the first) the guest's groups took, and why the others were not added.
#[derive(Debug)]
pub enum QueuedAdds {
    All,
    /// The instance reached half its memory cap after `added` members.
    HalfFull {
        added: usize,
    },
    /// The member after the first `added` failed to be added.
    Failed {
        added: usize,
        error: PluginError,
    },
}

/// The slot of a member that is not in the guest's group.
const NO_SLOT: u32 = u32::MAX;

/// The host's record of one group.
pub(super) struct GroupSlot {
    scenario: String,
    params: String,
    /// `None` while the group could not be rebuilt after a trap.
    handle: Option<ResourceAny>,
    members: Vec<Option<Member>>,
    /// Each member's slot in the guest's group ([`NO_SLOT`] for none), apart
    /// from `members` so a step reads them without touching the rest.
    slots: Vec<u32>,
    /// Members removed, whose ids the next members take (hosts that respawn
    /// must not make a group grow).
    free: Vec<usize>,
}

impl GroupSlot {
    pub(super) fn forget_handle(&mut self) {
        self.handle = None;
    }
}

/// The seed of a member's generator: its stream key under the run's seed and
/// the instance's generation (a rebuilt group draws on, rather than repeating).
fn member_seed(seed: u64, stream_key: &str, generation: u64) -> u64 {
    let mut hasher = Sha256::new();
    hasher.update(seed.to_le_bytes());
    hasher.update(generation.to_le_bytes());
    hasher.update(stream_key.as_bytes());
    let digest = hasher.finalize();
    u64::from_le_bytes(digest[..8].try_into().expect("8 bytes"))
}

impl PluginInstance {
    fn batch_guest(&self) -> Option<batch::Guest> {
        self.guests.batch.clone()
    }

    fn group_handle(&self, group: GroupId) -> Result<ResourceAny, PluginError> {
        self.groups[group.0]
            .handle
            .ok_or_else(|| PluginError::Runtime {
                plugin: self.plugin.name.clone(),
                message: format!(
                    "series group of {} is not available after a restart",
                    self.groups[group.0].scenario
                ),
            })
    }

    /// A group for `scenario` with `params`, if the plugin exports `batch` and
    /// the scenario can be stepped in groups; `None` otherwise.
    pub fn create_group(
        &mut self,
        scenario: &str,
        params: &str,
    ) -> Result<Option<GroupId>, PluginError> {
        let Some(guest) = self.batch_guest() else {
            return Ok(None);
        };
        let (result, _) = self.call_plugin("create group", None, |store| {
            guest.series_group().call_create(store, scenario, params)
        });
        let created =
            result?.map_err(|message| PluginError::rejected(&self.plugin.name, &message))?;
        Ok(created.map(|handle| {
            self.groups.push(GroupSlot {
                scenario: scenario.into(),
                params: params.into(),
                handle: Some(handle),
                members: Vec::new(),
                slots: Vec::new(),
                free: Vec::new(),
            });
            GroupId(self.groups.len() - 1)
        }))
    }

    /// Adds a series of the metric `info` to `group`; its draws come from a
    /// generator seeded by its stream key ("host/metric" names a series' stream).
    pub fn add_to_group(
        &mut self,
        group: GroupId,
        info: &MetricInfo,
    ) -> Result<MemberId, PluginError> {
        let entry = Member::new(info);
        let seed = member_seed(self.seed, &entry.stream_key, self.restarts());
        let slot = self.add_member(group, info, seed)?;
        let member = self.push_member(group, entry);
        self.groups[group.0].slots[member.0] = slot;
        Ok(member)
    }

    /// Like [`Self::add_to_group`], but the guest's group gets the member only
    /// at [`Self::add_queued`]: a simulation queues a whole fleet, then adds
    /// each instance's queue on its own thread.
    pub fn queue_member(&mut self, group: GroupId, info: &MetricInfo) -> MemberId {
        let member = self.push_member(group, Member::new(info));
        self.queued.push((group, member));
        member
    }

    fn push_member(&mut self, group: GroupId, entry: Member) -> MemberId {
        let state = &mut self.groups[group.0];
        if let Some(free) = state.free.pop() {
            state.members[free] = Some(entry);
            state.slots[free] = NO_SLOT;
            return MemberId(free);
        }
        state.members.push(Some(entry));
        state.slots.push(NO_SLOT);
        MemberId(state.members.len() - 1)
    }

    /// Adds the queued members to the guest's groups, in the order they were
    /// queued, until one fails or the instance holds half its memory cap (the
    /// same rule that spreads series over instances). The members not added
    /// leave their groups.
    pub fn add_queued(&mut self) -> QueuedAdds {
        let queued = std::mem::take(&mut self.queued);
        for (position, &(group, member)) in queued.iter().enumerate() {
            if self.is_half_full() {
                self.forget_queued(&queued[position..]);
                return QueuedAdds::HalfFull { added: position };
            }
            let entry = self.groups[group.0].members[member.0]
                .as_ref()
                .expect("a queued member is in its group");
            let (info, seed) = (
                entry.info(),
                member_seed(self.seed, &entry.stream_key, self.restarts()),
            );
            let added = self.add_member(group, &info, seed);
            match added {
                Ok(slot) => self.groups[group.0].slots[member.0] = slot,
                Err(error) => {
                    self.forget_queued(&queued[position..]);
                    return QueuedAdds::Failed {
                        added: position,
                        error,
                    };
                }
            }
        }
        QueuedAdds::All
    }

    /// Takes queued `members`, never added to the guest, out of their groups.
    fn forget_queued(&mut self, members: &[(GroupId, MemberId)]) {
        for &(group, member) in members {
            let state = &mut self.groups[group.0];
            state.members[member.0] = None;
            state.free.push(member.0);
        }
    }

    /// Adds a member to the guest's `group`, its generator seeded with `seed`
    /// (see [`member_seed`]); returns its slot there.
    fn add_member(
        &mut self,
        group: GroupId,
        info: &MetricInfo,
        seed: u64,
    ) -> Result<u32, PluginError> {
        let guest = self.batch_guest().ok_or_else(|| self.no_batch())?;
        let handle = self.group_handle(group)?;
        let (result, _) = self.call_plugin("add to group", None, |store| {
            guest.series_group().call_add(store, handle, info, seed)
        });
        result?.map_err(|message| PluginError::rejected(&self.plugin.name, &message))
    }

    fn no_batch(&self) -> PluginError {
        PluginError::MissingInterface {
            plugin: self.plugin.name.clone(),
            interface: "promemu:plugin/batch",
        }
    }

    /// Removes a member; its state in the plugin goes.
    pub fn remove_from_group(&mut self, group: GroupId, member: MemberId) {
        let state = &mut self.groups[group.0];
        if state.members[member.0].take().is_none() {
            return;
        }
        state.free.push(member.0);
        let slot = std::mem::replace(&mut state.slots[member.0], NO_SLOT);
        let (Some(guest), Ok(handle)) = (self.batch_guest(), self.group_handle(group)) else {
            return;
        };
        // A failing removal only leaks guest memory until the next restart.
        let _ = self.call_plugin("remove from group", None, |store| {
            guest.series_group().call_remove(store, handle, slot)
        });
    }

    /// Steps `members` of `group` once at virtual `time`, with each one's
    /// `elapsed` seconds and current `values`; returns each new value (NaN keeps
    /// the current one). On a trap the instance is rebuilt before this returns.
    pub fn step_group(
        &mut self,
        group: GroupId,
        time: f64,
        members: &[MemberId],
        elapsed: &[f64],
        values: &[f64],
    ) -> Result<Vec<f64>, PluginError> {
        let guest = self.batch_guest().ok_or_else(|| self.no_batch())?;
        let handle = self.group_handle(group)?;
        let all_slots = &self.groups[group.0].slots;
        let slots: Vec<u32> = members.iter().map(|member| all_slots[member.0]).collect();
        let call = self.describe_group_step(group, members);
        self.store.data_mut().set_virtual_time(time);
        let (result, _) = self.call_plugin(&call, None, |store| {
            guest
                .series_group()
                .call_step(store, handle, time, &slots, elapsed, values)
        });
        let stepped = result?;
        if stepped.len() != members.len() {
            return Err(PluginError::Runtime {
                plugin: self.plugin.name.clone(),
                message: format!(
                    "a group step of {} returned {} values for {} series",
                    self.groups[group.0].scenario,
                    stepped.len(),
                    members.len()
                ),
            });
        }
        Ok(stepped)
    }

    /// "step of host/metric", or "step of host/metric and N more series of
    /// <scenario>" for a fault message that names who was stepped.
    fn describe_group_step(&self, group: GroupId, members: &[MemberId]) -> String {
        let state = &self.groups[group.0];
        let first = members
            .first()
            .and_then(|member| state.members[member.0].as_ref())
            .map_or("(none)", |member| &member.stream_key);
        match members.len() {
            0 | 1 => format!("step of {first}"),
            count => format!(
                "step of {first} and {} more series of {}",
                count - 1,
                state.scenario
            ),
        }
    }

    /// After a restart: creates every group again and adds its live members
    /// (groups in `skipped` stay without a handle). Returns the index of a
    /// group whose rebuild trapped, so the caller rebuilds without it.
    pub(super) fn recreate_groups(&mut self, skipped: &[usize]) -> Result<(), usize> {
        let Some(guest) = self.batch_guest() else {
            return Ok(());
        };
        for index in 0..self.groups.len() {
            self.groups[index].handle = None;
            if skipped.contains(&index) {
                continue;
            }
            let (scenario, params) = (
                self.groups[index].scenario.clone(),
                self.groups[index].params.clone(),
            );
            let (created, _) = self.sandboxed("create group", None, |store| {
                guest.series_group().call_create(store, &scenario, &params)
            });
            let handle = match created {
                Ok(Ok(Some(handle))) => handle,
                Ok(_) => continue,
                Err(err) => {
                    tracing::warn!(plugin = %self.plugin.name, "series group of {scenario} not re-created after restart: {err}");
                    return Err(index);
                }
            };
            self.groups[index].handle = Some(handle);
            for member in 0..self.groups[index].members.len() {
                let Some((info, key)) = self.groups[index].members[member]
                    .as_ref()
                    .map(|member| (member.info(), member.stream_key.clone()))
                else {
                    continue;
                };
                let seed = member_seed(self.seed, &key, self.restarts());
                let (added, _) = self.sandboxed("add to group", None, |store| {
                    guest.series_group().call_add(store, handle, &info, seed)
                });
                self.groups[index].slots[member] = match added {
                    Ok(Ok(slot)) => slot,
                    _ => NO_SLOT,
                };
                match added {
                    Ok(Ok(_)) => {}
                    Ok(Err(message)) => {
                        tracing::warn!(plugin = %self.plugin.name, series = %key, "not re-added to its group after restart: {message}");
                    }
                    Err(err) => {
                        tracing::warn!(plugin = %self.plugin.name, series = %key, "not re-added to its group after restart: {err}");
                        return Err(index);
                    }
                }
            }
        }
        Ok(())
    }
}
