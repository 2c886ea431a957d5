"""Keep the projection of debt positions: the eligible totals a quote needs, computed on arrival."""

import asyncpg

from contracts.debt import PositionChanged
from contracts.programme import Programme
from services.simulation.adapters.repository import SimulationRepository
from services.simulation.domain.eligible_debt import Outstanding, eligible_debt


async def apply_position(conn: asyncpg.Connection, programme: Programme, event: PositionChanged) -> None:
    position = event.payload
    outstanding = [
        Outstanding(
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
        outstanding,
        programme.eligible_until,
        eligible_debt(programme, outstanding),
        has_arrangement=position.arrangement is not None,
    )
