"""What debt's HTTP handlers need, built once by the bootstrap (``main.py``)."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from services.runtime.http import dependencies_of
from services.runtime.periodic import Periodic
from services.runtime.platform import Platform


@dataclass(frozen=True, slots=True)
class DebtDependencies:
    platform: Platform
    eligibility_cutoff: str
    """the programme's last eligible period (AAAA-MM), for the view of a position not booked yet"""
    plan_event_max_wait_seconds: float
    """how long a plan event waits for its request's VALIDATED (reported by /health/pending)"""
    pending_sweepers: list[Periodic]
    """the sweeper of waiting plan events, once started (empty before): /health/pending counts its passes"""


Dependencies = Annotated[DebtDependencies, Depends(dependencies_of(DebtDependencies))]
