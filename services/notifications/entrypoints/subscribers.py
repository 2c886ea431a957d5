"""notifications on Kafka, through the runtime's consumer (one consumer, one transaction per batch,
each message in a savepoint, inbox dedupe, poison dead-lettered): who the affiliates are and how to
reach them, what happens to their requests and their debits (a perception's answer is told from
the transition requests makes of it: its validation or its rejection, never from the office's own
message, which requests may refuse)."""

from typing import Any

import asyncpg
from faststream.kafka import KafkaBroker

from contracts.auth import AffiliateRegistered
from contracts.debits import BankAccountsChanged, DebitChanged, DebitsMessage, PlanScheduled
from contracts.requests import RequestStateChanged
from contracts.topics import AUTH_AFFILIATES, DEBITS_ACCOUNTS, DEBITS_EVENTS, REQUESTS_EVENTS
from services.notifications.service import intake
from services.runtime.consumer import Route, subscribe_all
from services.runtime.platform import Platform

CONSUMER = "notifications"


def register_subscribers(broker: KafkaBroker, platform: Platform) -> None:
    async def profile(conn: asyncpg.Connection, event: AffiliateRegistered) -> None:
        await intake.on_profile(conn, event.payload)

    async def request_event(conn: asyncpg.Connection, event: RequestStateChanged) -> None:
        await intake.on_request_event(conn, event.payload, platform.clock.now())

    async def debits_event(conn: asyncpg.Connection, event: DebitsMessage) -> None:
        if isinstance(event, PlanScheduled):
            await intake.on_plan_scheduled(conn, event.payload)
        elif isinstance(event, DebitChanged):
            await intake.on_debit_changed(conn, event.payload, platform.clock.now())
        # completed and defaulted: told from requests' COMPLETED and DEFAULTED (an article-2 default too)

    async def accounts(conn: asyncpg.Connection, event: BankAccountsChanged) -> None:
        await intake.on_accounts(conn, event.payload)

    routes: list[Route[Any]] = [
        Route(AUTH_AFFILIATES, profile),
        Route(REQUESTS_EVENTS, request_event),
        Route(DEBITS_EVENTS, debits_event),
        Route(DEBITS_ACCOUNTS, accounts),
    ]
    subscribe_all(broker, platform, routes, consumer=CONSUMER)
