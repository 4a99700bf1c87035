//! Relay scenarios: `relay_to_other_metric`.

use promemu_guest::ParamSpec;

use crate::catalog::Entry;
use crate::expr::{COMMON_VARIABLES, Expression, common_values};
use crate::{Behaviour, Ctx};

const VARIABLES: &[&str] = &[
    "source", "value", "min", "max", "default", "elapsed", "time",
];

pub const RELAY_TO_OTHER_METRIC: Entry = Entry {
    name: "relay_to_other_metric",
    group: None,
    description: "Follows another metric of the same host through an expression over source (its value), value, min, max, default, elapsed and time; clamped to the metric's range. Keeps its value while the source is unknown.",
    params: &[
        ParamSpec {
            name: "source_metric_name",
            description: "metric of the same host to follow (required)",
            default: "null",
        },
        ParamSpec {
            name: "calc_function",
            description: "expression giving the new value",
            default: "\"source\"",
        },
    ],
    build: |params, _| {
        let source: Option<String> = params.get("source_metric_name", "a metric name")?;
        let source = source
            .filter(|name| !name.is_empty())
            .ok_or_else(|| params.error("parameter 'source_metric_name' is required"))?;
        let text = params.string("calc_function")?;
        debug_assert!(COMMON_VARIABLES.iter().all(|name| VARIABLES.contains(name)));
        let calc = Expression::parse(params.owner(), &text, VARIABLES)?;
        Ok(Box::new(Relay { source, calc }))
    },
};

struct Relay {
    source: String,
    calc: Expression,
}

impl Behaviour for Relay {
    fn links(&self) -> Vec<String> {
        vec![self.source.clone()]
    }

    fn step(&mut self, ctx: &Ctx<'_>) -> Option<f64> {
        let source = ctx.link(&self.source)?;
        let mut variables = common_values(ctx).to_vec();
        variables.push(("source", source));
        self.calc.eval(&variables).map(|value| ctx.clamp(value))
    }
}
