"""debits on Kafka: validated requests (plans), affiliates' names, the banks' results; one consumer."""

from typing import Any

import asyncpg
from faststream.kafka import KafkaBroker

from contracts.topics import AUTH_AFFILIATES, BANK_RESULTS, REQUESTS_EVENTS
from services.debits.service import plans
from services.debits.service.context import DebitsContext
from services.runtime.consumer import Bulk, subscribe_all
from services.runtime.platform import Platform


def register_subscribers(broker: KafkaBroker, platform: Platform, ctx: DebitsContext) -> None:
    async def request_event(conn: asyncpg.Connection, event: Any) -> None:
        await plans.on_request_event(conn, ctx, event)

    async def result(conn: asyncpg.Connection, event: Any) -> None:
        await plans.on_result(conn, ctx, event)

    subscribe_all(
        broker,
        platform,
        {AUTH_AFFILIATES: Bulk(plans.on_profiles), REQUESTS_EVENTS: request_event, BANK_RESULTS: result},
        consumer="debits",
    )
