"""simulation on Kafka: the debt positions it quotes from."""

import asyncpg
from faststream.kafka import KafkaBroker

from contracts.debt import PositionChanged
from contracts.programme import Programme
from contracts.topics import DEBT_POSITIONS
from services.runtime.consumer import subscribe
from services.runtime.platform import Platform
from services.simulation.service.position_projection import apply_position

CONSUMER = "simulation.positions"


def register_subscribers(broker: KafkaBroker, platform: Platform, programme: Programme) -> None:
    async def on_position(conn: asyncpg.Connection, event: PositionChanged) -> None:
        await apply_position(conn, programme, event)

    subscribe(broker, platform, DEBT_POSITIONS, on_position, consumer=CONSUMER)
