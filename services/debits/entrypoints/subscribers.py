"""debits on Kafka: validated requests (plans), affiliates' names, the banks' results; one consumer."""

import asyncpg
from faststream.kafka import KafkaBroker
from opentelemetry.context import Context

from contracts.debits import DebitResultMessage
from contracts.requests import RequestStateChanged
from contracts.topics import AUTH_AFFILIATES, BANK_RESULTS, REQUESTS_EVENTS
from services.debits.service import plan_intake, plan_lifecycle
from services.debits.service.context import DebitsContext
from services.runtime.consumer import Bulk, Route, TracedBulk, subscribe_all
from services.runtime.platform import Platform


def register_subscribers(broker: KafkaBroker, platform: Platform, ctx: DebitsContext) -> None:
    async def request_events(
        conn: asyncpg.Connection, events: list[RequestStateChanged], contexts: list[Context]
    ) -> None:
        await plan_intake.on_request_events(conn, ctx, events, contexts)

    async def result(conn: asyncpg.Connection, event: DebitResultMessage) -> None:
        await plan_lifecycle.on_result(conn, ctx, event)

    subscribe_all(
        broker,
        platform,
        [
            Route(AUTH_AFFILIATES, Bulk(plan_lifecycle.on_profiles)),
            Route(REQUESTS_EVENTS, TracedBulk(request_events)),
            Route(BANK_RESULTS, result),
        ],
        consumer="debits",
    )
