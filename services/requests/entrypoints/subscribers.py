"""requests on Kafka: the projections it keeps and the perceptions' answers, one consumer."""

from typing import Any

import asyncpg
from faststream.kafka import KafkaBroker

from contracts.topics import (
    AUTH_AFFILIATES,
    DEBITS_ACCOUNTS,
    DEBITS_EVENTS,
    DEBT_POSITIONS,
    PERCEPTION_GUARANTEES,
    SIMULATION_QUOTES,
)
from services.requests.service import projections
from services.requests.service.context import RequestsContext
from services.runtime.consumer import Bulk, subscribe_all
from services.runtime.platform import Platform


def register_subscribers(broker: KafkaBroker, platform: Platform, ctx: RequestsContext) -> None:
    async def positions(conn: asyncpg.Connection, events: list[Any]) -> None:
        await projections.on_positions(conn, ctx, events)

    async def perception(conn: asyncpg.Connection, event: Any) -> None:
        await projections.on_perception(conn, ctx, event)

    async def debits(conn: asyncpg.Connection, event: Any) -> None:
        await projections.on_debits(conn, ctx, event)

    subscribe_all(
        broker,
        platform,
        {
            DEBT_POSITIONS: Bulk(positions),
            AUTH_AFFILIATES: Bulk(projections.on_profiles),
            DEBITS_ACCOUNTS: Bulk(projections.on_bank_accounts),
            SIMULATION_QUOTES: Bulk(projections.on_quotes),
            PERCEPTION_GUARANTEES: perception,
            DEBITS_EVENTS: debits,
        },
        consumer="requests",
    )
