//! Event-driven switching: `switch_scenario_by_events`.

use crate::bindings::promemu::plugin::types::MetricInfo;
use promemu_guest::ParamSpec;
use serde_json::Value;

use crate::catalog::{Entry, create_nested};
use crate::{Behaviour, Ctx};

pub const SWITCH_SCENARIO_BY_EVENTS: Entry = Entry {
    name: "switch_scenario_by_events",
    group: None,
    description: "Runs default_scenario until an event of events_config arrives, then that event's scenario (started afresh, its elapsed counted from the event) until its duration ends or another configured event arrives. Scenarios may come from this pack or any loaded plugin.",
    params: &[
        ParamSpec {
            name: "events_config",
            description: "{event: {scenario, scenario_data, duration}}; duration in seconds, omitted for no limit",
            default: "{}",
        },
        ParamSpec {
            name: "default_scenario",
            description: "scenario run when no event scenario is active",
            default: "\"do_nothing\"",
        },
        ParamSpec {
            name: "default_scenario_data",
            description: "parameters of default_scenario",
            default: "{}",
        },
    ],
    build: |params, info| {
        let events: serde_json::Map<String, Value> = params.get(
            "events_config",
            "an object {event: {scenario, scenario_data, duration}}",
        )?;
        let mut handlers = Vec::new();
        for (event, config) in events {
            let handler = Handler::parse(&event, config, info)
                .map_err(|err| params.error(format!("events_config.{event}: {err}")))?;
            handlers.push(handler);
        }
        let default_name = params.string("default_scenario")?;
        let default_data = params.raw("default_scenario_data");
        let default = create_nested(&default_name, default_data, info)
            .map_err(|err| params.error(format!("default_scenario: {err}")))?;
        Ok(Box::new(Switch {
            handlers,
            default,
            active: None,
            info: info.clone(),
        }))
    },
};

/// What one event switches to.
struct Handler {
    event: String,
    scenario: String,
    data: Value,
    duration: Option<f64>,
    /// Metrics the scenario reads.
    links: Vec<String>,
}

impl Handler {
    fn parse(event: &str, config: Value, info: &MetricInfo) -> Result<Self, String> {
        let (scenario, data, duration) = match config {
            Value::String(scenario) => (scenario, Value::Null, None),
            Value::Object(mut map) => {
                let scenario = match map.remove("scenario") {
                    Some(Value::String(name)) => name,
                    _ => return Err("'scenario' must name a scenario".into()),
                };
                let data = map.remove("scenario_data").unwrap_or(Value::Null);
                let duration = match map.remove("duration") {
                    None | Some(Value::Null) => None,
                    Some(Value::Number(seconds)) => match seconds.as_f64() {
                        Some(seconds) if seconds > 0.0 => Some(seconds),
                        _ => {
                            return Err(format!(
                                "'duration' must be a number of seconds > 0, got {seconds}"
                            ));
                        }
                    },
                    Some(other) => {
                        return Err(format!(
                            "'duration' must be a number of seconds, got {other}"
                        ));
                    }
                };
                if let Some(unknown) = map.keys().next() {
                    return Err(format!(
                        "unknown key '{unknown}'; expected scenario, scenario_data, duration"
                    ));
                }
                (scenario, data, duration)
            }
            other => {
                return Err(format!(
                    "expected {{scenario, scenario_data, duration}} or a scenario name, got {other}"
                ));
            }
        };
        // Build once now so a bad nested scenario is a creation error, not a step
        // error, and so the metrics it reads are known up front.
        let links = create_nested(&scenario, data.clone(), info)?.links();
        Ok(Self {
            event: event.into(),
            scenario,
            data,
            duration,
            links,
        })
    }
}

struct Active {
    behaviour: Box<dyn Behaviour>,
    started: f64,
    until: Option<f64>,
}

struct Switch {
    handlers: Vec<Handler>,
    default: Box<dyn Behaviour>,
    active: Option<Active>,
    info: MetricInfo,
}

impl Behaviour for Switch {
    fn links(&self) -> Vec<String> {
        let mut links = self.default.links();
        links.extend(
            self.handlers
                .iter()
                .flat_map(|handler| handler.links.iter().cloned()),
        );
        links.sort();
        links.dedup();
        links
    }

    fn step(&mut self, ctx: &Ctx<'_>) -> Option<f64> {
        if let Some(event) = ctx.event
            && let Some(handler) = self
                .handlers
                .iter()
                .find(|handler| handler.event == event.name)
        {
            // Validated at creation, so this only fails if the nested scenario's own
            // creation is non-deterministic; fall back to the default then.
            self.active = create_nested(&handler.scenario, handler.data.clone(), &self.info)
                .ok()
                .map(|behaviour| Active {
                    behaviour,
                    started: ctx.time,
                    until: handler.duration.map(|duration| ctx.time + duration),
                });
        }
        if let Some(active) = &self.active
            && active.until.is_some_and(|until| ctx.time >= until)
        {
            self.active = None;
        }
        match &mut self.active {
            Some(active) => {
                let nested = Ctx {
                    elapsed: ctx.time - active.started,
                    ..*ctx
                };
                active.behaviour.step(&nested)
            }
            None => self.default.step(ctx),
        }
    }
}
