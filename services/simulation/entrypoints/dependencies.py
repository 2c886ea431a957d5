"""What simulation's HTTP handlers need, built once by the bootstrap (``main.py``)."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from services.runtime.http import dependencies_of
from services.runtime.platform import Platform
from services.runtime.seals import Sealer
from services.simulation.service.quoting import Rules


@dataclass(frozen=True, slots=True)
class SimulationDependencies:
    platform: Platform
    rules: Rules
    """the programme and calendar every quote of this process applies"""
    sealer: Sealer | None
    """None: quotes are not sealed (no key configured)"""
    programme_json: bytes
    """``GET /v1/programme``'s body, serialized once"""


Dependencies = Annotated[SimulationDependencies, Depends(dependencies_of(SimulationDependencies))]
