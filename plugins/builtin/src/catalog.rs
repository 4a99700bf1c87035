//! The catalog: every scenario's name, description, parameters and constructor.

use promemu_guest::{ParamSpec, Params};
use serde_json::Value;

use crate::Behaviour;
use crate::bindings::promemu::plugin::types::MetricInfo;
use crate::foreign::Foreign;
use crate::group::MemberSet;

/// Builds a behaviour from checked parameters.
pub type Build = fn(&Params, &MetricInfo) -> Result<Box<dyn Behaviour>, String>;

/// One scenario of the pack.
pub struct Entry {
    pub name: &'static str,
    pub description: &'static str,
    pub params: &'static [ParamSpec],
    /// How its series are stepped in groups (`batch`), when they may be: it
    /// reads no links, emits no events and nests no other scenario, so a step
    /// needs only the series' own state, time, value and random draws.
    pub group: Option<fn(Params) -> Box<dyn MemberSet>>,
    pub build: Build,
}

/// Every scenario the pack offers, in the order `promemu scenarios` lists them.
pub static CATALOG: &[Entry] = &[
    crate::basic::DO_NOTHING,
    crate::basic::RANDOM_IN_RANGE,
    crate::basic::TIME_DURATION,
    crate::wave::SINE_WAVE,
    crate::trend::UPDATE_BY_TREND,
    crate::trend::RANDOM_WALK,
    crate::selection::VARIETY_SELECTION,
    crate::toggle::FEATURE_TOGGLE,
    crate::switch::SWITCH_SCENARIO_BY_EVENTS,
    crate::relay::RELAY_TO_OTHER_METRIC,
    crate::calc::CALC_BY_EVENT,
    crate::load::LOAD_PEAK_CPU,
];

fn entry(name: &str) -> Result<&'static Entry, String> {
    CATALOG
        .iter()
        .find(|entry| entry.name == name)
        .ok_or_else(|| {
            let known: Vec<&str> = CATALOG.iter().map(|entry| entry.name).collect();
            format!(
                "unknown scenario '{name}'; this pack offers: {}",
                known.join(", ")
            )
        })
}

/// Whether the pack offers a scenario called `name`.
pub fn offers(name: &str) -> bool {
    CATALOG.iter().any(|entry| entry.name == name)
}

/// Creates the behaviour `name` from JSON text parameters.
pub fn create(name: &str, params: &str, info: &MetricInfo) -> Result<Box<dyn Behaviour>, String> {
    let (entry, params) = parse(name, params)?;
    (entry.build)(&params, info)
}

/// The scenario `name` and its checked parameters.
pub fn parse(name: &str, params: &str) -> Result<(&'static Entry, Params), String> {
    let entry = entry(name)?;
    Ok((entry, Params::parse(entry.name, entry.params, params)?))
}

/// Creates the behaviour `name` from an already parsed JSON value (`null` or an
/// object), as nested scenarios in `switch_scenario_by_events` and `calc_by_event`
/// are: one of this pack's own, or else one of another plugin, through the host.
pub fn create_nested(
    name: &str,
    params: Value,
    info: &MetricInfo,
) -> Result<Box<dyn Behaviour>, String> {
    if !offers(name) {
        return Ok(Box::new(Foreign::create(name, params, info)?));
    }
    let entry = entry(name)?;
    let map = match params {
        Value::Null => Default::default(),
        Value::Object(map) => map,
        other => {
            return Err(format!(
                "{name}: scenario_data must be an object, got {other}"
            ));
        }
    };
    let params = Params::from_map(entry.name, entry.params, map)?;
    (entry.build)(&params, info)
}
