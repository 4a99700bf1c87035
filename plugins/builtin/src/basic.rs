//! Basic scenarios: `do_nothing`, `random_in_range`, `time_duration`.

use promemu_guest::ParamSpec;

use crate::catalog::Entry;
use crate::{Behaviour, Ctx, uniform};

pub const DO_NOTHING: Entry = Entry {
    name: "do_nothing",
    batchable: true,
    description: "Keeps the current value (the metric's default until something else sets it).",
    params: &[],
    build: |_, _| Ok(Box::new(DoNothing)),
};

struct DoNothing;

impl Behaviour for DoNothing {
    fn step(&mut self, ctx: &Ctx<'_>) -> Option<f64> {
        Some(ctx.value)
    }

    fn draws(&self) -> bool {
        false
    }
}

pub const RANDOM_IN_RANGE: Entry = Entry {
    name: "random_in_range",
    batchable: true,
    description: "A uniform random value in a range on every step.",
    params: &[ParamSpec {
        name: "value_range",
        description: "[low, high] to draw from; null for the metric's range",
        default: "null",
    }],
    build: |params, info| {
        let (low, high) = params.range("value_range")?.unwrap_or((info.min, info.max));
        Ok(Box::new(RandomInRange { low, high }))
    },
};

struct RandomInRange {
    low: f64,
    high: f64,
}

impl Behaviour for RandomInRange {
    fn step(&mut self, _ctx: &Ctx<'_>) -> Option<f64> {
        Some(uniform(self.low, self.high))
    }
}

pub const TIME_DURATION: Entry = Entry {
    name: "time_duration",
    batchable: true,
    description: "Seconds elapsed since the first step of the series (uptime, session length).",
    params: &[],
    build: |_, _| Ok(Box::new(TimeDuration { first_step: None })),
};

struct TimeDuration {
    first_step: Option<f64>,
}

impl Behaviour for TimeDuration {
    fn step(&mut self, ctx: &Ctx<'_>) -> Option<f64> {
        let start = *self.first_step.get_or_insert(ctx.time);
        Some(ctx.time - start)
    }

    fn draws(&self) -> bool {
        false
    }
}
