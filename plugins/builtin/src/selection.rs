//! Selection scenarios: `variety_selection`.

use promemu_guest::{ParamSpec, Params};

use crate::bindings::promemu::plugin::types::MetricInfo;

use crate::catalog::Entry;
use crate::{Behaviour, Ctx, FromParams};

pub const VARIETY_SELECTION: Entry = Entry {
    name: "variety_selection",
    description: "Weighted random choice among fixed values. The first step always chooses; later steps choose again with probability change_probability.",
    params: &[
        ParamSpec {
            name: "values",
            description: "values to choose from (non-empty)",
            default: "[0.0, 1.0]",
        },
        ParamSpec {
            name: "varieties",
            description: "weight of each value (same length as values, >= 0, not all 0)",
            default: "null",
        },
        ParamSpec {
            name: "change_probability",
            description: "chance to choose again on each step, in [0, 1]",
            default: "0.1",
        },
    ],
    group: Some(crate::group::grouped::<VarietySelection>),
    build: crate::boxed::<VarietySelection>,
};

impl FromParams for VarietySelection {
    fn build(params: &Params, _: &MetricInfo) -> Result<Self, String> {
        let values: Vec<f64> = params.get("values", "a list of numbers")?;
        if values.is_empty() {
            return Err(params.error("parameter 'values' must not be empty"));
        }
        let weights: Vec<f64> = match params.raw("varieties") {
            serde_json::Value::Null => vec![1.0; values.len()],
            _ => params.get("varieties", "a list of numbers")?,
        };
        if weights.len() != values.len() {
            return Err(params.error(format!(
                "parameter 'varieties' must have one weight per value ({}), got {}",
                values.len(),
                weights.len()
            )));
        }
        if weights.iter().any(|weight| *weight < 0.0) || weights.iter().sum::<f64>() <= 0.0 {
            return Err(
                params.error("parameter 'varieties' must be weights >= 0 with a positive sum")
            );
        }
        let change_probability = params.f64("change_probability")?;
        if !(0.0..=1.0).contains(&change_probability) {
            return Err(params.error(format!(
                "parameter 'change_probability' must be in [0, 1], got {change_probability}"
            )));
        }
        Ok(VarietySelection {
            values,
            weights,
            change_probability,
            chosen: false,
        })
    }
}

struct VarietySelection {
    values: Vec<f64>,
    weights: Vec<f64>,
    change_probability: f64,
    chosen: bool,
}

impl VarietySelection {
    fn choose(&self, ctx: &Ctx<'_>) -> f64 {
        let total: f64 = self.weights.iter().sum();
        let mut draw = ctx.uniform(0.0, total);
        for (value, weight) in self.values.iter().zip(&self.weights) {
            if draw < *weight {
                return *value;
            }
            draw -= weight;
        }
        // Rounding can leave a sliver past the last weight; it belongs to the last
        // value with a positive weight.
        let last = self
            .weights
            .iter()
            .rposition(|weight| *weight > 0.0)
            .unwrap_or(0);
        self.values[last]
    }
}

impl Behaviour for VarietySelection {
    #[inline]
    fn step(&mut self, ctx: &Ctx<'_>) -> Option<f64> {
        if !self.chosen || ctx.uniform(0.0, 1.0) < self.change_probability {
            self.chosen = true;
            Some(self.choose(ctx))
        } else {
            Some(ctx.value)
        }
    }
}
