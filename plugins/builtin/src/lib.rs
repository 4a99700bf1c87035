//! The built-in scenario pack: every scenario of the original PromEmu, plus
//! `random_walk` and `load_peak_cpu`, as one WebAssembly component.
//!
//! This file owns the contract glue only: listing the catalog and turning the
//! `scenario` resource's calls into calls on a [`Behaviour`] (`group.rs` does the
//! same for the `batch` interface's groups). Each scenario family
//! lives in its own module; the catalog in `catalog.rs` names them all.

/// The contract's `batch-scenario-pack` world: the pack exports `scenarios` and
/// `batch`. (The guest SDK's bindings cover the plain `scenario-pack` world.)
mod bindings {
    wit_bindgen::generate!({ world: "batch-scenario-pack", path: "../../wit" });
}

mod basic;
mod calc;
mod catalog;
mod expr;
mod foreign;
mod group;
mod load;
mod random;
mod relay;
mod selection;
mod switch;
mod toggle;
mod trend;
mod wave;

use std::cell::{Cell, RefCell};

use crate::bindings::exports::promemu::plugin::batch::Guest as BatchGuest;
use crate::bindings::exports::promemu::plugin::scenarios::{
    Guest, GuestScenario, Scenario, ScenarioInfo,
};
use crate::bindings::promemu::plugin::host;
use crate::bindings::promemu::plugin::types::{Context, Event, LinkedValue, MetricInfo, ParamInfo};
use promemu_guest::{Params, param_infos};

/// What a step may look at, borrowed from the contract's `context`.
pub(crate) struct Ctx<'a> {
    pub time: f64,
    pub elapsed: f64,
    pub value: f64,
    pub event: Option<&'a Event>,
    pub links: &'a [LinkedValue],
    pub info: &'a MetricInfo,
    /// The state of a group member's own random generator (see
    /// [`random`]); `None` outside a group step,
    /// where draws come from the host's stream for the calling series.
    pub random: Option<&'a Cell<u64>>,
}

impl Ctx<'_> {
    /// The current value of the linked metric `name`, if the host supplied it.
    pub fn link(&self, name: &str) -> Option<f64> {
        self.links
            .iter()
            .find(|link| link.name == name)
            .map(|link| link.value)
    }

    /// A uniform draw in [low, high) from the series' own seeded stream.
    pub fn uniform(&self, low: f64, high: f64) -> f64 {
        let draw = match self.random {
            Some(state) => random::next_f64(state),
            None => host::random(),
        };
        low + draw * (high - low)
    }

    /// `value` limited to the metric's range.
    pub fn clamp(&self, value: f64) -> f64 {
        clamp_to(value, self.info)
    }
}

/// `value` limited to the range of `info` (NaN stays NaN for the host to judge).
/// Comparisons, not `f64::max`/`min`: in Wasm those are calls to `fmax`/`fmin`.
pub(crate) fn clamp_to(value: f64, info: &MetricInfo) -> f64 {
    if info.min <= info.max {
        if value < info.min {
            return info.min;
        }
        if value > info.max {
            return info.max;
        }
    }
    value
}

/// The behaviour of one series: what every scenario implements.
pub(crate) trait Behaviour {
    /// Advances the series; `None` keeps the current value.
    fn step(&mut self, ctx: &Ctx<'_>) -> Option<f64>;

    /// Names of other metrics this behaviour reads.
    fn links(&self) -> Vec<String> {
        Vec::new()
    }
}

/// A behaviour built from checked parameters: what lets a catalog entry box it
/// for a single series or keep it unboxed, in arrays, for a group.
pub(crate) trait FromParams: Behaviour + Sized + 'static {
    fn build(params: &Params, info: &MetricInfo) -> Result<Self, String>;
}

/// [`FromParams::build`] for one series, behind the catalog's [`catalog::Build`].
pub(crate) fn boxed<S: FromParams>(
    params: &Params,
    info: &MetricInfo,
) -> Result<Box<dyn Behaviour>, String> {
    Ok(Box::new(S::build(params, info)?))
}

/// The state behind one `scenario` resource handle.
struct Series {
    info: MetricInfo,
    behaviour: RefCell<Box<dyn Behaviour>>,
}

struct BuiltinPack;

impl Guest for BuiltinPack {
    type Scenario = Series;

    fn list_scenarios() -> Vec<ScenarioInfo> {
        catalog::CATALOG
            .iter()
            .map(|entry| ScenarioInfo {
                name: entry.name.into(),
                description: entry.description.into(),
                params: param_infos(entry.params, |name, description, default_value| ParamInfo {
                    name,
                    description,
                    default_value,
                }),
            })
            .collect()
    }
}

impl GuestScenario for Series {
    fn create(name: String, params: String, info: MetricInfo) -> Result<Scenario, String> {
        let behaviour = catalog::create(&name, &params, &info)?;
        Ok(Scenario::new(Series {
            info,
            behaviour: RefCell::new(behaviour),
        }))
    }

    fn links(&self) -> Vec<String> {
        self.behaviour.borrow().links()
    }

    fn step(&self, ctx: Context) -> Option<f64> {
        let ctx = Ctx {
            time: ctx.time,
            elapsed: ctx.elapsed,
            value: ctx.value,
            event: ctx.event.as_ref(),
            links: &ctx.links,
            info: &self.info,
            random: None,
        };
        self.behaviour.borrow_mut().step(&ctx)
    }
}

impl BatchGuest for BuiltinPack {
    type SeriesGroup = group::Group;
}

bindings::export!(BuiltinPack with_types_in bindings);
