"""debt on Kafka: the ledger is consumed in batches, one transaction per batch; requests' and debits'
events (remission plans and their payments) through the runtime's consumer, with its inbox."""

import asyncio
import logging
from typing import Any

import asyncpg
from aiokafka import ConsumerRecord
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.message import StreamMessage
from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.trace import Link, SpanKind
from pydantic import ValidationError

from contracts.topics import DEBITS_EVENTS, DEBT_LEDGER, REQUESTS_EVENTS
from services.debt.config import DebtSettings
from services.debt.service import plans
from services.debt.service.apply_ledger import BatchOutcome, LedgerMessage, apply_ledger_batch
from services.runtime.consumer import subscribe_all
from services.runtime.kafka import consumer_options
from services.runtime.platform import Platform

log = logging.getLogger(__name__)
tracer = trace.get_tracer(__name__)
LEDGER = DEBT_LEDGER.adapter()
RETRY_PAUSE_S = 1.0


def _headers(record: ConsumerRecord[Any, Any]) -> dict[str, str]:
    return {name: value.decode(errors="replace") for name, value in (record.headers or ())}


def _reason(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors(include_url=False))


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


# Errors that the same entries will raise again however often they are retried (an amount that
# overflows NUMERIC(16,2) once summed, a value the database refuses): poison, not an outage.
_DATA_ERRORS = (asyncpg.DataError, asyncpg.IntegrityConstraintViolationError)


def register_subscribers(broker: KafkaBroker, platform: Platform, settings: DebtSettings) -> None:
    register_ledger_subscriber(broker, platform, settings)
    register_plan_subscribers(broker, platform, settings)


def register_plan_subscribers(broker: KafkaBroker, platform: Platform, settings: DebtSettings) -> None:
    """Plans and their payments reach debt through these events only, never through its tables."""

    async def request_event(conn: asyncpg.Connection, event: Any) -> None:
        await plans.on_request_event(conn, event, platform.clock, settings.eligibility_cutoff)

    async def debits_event(conn: asyncpg.Connection, event: Any) -> None:
        await plans.on_debits_event(conn, event, platform.clock, settings.eligibility_cutoff)

    subscribe_all(broker, platform, {REQUESTS_EVENTS: request_event, DEBITS_EVENTS: debits_event}, consumer="debt")


def register_ledger_subscriber(broker: KafkaBroker, platform: Platform, settings: DebtSettings) -> None:
    async def apply(entries: list[LedgerMessage], contexts: dict[str, Context]) -> BatchOutcome:
        assert platform.background_pool is not None
        async with platform.background_pool.acquire() as conn:
            return await apply_ledger_batch(conn, entries, platform.clock, settings.eligibility_cutoff, contexts)

    async def apply_one_by_one(
        valid: list[tuple[ConsumerRecord[Any, Any], LedgerMessage]], contexts: dict[str, Context]
    ) -> list[tuple[ConsumerRecord[Any, Any], str]]:
        """One entry spoiled the batch: apply each alone, and return the ones the database refuses."""
        refused = []
        for record, entry in valid:
            try:
                await apply([entry], contexts)
            except _DATA_ERRORS as exc:
                refused.append((record, f"refusée par la base : {type(exc).__name__}: {exc}"))
        return refused

    @broker.subscriber(  # type: ignore[untyped-decorator]
        DEBT_LEDGER.name,
        batch=True,
        max_records=settings.ledger_batch_size,
        batch_timeout_ms=20,
        decoder=_undecoded,
        **consumer_options(settings),
    )
    async def on_ledger_entries(message: KafkaMessage) -> None:
        records: tuple[ConsumerRecord[Any, Any], ...] = message.raw_message
        valid: list[tuple[ConsumerRecord[Any, Any], LedgerMessage]] = []
        poison: list[tuple[ConsumerRecord[Any, Any], str]] = []
        contexts: dict[str, Context] = {}
        links: list[Link] = []
        parent: Context | None = None
        for record, entry in zip(records, _validate(records), strict=True):
            if isinstance(entry, ValidationError):
                poison.append((record, _reason(entry)))
                continue
            valid.append((record, entry))
            headers = _headers(record)
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
                try:
                    if valid:
                        outcome = await apply([entry for _, entry in valid], contexts)
                        span.set_attribute("debt.entries.applied", outcome.applied)
                        span.set_attribute("debt.entries.duplicates", outcome.duplicates)
                except _DATA_ERRORS:
                    log.warning("a ledger entry spoils its batch; applying them one by one", exc_info=True)
                    poison += await apply_one_by_one(valid, contexts)
            except Exception:
                # An outage: the batch is read again (offsets not committed); pause, not a hot loop.
                log.exception("ledger batch failed, will be read again", extra={"records": len(records)})
                await asyncio.sleep(RETRY_PAUSE_S)
                raise
        # Dead letters go out once the batch is applied, so a retried batch does not send them twice.
        assert platform.dead_letters is not None
        for record, reason in poison:
            await platform.dead_letters.send(record, reason)
