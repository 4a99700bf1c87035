//! The `batch` interface: series of one batchable scenario with the same
//! parameters, stepped in one call. Each series keeps its own behaviour and its
//! own random generator, seeded by the host, so the same seed gives the same
//! values however the host groups the series.
//!
//! A group keeps its members in arrays of the scenario's own type, so a step
//! is one loop with the scenario's code inlined: no call through a vtable per
//! series, and the values come back in the list they came in. The grouped
//! scenarios' `step`s are marked `#[inline]` (`update_by_trend`'s
//! `#[inline(always)]`, past the compiler's own limit): called, a step took
//! its context through memory: 5% of a backfill's instructions.

use std::cell::{Cell, RefCell};

use crate::bindings::exports::promemu::plugin::batch::{GuestSeriesGroup, SeriesGroup};
use crate::bindings::promemu::plugin::types::MetricInfo;
use promemu_guest::Params;

use crate::catalog;
use crate::{Ctx, FromParams};

/// The members of a group, whatever its scenario.
pub trait MemberSet {
    /// Adds a series; returns its slot.
    fn add(&mut self, info: MetricInfo, seed: u64) -> Result<u32, String>;
    /// Forgets the series in `slot` (unknown slots are ignored).
    fn remove(&mut self, slot: u32);
    /// Steps the series in `slots`, each value in `values` replaced by its new
    /// one (NaN keeps it, and answers a slot that holds no series).
    fn step(&mut self, time: f64, slots: &[u32], elapsed: &[f64], values: &mut [f64]);
}

/// The members of a group of the scenario `S`, by slot.
struct Members<S> {
    params: Params,
    /// `None` for a free slot.
    behaviours: Vec<Option<S>>,
    /// What a step reads of each series: its range and default (no names).
    infos: Vec<MetricInfo>,
    /// Each member's random generator state (see [`Ctx::random`]).
    random: Vec<Cell<u64>>,
    free: Vec<u32>,
}

/// An empty group of the scenario `S` with checked `params`.
pub fn grouped<S: FromParams>(params: Params) -> Box<dyn MemberSet> {
    Box::new(Members::<S> {
        params,
        behaviours: Vec::new(),
        infos: Vec::new(),
        random: Vec::new(),
        free: Vec::new(),
    })
}

impl<S: FromParams> MemberSet for Members<S> {
    fn add(&mut self, mut info: MetricInfo, seed: u64) -> Result<u32, String> {
        let behaviour = S::build(&self.params, &info)?;
        // A step reads the range and default, not the names: a fleet's worth of
        // name copies would only fill the instance's memory.
        info.host = String::new();
        info.name = String::new();
        let random = Cell::new(seed);
        if let Some(slot) = self.free.pop() {
            let index = slot as usize;
            self.behaviours[index] = Some(behaviour);
            self.infos[index] = info;
            self.random[index] = random;
            return Ok(slot);
        }
        let slot =
            u32::try_from(self.behaviours.len()).map_err(|_| "too many series in one group")?;
        self.behaviours.push(Some(behaviour));
        self.infos.push(info);
        self.random.push(random);
        Ok(slot)
    }

    fn remove(&mut self, slot: u32) {
        if let Some(behaviour) = self.behaviours.get_mut(slot as usize)
            && behaviour.take().is_some()
        {
            self.free.push(slot);
        }
    }

    fn step(&mut self, time: f64, slots: &[u32], elapsed: &[f64], values: &mut [f64]) {
        for ((&slot, &elapsed), value) in slots.iter().zip(elapsed).zip(values) {
            let index = slot as usize;
            let Some(Some(behaviour)) = self.behaviours.get_mut(index) else {
                *value = f64::NAN;
                continue;
            };
            let ctx = Ctx {
                time,
                elapsed,
                value: *value,
                event: None,
                links: &[],
                info: &self.infos[index],
                random: Some(&self.random[index]),
            };
            *value = behaviour.step(&ctx).unwrap_or(f64::NAN);
        }
    }
}

/// The state behind one `series-group` handle.
pub struct Group {
    members: RefCell<Box<dyn MemberSet>>,
}

impl GuestSeriesGroup for Group {
    fn create(name: String, params: String) -> Result<Option<SeriesGroup>, String> {
        let (entry, params) = catalog::parse(&name, &params)?;
        Ok(entry.group.map(|grouped| {
            SeriesGroup::new(Group {
                members: RefCell::new(grouped(params)),
            })
        }))
    }

    fn add(&self, info: MetricInfo, seed: u64) -> Result<u32, String> {
        self.members.borrow_mut().add(info, seed)
    }

    fn remove(&self, slot: u32) {
        self.members.borrow_mut().remove(slot);
    }

    fn step(
        &self,
        time: f64,
        slots: Vec<u32>,
        elapsed: Vec<f64>,
        mut values: Vec<f64>,
    ) -> Vec<f64> {
        self.members
            .borrow_mut()
            .step(time, &slots, &elapsed, &mut values);
        values
    }
}
