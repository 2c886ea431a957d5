"""debt on Kafka: the ledger is consumed in batches, one transaction per batch; requests' and debits'
events (remission plans and their payments) through the runtime's consumer, with its inbox.

The ledger keeps its own batch path (no inbox: entry ids dedupe) but the runtime's rules for poison
and outages (``services/runtime/poison.py``): an unreadable, invalid or poison record is
dead-lettered and the rest of the batch applied; a transient failure reads the batch again after a
growing pause, and a record it keeps recurring on is dead-lettered after ``CONSUMER_MAX_ATTEMPTS``.
"""

import logging
from typing import Any

import asyncpg
from aiokafka import ConsumerRecord
from faststream.exceptions import NackMessage
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.message import StreamMessage
from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.trace import Link, SpanKind
from pydantic import ValidationError

from contracts.debits import DebitsMessage
from contracts.requests import RequestStateChanged
from contracts.topics import DEBITS_EVENTS, DEBT_LEDGER, REQUESTS_EVENTS
from services.debt.config import DebtSettings
from services.debt.service import remission_plans
from services.debt.service.apply_ledger import BatchOutcome, LedgerMessage, apply_ledger_batch
from services.runtime.consumer import Route, platform_up, subscribe_all
from services.runtime.kafka import consumer_options
from services.runtime.platform import Platform
from services.runtime.poison import (
    KNOWN_REFUSALS,
    Retries,
    describe,
    is_transient,
    record_problem,
    redact,
    text_headers,
    tolerant_parser,
    validation_reason,
    where,
)

log = logging.getLogger(__name__)
tracer = trace.get_tracer(__name__)
LEDGER = DEBT_LEDGER.adapter()
LEDGER_CONSUMER = "debt.ledger"


async def _undecoded(message: StreamMessage[Any]) -> Any:
    """The handler validates the raw bytes itself (record by record, to dead-letter the bad ones);
    FastStream's default would json-decode every body first for nothing."""
    return message.body


def _validate(records: tuple[ConsumerRecord[Any, Any], ...]) -> list[LedgerMessage | ValidationError]:
    """Each record on its own: joining the bytes to validate a batch in one call would let two
    broken records merge into one valid-looking entry."""
    outcome: list[LedgerMessage | ValidationError] = []
    for record in records:
        try:
            outcome.append(LEDGER.validate_json(record.value or b""))
        except ValidationError as exc:
            outcome.append(exc)
    return outcome


def register_subscribers(broker: KafkaBroker, platform: Platform, settings: DebtSettings) -> None:
    register_ledger_subscriber(broker, platform, settings)
    register_plan_subscribers(broker, platform, settings)


def register_plan_subscribers(broker: KafkaBroker, platform: Platform, settings: DebtSettings) -> None:
    """Plans and their payments reach debt through these events only, never through its tables."""

    async def request_event(conn: asyncpg.Connection, event: RequestStateChanged) -> None:
        await remission_plans.on_request_event(conn, event, platform.clock, settings.eligibility_cutoff)

    async def debits_event(conn: asyncpg.Connection, event: DebitsMessage) -> None:
        await remission_plans.on_debits_event(conn, event, platform.clock, settings.eligibility_cutoff)

    routes: list[Route[Any]] = [Route(REQUESTS_EVENTS, request_event), Route(DEBITS_EVENTS, debits_event)]
    subscribe_all(broker, platform, routes, consumer="debt")


def register_ledger_subscriber(broker: KafkaBroker, platform: Platform, settings: DebtSettings) -> None:
    """The ledger's batch path, with the runtime's rules (``services/runtime/poison.py``): unreadable
    or invalid records and poison entries are dead-lettered, the others of the batch applied; a
    transient failure reads the batch again after a growing pause, charged to the entry being
    applied when the database and the broker answer, until ``CONSUMER_MAX_ATTEMPTS``."""
    ledger = _Ledger(platform, settings)

    @broker.subscriber(  # type: ignore[untyped-decorator]
        DEBT_LEDGER.name,
        batch=True,
        max_records=settings.ledger_batch_size,
        batch_timeout_ms=20,
        parser=tolerant_parser,
        decoder=_undecoded,
        **consumer_options(settings),
    )
    async def on_ledger_entries(message: KafkaMessage) -> None:
        await ledger.on_batch(message.raw_message)


Refused = list[tuple[ConsumerRecord[Any, Any], str]]


class _Ledger:
    def __init__(self, platform: Platform, settings: DebtSettings) -> None:
        self.platform = platform
        self.settings = settings
        self.retries = Retries(LEDGER_CONSUMER, settings.consumer_max_attempts, lambda: platform_up(platform))
        self.in_flight: ConsumerRecord[Any, Any] | None = None
        """the record being applied or dead-lettered: the one a failure escaping now is charged to"""

    async def apply(self, entries: list[LedgerMessage], contexts: dict[str, Context]) -> BatchOutcome:
        assert self.platform.background_pool is not None
        async with self.platform.background_pool.acquire() as conn:
            return await apply_ledger_batch(
                conn, entries, self.platform.clock, self.settings.eligibility_cutoff, contexts
            )

    async def apply_one_by_one(
        self, valid: list[tuple[ConsumerRecord[Any, Any], LedgerMessage]], contexts: dict[str, Context]
    ) -> Refused:
        """Each entry alone (its own transaction): returns the poison ones; a transient failure is
        raised, charged to the entry being applied."""
        refused: Refused = []
        for record, entry in valid:
            self.in_flight = record
            try:
                await self.apply([entry], contexts)
            except Exception as exc:
                if is_transient(exc):
                    raise
                refused.append((record, self.poison(record, exc)))
            self.in_flight = None
        return refused

    def poison(self, record: ConsumerRecord[Any, Any], exc: Exception) -> str:
        reason = describe(exc)
        if not isinstance(exc, KNOWN_REFUSALS):
            log.error("poison message", extra=self.retries.context(record, reason) | {"where": where(exc)})
        return reason

    async def on_batch(self, records: tuple[ConsumerRecord[Any, Any], ...]) -> None:
        self.in_flight = None
        valid: list[tuple[ConsumerRecord[Any, Any], LedgerMessage]] = []
        poison: Refused = []
        contexts: dict[str, Context] = {}
        links: list[Link] = []
        parent: Context | None = None
        for record, entry in zip(records, _validate(records), strict=True):
            if (problem := record_problem(record)) is not None:
                poison.append((record, problem))
                continue
            if isinstance(entry, ValidationError):
                poison.append((record, validation_reason(entry)))
                continue
            if (spent := self.retries.spent(record)) is not None:
                poison.append((record, spent))
                continue
            valid.append((record, entry))
            headers = text_headers(record)
            if "traceparent" in headers:
                context = propagate.extract(headers)
                contexts[entry.payload.affiliate] = context
                links.append(Link(trace.get_current_span(context).get_span_context()))
                parent = parent or context
        # A batch mixes traces: it continues the first one and links the others, and each position
        # event continues the trace of the entry that last changed that affiliate.
        with tracer.start_as_current_span(
            "debt apply ledger batch",
            context=parent,
            kind=SpanKind.CONSUMER,
            links=links[:128],
            attributes={"messaging.batch.message_count": len(records)},
        ) as span:
            try:
                if valid and self.retries.careful:
                    # The last failure could not be pinned on one entry: one by one, so it can.
                    poison += await self.apply_one_by_one(valid, contexts)
                elif valid:
                    try:
                        outcome = await self.apply([entry for _, entry in valid], contexts)
                        span.set_attribute("debt.entries.applied", outcome.applied)
                        span.set_attribute("debt.entries.duplicates", outcome.duplicates)
                    except Exception as exc:
                        if is_transient(exc):
                            raise
                        log.warning(
                            "a ledger entry spoils its batch; applying them one by one",
                            extra={"consumer": LEDGER_CONSUMER, "reason": redact(describe(exc))},
                        )
                        poison += await self.apply_one_by_one(valid, contexts)
                # Dead letters go out once the batch is applied, so a retried batch does not send
                # them twice; one whose send fails is read (and sent) again.
                assert self.platform.dead_letters is not None
                for record, reason in poison:
                    self.in_flight = record
                    await self.platform.dead_letters.send(record, reason, consumer=LEDGER_CONSUMER)
                self.in_flight = None
            except Exception as exc:
                await self.retries.failed(exc, self.in_flight, records)
                raise NackMessage() from exc  # read again: the offsets rewind to the records
        self.retries.succeeded(records)
