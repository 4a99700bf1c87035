//! Trend scenarios: `update_by_trend` and `random_walk`.

use promemu_guest::{ParamSpec, Params};

use crate::bindings::promemu::plugin::types::MetricInfo;

use crate::catalog::Entry;
use crate::{Behaviour, Ctx, FromParams};

pub const UPDATE_BY_TREND: Entry = Entry {
    name: "update_by_trend",
    description: "Adds a random step each update: positive for 'up', negative for 'down', either sign for 'hold'; clamped to the metric's range.",
    params: &[
        ParamSpec {
            name: "trend",
            description: "'up', 'down' or 'hold'",
            default: "\"hold\"",
        },
        ParamSpec {
            name: "step_range",
            description: "[low, high] size of one step (low >= 0)",
            default: "[1.0, 5.0]",
        },
    ],
    group: Some(crate::group::grouped::<UpdateByTrend>),
    build: crate::boxed::<UpdateByTrend>,
};

impl FromParams for UpdateByTrend {
    fn build(params: &Params, _: &MetricInfo) -> Result<Self, String> {
        let direction = match params.string("trend")?.as_str() {
            "up" => Direction::Up,
            "down" => Direction::Down,
            "hold" => Direction::Hold,
            other => {
                return Err(params.error(format!(
                    "parameter 'trend' must be 'up', 'down' or 'hold', got '{other}'"
                )));
            }
        };
        let (low, high) = params.range("step_range")?.unwrap_or((1.0, 5.0));
        if low < 0.0 {
            return Err(params.error(format!(
                "parameter 'step_range' must not be negative, got [{low}, {high}]"
            )));
        }
        Ok(UpdateByTrend {
            direction,
            low,
            high,
        })
    }
}

enum Direction {
    Up,
    Down,
    Hold,
}

struct UpdateByTrend {
    direction: Direction,
    low: f64,
    high: f64,
}

impl Behaviour for UpdateByTrend {
    #[inline(always)]
    fn step(&mut self, ctx: &Ctx<'_>) -> Option<f64> {
        let size = ctx.uniform(self.low, self.high);
        let delta = match self.direction {
            Direction::Up => size,
            Direction::Down => -size,
            Direction::Hold => ctx.uniform(-size, size),
        };
        Some(ctx.clamp(ctx.value + delta))
    }
}

pub const RANDOM_WALK: Entry = Entry {
    name: "random_walk",
    description: "Moves by a uniform step in [-max_step, max_step] each update, pulled back toward the metric's default by 'reversion' (0 = pure walk, 1 = snap back); clamped to the metric's range.",
    params: &[
        ParamSpec {
            name: "max_step",
            description: "largest move per update; null for 5% of the metric's range",
            default: "null",
        },
        ParamSpec {
            name: "reversion",
            description: "fraction of the distance to the default removed per update, in [0, 1]",
            default: "0.1",
        },
    ],
    group: Some(crate::group::grouped::<RandomWalk>),
    build: crate::boxed::<RandomWalk>,
};

impl FromParams for RandomWalk {
    fn build(params: &Params, info: &MetricInfo) -> Result<Self, String> {
        let max_step = match params.raw("max_step") {
            serde_json::Value::Null => ((info.max - info.min) * 0.05).abs(),
            _ => params.f64("max_step")?,
        };
        if max_step < 0.0 {
            return Err(params.error(format!(
                "parameter 'max_step' must not be negative, got {max_step}"
            )));
        }
        let reversion = params.f64("reversion")?;
        if !(0.0..=1.0).contains(&reversion) {
            return Err(params.error(format!(
                "parameter 'reversion' must be in [0, 1], got {reversion}"
            )));
        }
        Ok(RandomWalk {
            max_step,
            reversion,
        })
    }
}

struct RandomWalk {
    max_step: f64,
    reversion: f64,
}

impl Behaviour for RandomWalk {
    #[inline]
    fn step(&mut self, ctx: &Ctx<'_>) -> Option<f64> {
        let pull = (ctx.info.default_value - ctx.value) * self.reversion;
        let jitter = ctx.uniform(-self.max_step, self.max_step);
        Some(ctx.clamp(ctx.value + pull + jitter))
    }
}
