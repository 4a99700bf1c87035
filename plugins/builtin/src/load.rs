//! Load scenarios: `load_peak_cpu`.

use promemu_guest::ParamSpec;
use serde_json::Value;

use crate::catalog::Entry;
use crate::{Behaviour, Ctx};

pub const LOAD_PEAK_CPU: Entry = Entry {
    name: "load_peak_cpu",
    group: None,
    description: "CPU-like load that idles around base_value and climbs toward peak_value between start_event and end_event: each step closes 'smoothing' of the gap to the target, plus uniform noise; clamped to the metric's range. List both events in the metric's listen_events.",
    params: &[
        ParamSpec {
            name: "base_value",
            description: "idle level; null for the metric's default",
            default: "null",
        },
        ParamSpec {
            name: "peak_value",
            description: "level during a peak; null for 90% of the metric's range",
            default: "null",
        },
        ParamSpec {
            name: "noise",
            description: "largest random deviation per step (>= 0)",
            default: "3.0",
        },
        ParamSpec {
            name: "smoothing",
            description: "fraction of the gap to the target closed per step, in (0, 1]",
            default: "0.5",
        },
        ParamSpec {
            name: "start_event",
            description: "event that starts a peak",
            default: "\"load_peak_start\"",
        },
        ParamSpec {
            name: "end_event",
            description: "event that ends a peak",
            default: "\"load_peak_end\"",
        },
    ],
    build: |params, info| {
        let base = match params.raw("base_value") {
            Value::Null => info.default_value,
            _ => params.f64("base_value")?,
        };
        let peak = match params.raw("peak_value") {
            Value::Null => info.min + (info.max - info.min) * 0.9,
            _ => params.f64("peak_value")?,
        };
        let noise = params.f64("noise")?;
        if noise < 0.0 {
            return Err(params.error(format!("parameter 'noise' must be >= 0, got {noise}")));
        }
        let smoothing = params.f64("smoothing")?;
        if smoothing <= 0.0 || smoothing > 1.0 {
            return Err(params.error(format!(
                "parameter 'smoothing' must be in (0, 1], got {smoothing}"
            )));
        }
        Ok(Box::new(LoadPeak {
            base,
            peak,
            noise,
            smoothing,
            start_event: params.string("start_event")?,
            end_event: params.string("end_event")?,
            in_peak: false,
        }))
    },
};

struct LoadPeak {
    base: f64,
    peak: f64,
    noise: f64,
    smoothing: f64,
    start_event: String,
    end_event: String,
    in_peak: bool,
}

impl Behaviour for LoadPeak {
    fn step(&mut self, ctx: &Ctx<'_>) -> Option<f64> {
        if let Some(event) = ctx.event {
            if event.name == self.start_event {
                self.in_peak = true;
            } else if event.name == self.end_event {
                self.in_peak = false;
            }
        }
        let target = if self.in_peak { self.peak } else { self.base };
        let next = ctx.value
            + (target - ctx.value) * self.smoothing
            + ctx.uniform(-self.noise, self.noise);
        Some(ctx.clamp(next))
    }
}
