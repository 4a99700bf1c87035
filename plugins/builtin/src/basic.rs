//! Basic scenarios: `do_nothing`, `random_in_range`, `time_duration`.

use promemu_guest::{ParamSpec, Params};

use crate::bindings::promemu::plugin::types::MetricInfo;

use crate::catalog::Entry;
use crate::{Behaviour, Ctx, FromParams};

pub const DO_NOTHING: Entry = Entry {
    name: "do_nothing",
    description: "Keeps the current value (the metric's default until something else sets it).",
    params: &[],
    group: Some(crate::group::grouped::<DoNothing>),
    build: crate::boxed::<DoNothing>,
};

impl FromParams for DoNothing {
    fn build(_: &Params, _: &MetricInfo) -> Result<Self, String> {
        Ok(DoNothing)
    }
}

struct DoNothing;

impl Behaviour for DoNothing {
    #[inline]
    fn step(&mut self, ctx: &Ctx<'_>) -> Option<f64> {
        Some(ctx.value)
    }
}

pub const RANDOM_IN_RANGE: Entry = Entry {
    name: "random_in_range",
    description: "A uniform random value in a range on every step.",
    params: &[ParamSpec {
        name: "value_range",
        description: "[low, high] to draw from; null for the metric's range",
        default: "null",
    }],
    group: Some(crate::group::grouped::<RandomInRange>),
    build: crate::boxed::<RandomInRange>,
};

impl FromParams for RandomInRange {
    fn build(params: &Params, info: &MetricInfo) -> Result<Self, String> {
        let (low, high) = params.range("value_range")?.unwrap_or((info.min, info.max));
        Ok(RandomInRange { low, high })
    }
}

struct RandomInRange {
    low: f64,
    high: f64,
}

impl Behaviour for RandomInRange {
    #[inline]
    fn step(&mut self, ctx: &Ctx<'_>) -> Option<f64> {
        Some(ctx.uniform(self.low, self.high))
    }
}

pub const TIME_DURATION: Entry = Entry {
    name: "time_duration",
    description: "Seconds elapsed since the first step of the series (uptime, session length).",
    params: &[],
    group: Some(crate::group::grouped::<TimeDuration>),
    build: crate::boxed::<TimeDuration>,
};

impl FromParams for TimeDuration {
    fn build(_: &Params, _: &MetricInfo) -> Result<Self, String> {
        Ok(TimeDuration { first_step: None })
    }
}

struct TimeDuration {
    first_step: Option<f64>,
}

impl Behaviour for TimeDuration {
    #[inline]
    fn step(&mut self, ctx: &Ctx<'_>) -> Option<f64> {
        let start = *self.first_step.get_or_insert(ctx.time);
        Some(ctx.time - start)
    }
}
