"""debt on Kafka: the ledger is consumed in batches, one transaction per batch."""

import asyncio
import logging
from typing import Any

from aiokafka import ConsumerRecord
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.message import StreamMessage
from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.trace import Link, SpanKind
from pydantic import TypeAdapter, ValidationError

from contracts.debt import LedgerEntry
from contracts.topics import DEBT_LEDGER
from services.debt.config import DebtSettings
from services.debt.service.apply_ledger import LedgerMessage, apply_ledger_batch
from services.runtime.kafka import consumer_options
from services.runtime.platform import Platform

log = logging.getLogger(__name__)
tracer = trace.get_tracer(__name__)
LEDGER = DEBT_LEDGER.adapter()
LEDGER_BATCH: TypeAdapter[list[LedgerMessage]] = TypeAdapter(list[LedgerEntry])
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
    """The whole batch in one call when it is clean (the usual case); record by record otherwise."""
    try:
        joined = LEDGER_BATCH.validate_json(b"[" + b",".join(r.value or b"null" for r in records) + b"]")
    except ValidationError:
        joined = []
    # A record holding '{...},{...}' could pose as two: only a one-to-one result is trusted.
    if len(joined) == len(records):
        return list(joined)
    outcome: list[LedgerMessage | ValidationError] = []
    for record in records:
        try:
            outcome.append(LEDGER.validate_json(record.value or b""))
        except ValidationError as exc:
            outcome.append(exc)
    return outcome


def register_subscribers(broker: KafkaBroker, platform: Platform, settings: DebtSettings) -> None:
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
        entries: list[LedgerMessage] = []
        contexts: dict[str, Context] = {}
        links: list[Link] = []
        parent: Context | None = None
        for record, entry in zip(records, _validate(records), strict=True):
            if isinstance(entry, ValidationError):
                assert platform.dead_letters is not None
                await platform.dead_letters.send(record, _reason(entry))
                continue
            entries.append(entry)
            headers = _headers(record)
            if "traceparent" in headers:
                context = propagate.extract(headers)
                contexts[entry.payload.affiliate] = context
                span_context = trace.get_current_span(context).get_span_context()
                links.append(Link(span_context))
                parent = parent or context
        if not entries:
            return
        # A batch mixes traces: it continues the first one and links the others, and each position
        # event continues the trace of the entry that last changed that affiliate.
        with tracer.start_as_current_span(
            "debt apply ledger batch",
            context=parent,
            kind=SpanKind.CONSUMER,
            links=links[:128],
            attributes={"messaging.batch.message_count": len(records)},
        ) as span:
            assert platform.pool is not None
            try:
                async with platform.pool.acquire() as conn:
                    outcome = await apply_ledger_batch(
                        conn, entries, platform.clock, settings.eligibility_cutoff, contexts
                    )
            except Exception:
                # The batch is read again (offsets not committed); pause so an outage is not a hot loop.
                log.exception("ledger batch failed, will be read again", extra={"records": len(records)})
                await asyncio.sleep(RETRY_PAUSE_S)
                raise
            span.set_attribute("debt.entries.applied", outcome.applied)
            span.set_attribute("debt.entries.duplicates", outcome.duplicates)
