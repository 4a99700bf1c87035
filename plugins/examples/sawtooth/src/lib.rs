//! An example scenario pack on the guest SDK: `sawtooth`, a ramp from `low` to
//! `high` over `period` seconds that starts again from `low`. It shows each part
//! of the contract a scenario uses:
//!
//! - parameters, declared once and parsed with the SDK's helpers;
//! - `random`: `jitter` adds noise from the series' seeded stream;
//! - events: `restart_on` names an event that starts the ramp again, and with
//!   `announce` the series emits `sawtooth_wrapped` each time its ramp wraps;
//! - links: `follow` names another metric of the host whose value is added;
//! - `log`: a debug line at each wrap;
//! - groups: plain ramps (no jitter, events, links or announcements) are also
//!   offered to the `batch` interface, so a fleet's sawtooths step a group at a
//!   time, with the same values.

use std::cell::{Cell, RefCell};

use promemu_guest::batch::exports::promemu::plugin::batch::{
    Guest as BatchGuest, GuestSeriesGroup, SeriesGroup,
};
use promemu_guest::scenario_pack::exports::promemu::plugin::scenarios::{
    Guest, GuestScenario, Scenario, ScenarioInfo,
};
use promemu_guest::scenario_pack::promemu::plugin::host;
use promemu_guest::scenario_pack::promemu::plugin::types::{
    Context, LogLevel, MetricInfo, ParamInfo,
};
use promemu_guest::{ParamSpec, Params, param_infos};

const SAWTOOTH_PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "period",
        description: "seconds from low to high (> 0)",
        default: "60.0",
    },
    ParamSpec {
        name: "low",
        description: "value at the start of each ramp",
        default: "0.0",
    },
    ParamSpec {
        name: "high",
        description: "value the ramp reaches at the end of the period",
        default: "100.0",
    },
    ParamSpec {
        name: "jitter",
        description: "noise added to each value, up to this much either way",
        default: "0.0",
    },
    ParamSpec {
        name: "restart_on",
        description: "an event that starts the ramp again (\"\" for none)",
        default: "\"\"",
    },
    ParamSpec {
        name: "announce",
        description: "emit sawtooth_wrapped (source: the host) when the ramp wraps",
        default: "false",
    },
    ParamSpec {
        name: "follow",
        description: "another metric of the host whose value is added (\"\" for none)",
        default: "\"\"",
    },
];

struct SawtoothPack;

/// A ramp from `low` to `high` over `period` seconds, again and again.
#[derive(Clone, Copy)]
struct Ramp {
    period: f64,
    low: f64,
    high: f64,
}

impl Ramp {
    /// The ramp's value `since` seconds after it started.
    fn at(&self, since: f64) -> f64 {
        self.low + (self.high - self.low) * (since % self.period) / self.period
    }
}

/// A sawtooth's parameters, checked.
struct SawtoothParams {
    ramp: Ramp,
    jitter: f64,
    restart_on: String,
    announce: bool,
    follow: String,
}

impl SawtoothParams {
    fn parse(name: &str, params: &str) -> Result<Self, String> {
        if name != "sawtooth" {
            return Err(format!(
                "unknown scenario '{name}'; this pack offers sawtooth"
            ));
        }
        let params = Params::parse("sawtooth", SAWTOOTH_PARAMS, params)?;
        let jitter = params.f64("jitter")?;
        if jitter < 0.0 {
            return Err(params.error(format!("jitter must be 0 or more, got {jitter}")));
        }
        Ok(Self {
            ramp: Ramp {
                period: params.positive("period")?,
                low: params.f64("low")?,
                high: params.f64("high")?,
            },
            jitter,
            restart_on: params.string("restart_on")?,
            announce: params.get("announce", "true or false")?,
            follow: params.string("follow")?,
        })
    }

    /// Whether a group can step it: only a plain ramp. Jitter draws from the
    /// host's stream for the series, and events, links and announcements need
    /// the scenario's own calls.
    fn is_plain(&self) -> bool {
        self.jitter == 0.0 && self.restart_on.is_empty() && !self.announce && self.follow.is_empty()
    }
}

/// One series' sawtooth.
struct Sawtooth {
    host: String,
    ramp: Ramp,
    jitter: f64,
    restart_on: String,
    announce: bool,
    follow: String,
    min: f64,
    max: f64,
    /// When the current ramp started (the series' elapsed seconds).
    ramp_start: Cell<f64>,
    /// Wraps so far.
    wraps: Cell<u64>,
}

impl Guest for SawtoothPack {
    type Scenario = Sawtooth;

    fn list_scenarios() -> Vec<ScenarioInfo> {
        vec![ScenarioInfo {
            name: "sawtooth".into(),
            description: "a ramp from low to high over period seconds that starts again from low"
                .into(),
            params: param_infos(SAWTOOTH_PARAMS, |name, description, default_value| {
                ParamInfo {
                    name,
                    description,
                    default_value,
                }
            }),
        }]
    }
}

impl GuestScenario for Sawtooth {
    fn create(name: String, params: String, info: MetricInfo) -> Result<Scenario, String> {
        let params = SawtoothParams::parse(&name, &params)?;
        Ok(Scenario::new(Sawtooth {
            host: info.host,
            ramp: params.ramp,
            jitter: params.jitter,
            restart_on: params.restart_on,
            announce: params.announce,
            follow: params.follow,
            min: info.min,
            max: info.max,
            ramp_start: Cell::new(0.0),
            wraps: Cell::new(0),
        }))
    }

    fn links(&self) -> Vec<String> {
        if self.follow.is_empty() {
            Vec::new()
        } else {
            vec![self.follow.clone()]
        }
    }

    fn step(&self, ctx: Context) -> Option<f64> {
        if let Some(event) = &ctx.event
            && !self.restart_on.is_empty()
            && event.name == self.restart_on
        {
            self.ramp_start.set(ctx.elapsed);
        }
        let since = ctx.elapsed - self.ramp_start.get();
        let wraps = (since / self.ramp.period).floor() as u64;
        if wraps > self.wraps.get() {
            self.wraps.set(wraps);
            host::log(
                LogLevel::Debug,
                &format!("{}: ramp {wraps} begins", self.host),
            );
            if self.announce {
                host::emit(
                    "sawtooth_wrapped",
                    &self.host,
                    &format!("{{\"wraps\":{wraps}}}"),
                );
            }
        } else if wraps < self.wraps.get() {
            // A restart: count from the new ramp.
            self.wraps.set(wraps);
        }
        let ramp = self.ramp.at(since);
        let noise = if self.jitter > 0.0 {
            (host::random() * 2.0 - 1.0) * self.jitter
        } else {
            0.0
        };
        let followed: f64 = ctx
            .links
            .iter()
            .filter(|link| link.name == self.follow)
            .map(|link| link.value)
            .sum();
        Some((ramp + noise + followed).clamp(self.min, self.max))
    }
}

/// Plain sawtooths of one set of parameters, stepped together.
struct SawtoothGroup {
    ramp: Ramp,
    members: RefCell<Members>,
}

/// Each slot's metric range (`None` for a free slot), and the free slots.
#[derive(Default)]
struct Members {
    ranges: Vec<Option<(f64, f64)>>,
    free: Vec<u32>,
}

impl BatchGuest for SawtoothPack {
    type SeriesGroup = SawtoothGroup;
}

impl GuestSeriesGroup for SawtoothGroup {
    fn create(name: String, params: String) -> Result<Option<SeriesGroup>, String> {
        let params = SawtoothParams::parse(&name, &params)?;
        Ok(params.is_plain().then(|| {
            SeriesGroup::new(SawtoothGroup {
                ramp: params.ramp,
                members: RefCell::default(),
            })
        }))
    }

    fn add(&self, info: MetricInfo, _seed: u64) -> Result<u32, String> {
        let mut members = self.members.borrow_mut();
        let range = Some((info.min, info.max));
        if let Some(slot) = members.free.pop() {
            members.ranges[slot as usize] = range;
            return Ok(slot);
        }
        let slot = u32::try_from(members.ranges.len()).map_err(|_| "the group is full")?;
        members.ranges.push(range);
        Ok(slot)
    }

    fn remove(&self, slot: u32) {
        let mut members = self.members.borrow_mut();
        if let Some(range) = members.ranges.get_mut(slot as usize)
            && range.take().is_some()
        {
            members.free.push(slot);
        }
    }

    fn step(&self, _time: f64, slots: Vec<u32>, elapsed: Vec<f64>, _values: Vec<f64>) -> Vec<f64> {
        let ranges = &self.members.borrow().ranges;
        slots
            .iter()
            .zip(elapsed)
            .map(|(&slot, elapsed)| match ranges.get(slot as usize) {
                // The same sum as a single series' step, without noise or links.
                Some(Some((min, max))) => (self.ramp.at(elapsed) + 0.0 + 0.0).clamp(*min, *max),
                _ => f64::NAN,
            })
            .collect()
    }
}

promemu_guest::scenario_pack::export_scenarios!(SawtoothPack with_types_in promemu_guest::scenario_pack);
promemu_guest::batch::export_batch!(SawtoothPack with_types_in promemu_guest::batch);
