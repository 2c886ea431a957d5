"""requests on Kafka: the projections it keeps and the perceptions' answers, one consumer."""

import asyncpg
from faststream.kafka import KafkaBroker

from contracts.debits import DebitsMessage
from contracts.debt import PositionChanged
from contracts.perception import PerceptionMessage
from contracts.topics import (
    AUTH_AFFILIATES,
    DEBITS_ACCOUNTS,
    DEBITS_EVENTS,
    DEBT_POSITIONS,
    PERCEPTION_GUARANTEES,
    SIMULATION_QUOTES,
)
from services.requests.service import projections, reactions
from services.requests.service.context import RequestsContext
from services.runtime.consumer import Bulk, Route, subscribe_all
from services.runtime.platform import Platform


def register_subscribers(broker: KafkaBroker, platform: Platform, ctx: RequestsContext) -> None:
    async def positions(conn: asyncpg.Connection, events: list[PositionChanged]) -> None:
        await projections.on_positions(conn, ctx, events)

    async def perception(conn: asyncpg.Connection, event: PerceptionMessage) -> None:
        await reactions.on_perception(conn, ctx, event)

    async def debits(conn: asyncpg.Connection, event: DebitsMessage) -> None:
        await reactions.on_debits(conn, ctx, event)

    subscribe_all(
        broker,
        platform,
        [
            Route(DEBT_POSITIONS, Bulk(positions)),
            Route(AUTH_AFFILIATES, Bulk(projections.on_profiles)),
            Route(DEBITS_ACCOUNTS, Bulk(projections.on_bank_accounts)),
            Route(SIMULATION_QUOTES, Bulk(projections.on_quotes)),
            Route(PERCEPTION_GUARANTEES, perception),
            Route(DEBITS_EVENTS, debits),
        ],
        consumer="requests",
    )
