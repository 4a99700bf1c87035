"""The scenarios this pack offers: the pack's export of `promemu:plugin/scenarios`.

componentize-py takes the resource class of an exported interface from the module
named after that interface: `Scenario` lives in scenarios.py.
"""

from typing import List

import wit_world.exports
from wit_world.imports import types

from scenarios import SAWTOOTH_PARAMS


class Scenarios(wit_world.exports.Scenarios):
    def list_scenarios(self) -> List[types.ScenarioInfo]:
        return [
            types.ScenarioInfo(
                name="sawtooth",
                description="a ramp from low to high over period seconds that starts again from low",
                params=[
                    types.ParamInfo(name=name, description=description, default_value=default)
                    for name, description, default in SAWTOOTH_PARAMS
                ],
            )
        ]
