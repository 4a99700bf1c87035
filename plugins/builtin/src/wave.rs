//! Wave scenarios: `sine_wave`.

use std::f64::consts::TAU;

use promemu_guest::{ParamSpec, Params};

use crate::bindings::promemu::plugin::types::MetricInfo;

use crate::catalog::Entry;
use crate::{Behaviour, Ctx, FromParams};

pub const SINE_WAVE: Entry = Entry {
    name: "sine_wave",
    description: "offset + amplitude * sin(2*pi*elapsed/period + phase_offset), clamped to the metric's range.",
    params: &[
        ParamSpec {
            name: "period",
            description: "cycle length in seconds (> 0)",
            default: "300.0",
        },
        ParamSpec {
            name: "amplitude",
            description: "height of the wave above the centre line",
            default: "50.0",
        },
        ParamSpec {
            name: "offset",
            description: "centre line",
            default: "50.0",
        },
        ParamSpec {
            name: "phase_offset",
            description: "phase shift in radians",
            default: "0.0",
        },
    ],
    group: Some(crate::group::grouped::<SineWave>),
    build: crate::boxed::<SineWave>,
};

impl FromParams for SineWave {
    fn build(params: &Params, _: &MetricInfo) -> Result<Self, String> {
        Ok(SineWave {
            period: params.positive("period")?,
            amplitude: params.f64("amplitude")?,
            offset: params.f64("offset")?,
            phase: params.f64("phase_offset")?,
        })
    }
}

struct SineWave {
    period: f64,
    amplitude: f64,
    offset: f64,
    phase: f64,
}

impl Behaviour for SineWave {
    #[inline]
    fn step(&mut self, ctx: &Ctx<'_>) -> Option<f64> {
        let angle = TAU * ctx.elapsed / self.period + self.phase;
        Some(ctx.clamp(self.offset + self.amplitude * angle.sin()))
    }
}
