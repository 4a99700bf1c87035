//! Scenarios of other plugins, nested through the host (the contract's
//! `nested-scenario`): how `switch_scenario_by_events` and `calc_by_event` run a
//! scenario this pack does not offer, such as one from a `--plugin` file.

use crate::bindings::promemu::plugin::host::NestedScenario;
use crate::bindings::promemu::plugin::types::{Context, MetricInfo};
use serde_json::Value;

use crate::{Behaviour, Ctx};

/// A scenario the host runs for this series.
pub struct Foreign {
    scenario: NestedScenario,
}

impl Foreign {
    /// Asks the host for the scenario `name` with `params` (`null` or an object).
    pub fn create(name: &str, params: Value, info: &MetricInfo) -> Result<Self, String> {
        let params = match params {
            Value::Null => String::new(),
            Value::Object(map) => Value::Object(map).to_string(),
            other => {
                return Err(format!(
                    "{name}: scenario_data must be an object, got {other}"
                ));
            }
        };
        let scenario = NestedScenario::create(name, &params, info)?;
        Ok(Self { scenario })
    }
}

impl Behaviour for Foreign {
    fn step(&mut self, ctx: &Ctx<'_>) -> Option<f64> {
        self.scenario.step(&Context {
            time: ctx.time,
            elapsed: ctx.elapsed,
            value: ctx.value,
            event: ctx.event.cloned(),
            links: ctx.links.to_vec(),
        })
    }

    fn links(&self) -> Vec<String> {
        self.scenario.links()
    }
}
