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
  return values;
}

class Scenario {
  constructor(params, info) {
    this.params = params;
    this.info = info;
    this.started = 0;
    this.turns = 0;
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
    if (ctx.event !== undefined && ctx.event.name === params.restart_on) {
      this.started = ctx.elapsed;
    }
    const since = ctx.elapsed - this.started;
    const turns = Math.floor(since / params.period);
    if (turns > this.turns) {
      this.turns = turns;
      log("debug", `${this.info.name} wrapped at ${ctx.time.toFixed(1)} s`);
      if (params.announce) {
        emit("sawtooth_wrapped", this.info.host, "");
      }
    }
    let value = params.low + (params.high - params.low) * ((since % params.period) / params.period);
    if (params.jitter > 0) {
      value += (random() * 2 - 1) * params.jitter;
    }
    for (const linked of ctx.links) {
      if (linked.name === params.follow) {
        value += linked.value;
      }
    }
    return value;
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
