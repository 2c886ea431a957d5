"""Keep the projection of debt positions: the eligible totals a quote needs, computed on arrival."""

import asyncpg

from contracts.debt import PositionChanged
from contracts.programme import Programme
from services.simulation.adapters.repository import SimulationRepository
from services.simulation.domain.creance import Restant, creance_eligible


async def apply_position(conn: asyncpg.Connection, programme: Programme, event: PositionChanged) -> None:
    position = event.payload
    restants = [
        Restant(
            p.period,
            p.principal.outstanding,
            p.majorations.outstanding,
            p.astreintes.outstanding,
            p.frais.outstanding,
        )
        for p in position.periods
    ]
    await SimulationRepository(conn).save_position(
        position.affiliate,
        position.version,
        restants,
        programme.eligible_until,
        creance_eligible(programme, restants),
        has_arrangement=position.arrangement is not None,
    )
