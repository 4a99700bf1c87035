"""`sawtooth`: a ramp from `low` to `high` over `period` seconds that starts again
from `low`. It shows each part of the contract a scenario uses:

- parameters, a JSON object, checked with readable errors (raised as `Err`);
- `host.random()`: `jitter` adds noise from the series' seeded stream;
- events: `restart_on` names an event that starts the ramp again, and with
  `announce` the series emits `sawtooth_wrapped` each time its ramp wraps;
- links: `follow` names another metric of the host whose value is added;
- `host.log`: a debug line at each wrap.
"""

import json
import math
from typing import List, Optional

from wit_world.exports import scenarios as exported
from componentize_py_types import Err
from wit_world.imports import host, types

# (name, description, default as JSON)
SAWTOOTH_PARAMS = [
    ("period", "seconds from low to high (> 0)", "60.0"),
    ("low", "value at the start of each ramp", "0.0"),
    ("high", "value the ramp reaches at the end of the period", "100.0"),
    ("jitter", "noise added to each value, up to this much either way", "0.0"),
    ("restart_on", 'an event that starts the ramp again ("" for none)', '""'),
    ("announce", "emit sawtooth_wrapped (source: the host) when the ramp wraps", "false"),
    ("follow", 'another metric of the host whose value is added ("" for none)', '""'),
]


def parse_params(text: str) -> dict:
    """The parameters with defaults filled in; unknown names and wrong types refused."""
    values = {name: json.loads(default) for name, _, default in SAWTOOTH_PARAMS}
    given = json.loads(text) if text.strip() else {}
    if not isinstance(given, dict):
        raise Err("parameters must be a JSON object")
    for name, value in given.items():
        if name not in values:
            known = ", ".join(name for name, _, _ in SAWTOOTH_PARAMS)
            raise Err(f"unknown parameter '{name}'; expected one of {known}")
        expected = type(values[name])
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, expected):
            raise Err(f"parameter '{name}' must be a {expected.__name__}, got {json.dumps(value)}")
        values[name] = value
    if values["period"] <= 0:
        raise Err(f"parameter 'period' must be > 0, got {values['period']}")
    if values["jitter"] < 0:
        raise Err(f"parameter 'jitter' must be 0 or more, got {values['jitter']}")
    return values


class Scenario(exported.Scenario):
    """One series' sawtooth. The arithmetic is the Rust example's, operation for
    operation, so the same seed gives the same values in every language."""

    def __init__(self, params: dict, info: types.MetricInfo):
        self.params = params
        self.info = info
        # When the current ramp started (the series' elapsed seconds).
        self.ramp_start = 0.0
        # Wraps so far.
        self.wraps = 0

    @classmethod
    def create(cls, name: str, params: str, info: types.MetricInfo) -> "Scenario":
        if name != "sawtooth":
            raise Err(f"unknown scenario '{name}'; this pack offers sawtooth")
        try:
            return cls(parse_params(params), info)
        except json.JSONDecodeError as error:
            raise Err(f"parameters are not JSON: {error}")

    def links(self) -> List[str]:
        return [self.params["follow"]] if self.params["follow"] else []

    def step(self, ctx: types.Context) -> Optional[float]:
        params = self.params
        restart_on = params["restart_on"]
        if ctx.event is not None and restart_on and ctx.event.name == restart_on:
            self.ramp_start = ctx.elapsed
        since = ctx.elapsed - self.ramp_start
        period = params["period"]
        wraps = math.floor(since / period)
        if wraps > self.wraps:
            self.wraps = wraps
            host.log(types.LogLevel.DEBUG, f"{self.info.host}: ramp {wraps} begins")
            if params["announce"]:
                host.emit("sawtooth_wrapped", self.info.host, json.dumps({"wraps": wraps}, separators=(",", ":")))
        elif wraps < self.wraps:
            # A restart: count from the new ramp.
            self.wraps = wraps
        ramp = params["low"] + (params["high"] - params["low"]) * (since % period) / period
        noise = (host.random() * 2.0 - 1.0) * params["jitter"] if params["jitter"] > 0 else 0.0
        followed = 0.0
        for linked in ctx.links:
            if linked.name == params["follow"]:
                followed += linked.value
        return min(max(ramp + noise + followed, self.info.min), self.info.max)
