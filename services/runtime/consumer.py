"""Consumers that apply each message effectively once: validate, dedupe, apply, or dead-letter.

Every consumer of the project except debt's ledger (which has its own batch path) is registered
through ``subscribe`` / ``subscribe_all``, so each one gets the same guarantees without writing them
again:

- each record is validated against its topic's contract; one that does not fit goes to
  ``<topic>.dlq`` with the reason, and the partition moves on;
- records are taken in batches and applied in ONE transaction with the inbox claim of their event
  ids: a redelivered message changes nothing, and a commit (an fsync) per batch instead of per
  message keeps a projection abreast of its topic under load;
- each message is applied in a savepoint: a handler that raises ``Unapplicable`` (a result for an
  unknown order, an answer for a request that no longer waits) or a data error the database will
  refuse again has its message dead-lettered with the reason, and the others of the batch stand;
- offsets are committed after the transaction (the broker's NACK_ON_ERROR policy): a crash or an
  outage re-reads the batch, which the inbox makes harmless.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import asyncpg
from aiokafka import ConsumerRecord
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.message import StreamMessage
from opentelemetry import propagate, trace
from opentelemetry.trace import Link, SpanKind
from pydantic import TypeAdapter, ValidationError

from contracts.topics import Topic
from services.runtime import inbox
from services.runtime.kafka import consumer_options
from services.runtime.platform import Platform

log = logging.getLogger(__name__)
tracer = trace.get_tracer(__name__)
RETRY_PAUSE_S = 1.0
BATCH_SIZE = 500

Handler = Callable[[asyncpg.Connection, Any], Awaitable[None]]
"""Applies one validated message inside the caller's transaction."""

# Errors the same message raises again however often it is retried: poison, not an outage.
DATA_ERRORS = (asyncpg.DataError, asyncpg.IntegrityConstraintViolationError)


class Unapplicable(Exception):
    """A valid message the handler can never apply: dead-lettered with this reason, never retried."""


def validation_reason(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors(include_url=False))


async def undecoded(message: StreamMessage[Any]) -> Any:
    """The handler validates the raw bytes against the contract itself."""
    return message.body


@dataclass(frozen=True)
class Bulk:
    """A handler that applies every new message of its topic in a batch at once.

    For projections on a hot path: a few statements per batch instead of a few per message. Each
    await of a consumer waits its turn behind every HTTP request the service is serving; at a
    hundred requests in flight, per-message statements made quotes seconds late.

    Bulk groups are applied after the batch's other messages: a per-message handler must not depend
    on a bulk projection written by a message of the same batch (true today: requests' perception
    answers read none of them).
    """

    apply: Callable[[asyncpg.Connection, list[Any]], Awaitable[None]]


@dataclass(frozen=True)
class _Route:
    adapter: TypeAdapter[Any]
    handler: Handler | Bulk


def _headers(record: ConsumerRecord[Any, Any]) -> dict[str, str]:
    return {name: bytes(value).decode(errors="replace") for name, value in (record.headers or ())}


def subscribe(broker: KafkaBroker, platform: Platform, topic: Topic, handler: Handler, *, consumer: str) -> None:
    """Register ``handler`` for every message of ``topic``; ``consumer`` names it in the inbox."""
    subscribe_all(broker, platform, {topic: handler}, consumer=consumer)


def subscribe_all(
    broker: KafkaBroker, platform: Platform, handlers: Mapping[Topic, Handler | Bulk], *, consumer: str
) -> None:
    """One Kafka consumer for several topics, each message to its topic's handler.

    One consumer, not one per topic: each member of a consumer group joining costs a rebalance of
    the whole group, and a service's projections need no parallelism of their own.
    """
    applier = _BatchApplier(
        platform, {topic.name: _Route(topic.adapter(), h) for topic, h in handlers.items()}, consumer
    )

    @broker.subscriber(  # type: ignore[untyped-decorator]
        *applier.routes,
        batch=True,
        max_records=BATCH_SIZE,
        batch_timeout_ms=5,
        decoder=undecoded,
        **consumer_options(platform.settings),
    )
    async def on_batch(message: KafkaMessage) -> None:
        await applier.on_batch(message.raw_message)


Refused = list[tuple[ConsumerRecord[Any, Any], str]]


class _BatchApplier:
    def __init__(self, platform: Platform, routes: dict[str, _Route], consumer: str) -> None:
        self.platform = platform
        self.routes = routes
        self.consumer = consumer

    async def on_batch(self, records: tuple[ConsumerRecord[Any, Any], ...]) -> None:
        valid: list[tuple[ConsumerRecord[Any, Any], Any]] = []
        poison: Refused = []
        for record in records:
            try:
                valid.append((record, self.routes[record.topic].adapter.validate_json(record.value or b"")))
            except ValidationError as exc:
                poison.append((record, validation_reason(exc)))
        try:
            if valid:
                await self.apply(valid)
        except Exception:
            log.exception("batch failed, will be read again", extra={"records": len(records)})
            await asyncio.sleep(RETRY_PAUSE_S)  # an outage: no hot loop
            raise
        # Invalid records were not claimed: sent once the batch is applied, so a batch read again
        # does not send them twice, and one whose send fails is read (and sent) again.
        for record, reason in poison:
            await self.dead_letter(record, reason)

    async def dead_letter(self, record: ConsumerRecord[Any, Any], reason: str) -> None:
        assert self.platform.dead_letters is not None
        await self.platform.dead_letters.send(record, reason)

    async def apply(self, items: list[tuple[ConsumerRecord[Any, Any], Any]]) -> None:
        assert self.platform.background_pool is not None
        async with self.platform.background_pool.acquire() as conn, conn.transaction():
            fresh = await inbox.claim(conn, self.consumer, [event.event_id for _, event in items])
            refused: Refused = []
            bulks: dict[str, list[tuple[ConsumerRecord[Any, Any], Any]]] = {}
            for record, event in items:
                if event.event_id not in fresh:
                    continue  # applied before, or earlier in this very batch
                fresh.discard(event.event_id)
                if isinstance(self.routes[record.topic].handler, Bulk):
                    bulks.setdefault(record.topic, []).append((record, event))
                elif (reason := await self.apply_one(conn, record, event)) is not None:
                    refused.append((record, reason))
            # A topic's messages keep their order; different topics carry independent facts.
            for topic, group in bulks.items():
                refused += await self.apply_bulk(conn, topic, group)
            for record, reason in refused:
                # Before the commit that records it as handled: a dead letter may be sent twice
                # (the commit fails, the batch is read again), never lost.
                await self.dead_letter(record, reason)

    async def apply_one(self, conn: asyncpg.Connection, record: ConsumerRecord[Any, Any], event: Any) -> str | None:
        # Each message continues its own trace: what it writes to the outbox carries it on.
        context = propagate.extract(_headers(record))
        handler = self.routes[record.topic].handler
        with tracer.start_as_current_span(f"{record.topic} apply", context=context, kind=SpanKind.CONSUMER) as span:
            span.set_attribute("messaging.message.id", str(event.event_id))
            if isinstance(handler, Bulk):
                return await _in_savepoint(conn, lambda: handler.apply(conn, [event]))
            return await _in_savepoint(conn, lambda: handler(conn, event))

    async def apply_bulk(
        self, conn: asyncpg.Connection, topic: str, group: list[tuple[ConsumerRecord[Any, Any], Any]]
    ) -> Refused:
        """The whole group at once; if the database refuses it, each message alone, to find the bad one."""
        handler = self.routes[topic].handler
        assert isinstance(handler, Bulk)
        links = [Link(trace.get_current_span(propagate.extract(_headers(r))).get_span_context()) for r, _ in group]
        with tracer.start_as_current_span(f"{topic} apply batch", kind=SpanKind.CONSUMER, links=links[:128]) as span:
            span.set_attribute("messaging.batch.message_count", len(group))
            if await _in_savepoint(conn, lambda: handler.apply(conn, [event for _, event in group])) is None:
                return []
        refused: Refused = []
        for record, event in group:
            if (reason := await self.apply_one(conn, record, event)) is not None:
                refused.append((record, reason))
        return refused


async def _in_savepoint(conn: asyncpg.Connection, apply: Callable[[], Awaitable[None]]) -> str | None:
    """Runs ``apply`` in a savepoint; returns why its messages must be dead-lettered, if they must."""
    try:
        async with conn.transaction():
            await apply()
    except Unapplicable as exc:
        return f"inapplicable : {exc}"
    except DATA_ERRORS as exc:
        return f"refusé par la base : {type(exc).__name__}: {exc}"
    return None
