//! Event-driven calculation: `calc_by_event`.

use promemu_guest::ParamSpec;
use serde_json::Value;

use crate::catalog::{Entry, create_nested, offers};
use crate::expr::{COMMON_VARIABLES, Expression, common_values};
use crate::{Behaviour, Ctx};

pub const CALC_BY_EVENT: Entry = Entry {
    name: "calc_by_event",
    group: None,
    description: "On each event of events_config, applies that event's handler: an expression over value, min, max, default, elapsed and time (e.g. \"max(0, value - 3)\"), a scenario name (of this pack or any loaded plugin), or {scenario, scenario_data}. Keeps its value between events; clamped to the metric's range.",
    params: &[ParamSpec {
        name: "events_config",
        description: "{event: expression | scenario name | {scenario, scenario_data}}",
        default: "{}",
    }],
    build: |params, info| {
        let events: serde_json::Map<String, Value> =
            params.get("events_config", "an object {event: handler}")?;
        let mut handlers = Vec::new();
        for (event, config) in events {
            let action = match config {
                Value::String(text) if offers(&text) => {
                    Action::Scenario(create_nested(&text, Value::Null, info)?)
                }
                // A bare name that is no variable: a scenario of another plugin.
                Value::String(text) if is_scenario_name(&text) => Action::Scenario(
                    create_nested(&text, Value::Null, info).map_err(|err| {
                        params.error(format!(
                            "events_config.{event}: '{text}' is not a variable of an expression ({}), so it must name a scenario: {err}",
                            COMMON_VARIABLES.join(", ")
                        ))
                    })?,
                ),
                Value::String(text) => Action::Expression(Expression::parse(
                    &format!("calc_by_event: events_config.{event}"),
                    &text,
                    COMMON_VARIABLES,
                )?),
                Value::Object(mut map) => {
                    let Some(Value::String(scenario)) = map.remove("scenario") else {
                        return Err(params.error(format!(
                            "events_config.{event}: 'scenario' must name a scenario"
                        )));
                    };
                    let data = map.remove("scenario_data").unwrap_or(Value::Null);
                    if let Some(unknown) = map.keys().next() {
                        return Err(params.error(format!("events_config.{event}: unknown key '{unknown}'; expected scenario, scenario_data")));
                    }
                    Action::Scenario(
                        create_nested(&scenario, data, info)
                            .map_err(|err| params.error(format!("events_config.{event}: {err}")))?,
                    )
                }
                other => {
                    return Err(params.error(format!(
                        "events_config.{event}: expected an expression, a scenario name or {{scenario, scenario_data}}, got {other}"
                    )));
                }
            };
            handlers.push((event, action));
        }
        Ok(Box::new(CalcByEvent { handlers }))
    },
};

/// Whether a handler text is a bare name (not a number, not a known variable).
fn is_scenario_name(text: &str) -> bool {
    text.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !COMMON_VARIABLES.contains(&text)
        && !matches!(text, "true" | "false")
}

enum Action {
    Expression(Expression),
    Scenario(Box<dyn Behaviour>),
}

struct CalcByEvent {
    handlers: Vec<(String, Action)>,
}

impl Behaviour for CalcByEvent {
    fn links(&self) -> Vec<String> {
        let mut links: Vec<String> = self
            .handlers
            .iter()
            .flat_map(|(_, action)| match action {
                Action::Scenario(behaviour) => behaviour.links(),
                Action::Expression(_) => Vec::new(),
            })
            .collect();
        links.sort();
        links.dedup();
        links
    }

    fn step(&mut self, ctx: &Ctx<'_>) -> Option<f64> {
        let event = ctx.event?;
        let (_, action) = self
            .handlers
            .iter_mut()
            .find(|(name, _)| *name == event.name)?;
        let value = match action {
            Action::Expression(expression) => expression.eval(&common_values(ctx))?,
            Action::Scenario(behaviour) => behaviour.step(ctx)?,
        };
        Some(ctx.clamp(value))
    }
}
