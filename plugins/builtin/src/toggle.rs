//! Toggle scenarios: `feature_toggle`.

use crate::bindings::promemu::plugin::host;
use promemu_guest::ParamSpec;

use crate::catalog::Entry;
use crate::{Behaviour, Ctx};

pub const FEATURE_TOGGLE: Entry = Entry {
    name: "feature_toggle",
    group: None,
    description: "Off until start_time, then on for duration and off for interval, repeating (times since the series became active). Emits on_event / off_event on every change.",
    params: &[
        ParamSpec {
            name: "start_time",
            description: "seconds (or 15s, 2m, ...) before the first switch on",
            default: "30.0",
        },
        ParamSpec {
            name: "duration",
            description: "time in the on state (> 0)",
            default: "60.0",
        },
        ParamSpec {
            name: "interval",
            description: "time in the off state between cycles (> 0)",
            default: "15.0",
        },
        ParamSpec {
            name: "on_value",
            description: "value while on",
            default: "1.0",
        },
        ParamSpec {
            name: "off_value",
            description: "value while off",
            default: "0.0",
        },
        ParamSpec {
            name: "source",
            description: "source named in emitted events; empty for the host",
            default: "\"\"",
        },
        ParamSpec {
            name: "on_event",
            description: "event emitted when switching on; empty for none",
            default: "\"feature_on\"",
        },
        ParamSpec {
            name: "off_event",
            description: "event emitted when switching off; empty for none",
            default: "\"feature_off\"",
        },
    ],
    build: |params, _| {
        Ok(Box::new(FeatureToggle {
            start_time: params.time("start_time")?,
            duration: params.seconds("duration")?,
            interval: params.seconds("interval")?,
            on_value: params.f64("on_value")?,
            off_value: params.f64("off_value")?,
            source: params.string("source")?,
            on_event: params.string("on_event")?,
            off_event: params.string("off_event")?,
            is_on: false,
        }))
    },
};

struct FeatureToggle {
    start_time: f64,
    duration: f64,
    interval: f64,
    on_value: f64,
    off_value: f64,
    source: String,
    on_event: String,
    off_event: String,
    is_on: bool,
}

impl FeatureToggle {
    fn should_be_on(&self, elapsed: f64) -> bool {
        if elapsed < self.start_time {
            return false;
        }
        let position = (elapsed - self.start_time) % (self.duration + self.interval);
        position < self.duration
    }
}

impl Behaviour for FeatureToggle {
    fn step(&mut self, ctx: &Ctx<'_>) -> Option<f64> {
        let on = self.should_be_on(ctx.elapsed);
        if on != self.is_on {
            self.is_on = on;
            let (event, value, state) = if on {
                (&self.on_event, self.on_value, "on")
            } else {
                (&self.off_event, self.off_value, "off")
            };
            if !event.is_empty() {
                let payload = serde_json::json!({ "state": state, "value": value }).to_string();
                host::emit(event, &self.source, &payload);
            }
        }
        Some(if on { self.on_value } else { self.off_value })
    }
}
