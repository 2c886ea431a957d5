"""debt on Kafka, through the runtime's consumer (``services/runtime/consumer.py``): the ledger in
batches, one transaction per batch, deduped by entry id (the entry table is its inbox); requests'
and debits' events (remission plans and their payments) with the inbox.

Both get the runtime's rules for poison and outages: an unreadable, invalid or poison record is
dead-lettered and the rest of the batch applied; a transient failure reads the batch again after a
growing pause, and a record it keeps recurring on is dead-lettered after ``CONSUMER_MAX_ATTEMPTS``.
"""

from typing import Any

import asyncpg
from faststream.kafka import KafkaBroker
from opentelemetry import trace
from opentelemetry.context import Context

from contracts.auth import AffiliateRegistered
from contracts.debits import DebitsMessage
from contracts.requests import RequestStateChanged
from contracts.topics import AUTH_AFFILIATES, DEBITS_EVENTS, DEBT_LEDGER, REQUESTS_EVENTS
from services.debt.config import DebtSettings
from services.debt.service import remission_plans
from services.debt.service.apply_ledger import LedgerMessage, apply_ledger_batch, registered
from services.runtime.consumer import Bulk, Route, TracedBulk, subscribe_all
from services.runtime.platform import Platform

LEDGER_CONSUMER = "debt.ledger"


def register_subscribers(broker: KafkaBroker, platform: Platform, settings: DebtSettings) -> None:
    register_ledger_subscriber(broker, platform, settings)
    register_plan_subscribers(broker, platform, settings)


def register_plan_subscribers(broker: KafkaBroker, platform: Platform, settings: DebtSettings) -> None:
    """Plans and their payments reach debt through these events only, never through its tables; and
    the affiliates auth registers, so one without any ledger entry is told it owes nothing."""

    async def request_event(conn: asyncpg.Connection, event: RequestStateChanged) -> None:
        await remission_plans.on_request_event(conn, event, platform.clock, settings.eligibility_cutoff)

    async def debits_event(conn: asyncpg.Connection, event: DebitsMessage) -> None:
        await remission_plans.on_debits_event(conn, event, platform.clock, settings.eligibility_cutoff)

    async def affiliates(conn: asyncpg.Connection, events: list[AffiliateRegistered]) -> None:
        await registered(conn, [e.payload.affiliate for e in events], platform.clock, settings.eligibility_cutoff)

    routes: list[Route[Any]] = [
        Route(REQUESTS_EVENTS, request_event),
        Route(DEBITS_EVENTS, debits_event),
        Route(AUTH_AFFILIATES, Bulk(affiliates)),
    ]
    subscribe_all(broker, platform, routes, consumer="debt")


def register_ledger_subscriber(broker: KafkaBroker, platform: Platform, settings: DebtSettings) -> None:
    """The ledger, a batch at a time (``LEDGER_BATCH_SIZE``) in one transaction: no inbox claim per
    entry, its entry id dedupes it; each affiliate's position event continues the trace of the
    entry that last changed it."""

    async def apply(conn: asyncpg.Connection, entries: list[LedgerMessage], contexts: list[Context]) -> None:
        traces = {
            entry.payload.affiliate: context
            for entry, context in zip(entries, contexts, strict=True)
            if trace.get_current_span(context).get_span_context().is_valid  # a record without traceparent
        }
        outcome = await apply_ledger_batch(
            conn, entries, platform.clock, settings.eligibility_cutoff, traces, days_ahead=settings.ledger_days_ahead
        )
        span = trace.get_current_span()
        span.set_attribute("debt.entries.applied", outcome.applied)
        span.set_attribute("debt.entries.duplicates", outcome.duplicates)

    subscribe_all(
        broker,
        platform,
        [Route(DEBT_LEDGER, TracedBulk(apply), inbox=False)],
        consumer=LEDGER_CONSUMER,
        max_records=settings.ledger_batch_size,
        batch_timeout_ms=20,
    )
