// The `sawtooth` scenario: a ramp from `low` to `high` over `period` seconds that
// starts again from `low`. It shows each part of the contract a scenario uses:
//
// - parameters, a JSON object, checked with readable errors (thrown: a thrown
//   string is the error of a `result`);
// - `random()`: `jitter` adds noise from the series' seeded stream;
// - events: `restart_on` names an event that starts the ramp again, and with
//   `announce` the series emits `sawtooth_wrapped` each time its ramp wraps;
// - links: `follow` names another metric of the host whose value is added;
// - `log`: a debug line at each wrap.
//
// The export is named after the interface (`scenarios`); WIT names become
// camelCase (`list-scenarios` is `listScenarios`, `default-value` is
// `defaultValue`), enums are strings, options are a value or `undefined`.

import { emit, log, random } from "promemu:plugin/host@0.1.2";

// [name, description, default as JSON]
const SAWTOOTH_PARAMS = [
  ["period", "seconds from low to high (> 0)", "60.0"],
  ["low", "value at the start of each ramp", "0.0"],
  ["high", "value the ramp reaches at the end of the period", "100.0"],
  ["jitter", "noise added to each value, up to this much either way", "0.0"],
  ["restart_on", 'an event that starts the ramp again ("" for none)', '""'],
  ["announce", "emit sawtooth_wrapped (source: the host) when the ramp wraps", "false"],
  ["follow", 'another metric of the host whose value is added ("" for none)', '""'],
];

// The parameters with defaults filled in; unknown names and wrong types refused.
function parseParams(text) {
  const values = Object.fromEntries(SAWTOOTH_PARAMS.map(([name, , json]) => [name, JSON.parse(json)]));
  let given;
  try {
    given = text.trim() ? JSON.parse(text) : {};
  } catch (error) {
    throw `parameters are not JSON: ${error.message}`;
  }
  if (given === null || typeof given !== "object" || Array.isArray(given)) {
    throw "parameters must be a JSON object";
  }
  for (const [name, value] of Object.entries(given)) {
    if (!(name in values)) {
      throw `unknown parameter '${name}'; expected one of ${SAWTOOTH_PARAMS.map(([known]) => known).join(", ")}`;
    }
    if (typeof value !== typeof values[name]) {
      throw `parameter '${name}' must be a ${typeof values[name]}, got ${JSON.stringify(value)}`;
    }
    values[name] = value;
  }
  if (!(values.period > 0)) {
    throw `parameter 'period' must be > 0, got ${values.period}`;
  }
  if (values.jitter < 0) {
    throw `parameter 'jitter' must be 0 or more, got ${values.jitter}`;
  }
  return values;
}

// One series' sawtooth. The arithmetic is the Rust example's, operation for
// operation, so the same seed gives the same values in every language.
class Scenario {
  constructor(params, info) {
    this.params = params;
    this.info = info;
    // When the current ramp started (the series' elapsed seconds).
    this.rampStart = 0;
    // Wraps so far.
    this.wraps = 0;
  }

  static create(name, params, info) {
    if (name !== "sawtooth") {
      throw `unknown scenario '${name}'; this pack offers sawtooth`;
    }
    return new Scenario(parseParams(params), info);
  }

  links() {
    return this.params.follow ? [this.params.follow] : [];
  }

  step(ctx) {
    const params = this.params;
    if (ctx.event !== undefined && params.restart_on && ctx.event.name === params.restart_on) {
      this.rampStart = ctx.elapsed;
    }
    const since = ctx.elapsed - this.rampStart;
    const period = params.period;
    const wraps = Math.floor(since / period);
    if (wraps > this.wraps) {
      this.wraps = wraps;
      log("debug", `${this.info.host}: ramp ${wraps} begins`);
      if (params.announce) {
        emit("sawtooth_wrapped", this.info.host, JSON.stringify({ wraps }));
      }
    } else if (wraps < this.wraps) {
      // A restart: count from the new ramp.
      this.wraps = wraps;
    }
    const ramp = params.low + ((params.high - params.low) * (since % period)) / period;
    const noise = params.jitter > 0 ? (random() * 2.0 - 1.0) * params.jitter : 0.0;
    let followed = 0.0;
    for (const linked of ctx.links) {
      if (linked.name === params.follow) {
        followed += linked.value;
      }
    }
    return Math.min(Math.max(ramp + noise + followed, this.info.min), this.info.max);
  }
}

export const scenarios = {
  listScenarios() {
    return [
      {
        name: "sawtooth",
        description: "a ramp from low to high over period seconds that starts again from low",
        params: SAWTOOTH_PARAMS.map(([name, description, defaultValue]) => ({ name, description, defaultValue })),
      },
    ];
  },
  Scenario,
};
