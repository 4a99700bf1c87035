//! The `batch` interface: series of one batchable scenario with the same
//! parameters, stepped in one call. Each series keeps its own behaviour and its
//! own random generator, seeded by the host, so the same seed gives the same
//! values however the host groups the series.

use std::cell::RefCell;

use crate::bindings::exports::promemu::plugin::batch::{GuestSeriesGroup, SeriesGroup};
use crate::bindings::promemu::plugin::types::MetricInfo;
use promemu_guest::Params;

use crate::catalog::{self, Entry};
use crate::{Behaviour, Ctx, with_random};

/// One series of a group.
struct Member {
    info: MetricInfo,
    behaviour: Box<dyn Behaviour>,
    random: fastrand::Rng,
}

/// The state behind one `series-group` handle.
pub struct Group {
    entry: &'static Entry,
    params: Params,
    members: RefCell<Vec<Option<Member>>>,
    free: RefCell<Vec<u32>>,
}

impl GuestSeriesGroup for Group {
    fn create(name: String, params: String) -> Result<Option<SeriesGroup>, String> {
        let (entry, params) = catalog::parse(&name, &params)?;
        if !entry.batchable {
            return Ok(None);
        }
        Ok(Some(SeriesGroup::new(Group {
            entry,
            params,
            members: RefCell::new(Vec::new()),
            free: RefCell::new(Vec::new()),
        })))
    }

    fn add(&self, mut info: MetricInfo, seed: u64) -> Result<u32, String> {
        let behaviour = (self.entry.build)(&self.params, &info)?;
        // A step reads the range and default, not the names: a fleet's worth of
        // name copies would only fill the instance's memory.
        info.host = String::new();
        info.name = String::new();
        let member = Member {
            behaviour,
            info,
            random: fastrand::Rng::with_seed(seed),
        };
        let mut members = self.members.borrow_mut();
        match self.free.borrow_mut().pop() {
            Some(slot) => {
                members[slot as usize] = Some(member);
                Ok(slot)
            }
            None => {
                members.push(Some(member));
                u32::try_from(members.len() - 1).map_err(|_| "too many series in one group".into())
            }
        }
    }

    fn remove(&self, slot: u32) {
        if let Some(member) = self.members.borrow_mut().get_mut(slot as usize)
            && member.take().is_some()
        {
            self.free.borrow_mut().push(slot);
        }
    }

    fn step(&self, time: f64, slots: Vec<u32>, elapsed: Vec<f64>, values: Vec<f64>) -> Vec<f64> {
        let mut members = self.members.borrow_mut();
        slots
            .iter()
            .zip(elapsed.iter().zip(&values))
            .map(|(slot, (elapsed, value))| {
                let Some(Some(member)) = members.get_mut(*slot as usize) else {
                    return f64::NAN;
                };
                let ctx = Ctx {
                    time,
                    elapsed: *elapsed,
                    value: *value,
                    event: None,
                    links: &[],
                    info: &member.info,
                };
                let behaviour = &mut member.behaviour;
                let value = if behaviour.draws() {
                    with_random(&mut member.random, || behaviour.step(&ctx))
                } else {
                    behaviour.step(&ctx)
                };
                value.unwrap_or(f64::NAN)
            })
            .collect()
    }
}
