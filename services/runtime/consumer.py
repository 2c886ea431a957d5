"""Consumers that apply each message effectively once: validate, dedupe, apply, or dead-letter.

Every consumer of the project is registered through ``subscribe`` / ``subscribe_all``, so each one
gets the same guarantees without writing them again:

- each record is read whatever it holds (``tolerant_parser``); one that cannot be read (a header
  that is not UTF-8 or is null, a tombstone) or does not fit its topic's contract (invalid JSON, an
  unknown ``type``, a missing field) goes to ``<topic>.dlq`` with the reason, and the partition
  moves on;
- records are taken in batches and applied in ONE transaction with the inbox claim of their event
  ids: a redelivered message changes nothing, and a commit (an fsync) per batch instead of per
  message keeps a projection abreast of its topic under load. A route with ``inbox=False`` (debt's
  ledger, whose entry table dedupes by entry id) claims nothing: its handler must be idempotent;
- a batch is first applied as it is, in its transaction alone; if one of its messages raises
  poison, the transaction is rolled back and the batch applied again with each message in its own
  savepoint (the one already found to blame is not called again). Poison is rare, a savepoint is
  two round trips per message: the flow bench counted 4.4 of them per flow in requests alone.
  **Poison or outage** (``services/runtime/poison.py``):
  a handler that raises a transient error (connection lost or refused, too many connections, a
  timeout, a lock or serialization conflict, a Kafka error, an ``OSError``) fails the batch, which
  is read again after a pause that doubles at each failure (0.25 s up to 10 s). Anything else (a
  ``ValidationError``, ``Unapplicable``, a data error the database will refuse again, a bug such as
  an ``OverflowError``) is raised again by the same message however often it is retried: that one
  message is dead-lettered with the exception's type and text, the others of the batch stand;
- **the cap** (``CONSUMER_MAX_ATTEMPTS``): a transient error raised while one record was being
  applied, while the database and the broker answer a probe, is charged to that record; a record
  that used up its tries is dead-lettered on the next read instead of applied, so even a
  "transient" error that always recurs on one record cannot stall its partition. During an outage
  (the probe fails) nothing is charged. A failure that cannot be pinned on one record (a bulk
  projection, the inbox claim) makes the next read apply the batch one message at a time, so it can;
- a dead-lettered message's inbox claim is released: replayed once its cause is fixed, it applies;
- offsets are committed after the transaction (the broker's NACK_ON_ERROR policy): a crash or an
  outage re-reads the batch, which the inbox makes harmless.

Each retry is a ``consumer retry`` warning and each dead letter a ``message dead-lettered`` warning
(consumer, topic, partition, offset, reason); a poison that is not a known refusal (a bug) is also
a ``poison message`` error with the last frames of its traceback.
"""

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeAlias, TypeVar

import asyncpg
from aiokafka import ConsumerRecord
from faststream.exceptions import NackMessage
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.message import StreamMessage
from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.trace import Link, SpanKind
from pydantic import TypeAdapter, ValidationError

from contracts.topics import Topic
from services.runtime import inbox
from services.runtime.db import database_ready
from services.runtime.kafka import consumer_options
from services.runtime.platform import Platform
from services.runtime.poison import (
    DATA_ERRORS,
    KNOWN_REFUSALS,
    RecordKey,
    Retries,
    Unapplicable,
    describe,
    is_transient,
    record_key,
    record_problem,
    redact,
    text_headers,
    tolerant_parser,
    validation_reason,
    where,
)

__all__ = [
    "DATA_ERRORS",
    "Bulk",
    "Handler",
    "Route",
    "TracedBulk",
    "Unapplicable",
    "subscribe",
    "subscribe_all",
    "undecoded",
    "validation_reason",
]

log = logging.getLogger(__name__)
tracer = trace.get_tracer(__name__)
BATCH_SIZE = 500

M = TypeVar("M")

Handler = Callable[[asyncpg.Connection, M], Awaitable[None]]
"""Applies one validated message (one of its topic's models) inside the caller's transaction."""

Record: TypeAlias = ConsumerRecord[Any, Any]


async def undecoded(message: StreamMessage[Any]) -> Any:
    """The handler validates the raw bytes against the contract itself."""
    return message.body


@dataclass(frozen=True)
class Bulk(Generic[M]):
    """A handler that applies every new message of its topic in a batch at once.

    For projections on a hot path: a few statements per batch instead of a few per message. Each
    await of a consumer waits its turn behind every HTTP request the service is serving; at a
    hundred requests in flight, per-message statements made quotes seconds late.

    Bulk groups are applied after the batch's other messages: a per-message handler must not depend
    on a bulk projection written by a message of the same batch (true today: requests' perception
    answers read none of them). A batch read again after a failure that could not be pinned on one
    record applies them one message at a time, in order.
    """

    apply: Callable[[asyncpg.Connection, list[M]], Awaitable[None]]


@dataclass(frozen=True)
class TracedBulk(Generic[M]):
    """A ``Bulk`` that also gets each message's trace context (same order): for a batch whose
    outbox events must each continue the trace of the message that caused them (debt's ledger:
    each position event continues the trace of the entry that last changed that affiliate)."""

    apply: Callable[[asyncpg.Connection, list[M], list[Context]], Awaitable[None]]


@dataclass(frozen=True)
class Route(Generic[M]):
    """A topic and what applies its messages, typed with the topic's models: a handler that expects
    another topic's messages does not type-check.

    ``inbox=False``: the messages dedupe themselves (a key of their own that the handler's table
    refuses twice); no claim is written per message. Only for such topics."""

    topic: Topic[M]
    handler: Handler[M] | Bulk[M] | TracedBulk[M]
    inbox: bool = True


@dataclass(frozen=True)
class _Route:
    adapter: TypeAdapter[Any]
    handler: Handler[Any] | Bulk[Any] | TracedBulk[Any]
    inbox: bool


def subscribe(broker: KafkaBroker, platform: Platform, topic: Topic[M], handler: Handler[M], *, consumer: str) -> None:
    """Register ``handler`` for every message of ``topic``; ``consumer`` names it in the inbox."""
    subscribe_all(broker, platform, [Route(topic, handler)], consumer=consumer)


def subscribe_all(
    broker: KafkaBroker,
    platform: Platform,
    routes: Sequence[Route[Any]],
    *,
    consumer: str,
    max_records: int = BATCH_SIZE,
    batch_timeout_ms: int = 5,
) -> None:
    """One Kafka consumer for several topics, each message to its topic's handler.

    One consumer, not one per topic: each member of a consumer group joining costs a rebalance of
    the whole group, and a service's projections need no parallelism of their own.
    """
    table = {r.topic.name: _Route(r.topic.adapter(), r.handler, r.inbox) for r in routes}
    applier = _BatchApplier(platform, table, consumer)

    @broker.subscriber(  # type: ignore[untyped-decorator]
        *applier.routes,
        batch=True,
        max_records=max_records,
        batch_timeout_ms=batch_timeout_ms,
        parser=tolerant_parser,
        decoder=undecoded,
        **consumer_options(platform.settings),
    )
    async def on_batch(message: KafkaMessage) -> None:
        await applier.on_batch(message.raw_message)


Refused = list[tuple[Record, str]]


async def platform_up(platform: Platform) -> bool:
    """The probe that tells an outage from a record's own failure: the consumers' database answers
    and so does the broker. Never raises."""
    if not await database_ready(platform.background_pool):
        return False
    try:
        return bool(await platform.broker.ping(timeout=2))
    except Exception:
        return False


class _BatchApplier:
    def __init__(self, platform: Platform, routes: dict[str, _Route], consumer: str) -> None:
        self.platform = platform
        self.routes = routes
        self.consumer = consumer
        self.retries = Retries(consumer, platform.settings.consumer_max_attempts, lambda: platform_up(self.platform))
        self.in_flight: Record | None = None
        """the record being applied or dead-lettered: the one a failure escaping now is charged to"""

    async def on_batch(self, records: tuple[Record, ...]) -> None:
        self.in_flight = None
        valid, unreadable = validate_records(records, lambda topic: self.routes[topic].adapter)
        try:
            if valid:
                await self.apply(valid)
            # Unreadable records were not claimed: sent once the batch is applied, so a batch read
            # again does not send them twice, and one whose send fails is read (and sent) again.
            for record, reason in unreadable:
                await self.dead_letter(record, reason)
        except Exception as exc:
            await self.retries.failed(exc, self.in_flight, records)
            raise NackMessage() from exc  # read again: the offsets rewind to the records
        self.retries.succeeded(records)

    async def dead_letter(self, record: Record, reason: str) -> None:
        assert self.platform.dead_letters is not None
        self.in_flight = record
        await self.platform.dead_letters.send(record, reason, consumer=self.consumer)
        self.in_flight = None

    async def apply(self, items: list[tuple[Record, Any]]) -> None:
        # Bare first: a savepoint per message is two round trips each, and poison is rare.
        blamed: dict[RecordKey, Exception] = {}
        if not self.retries.careful:
            try:
                await self._apply(items, guarded=False, blamed=blamed)
                return
            except _Poisoned as found:  # rolled back whole: nothing of this attempt stands
                self.in_flight = None
                if found.record is not None:
                    blamed[record_key(found.record)] = found.poison
        await self._apply(items, guarded=True, blamed=blamed)

    async def _apply(self, items: list[tuple[Record, Any]], guarded: bool, blamed: dict[RecordKey, Exception]) -> None:
        """``guarded``: each message (each bulk group) in a savepoint, a poison refused and the rest
        kept; unguarded, the first poison raises ``_Poisoned`` out of the transaction."""
        assert self.platform.background_pool is not None
        one_by_one = self.retries.careful
        async with self.platform.background_pool.acquire() as conn, conn.transaction():
            claimed = [event.event_id for record, event in items if self.routes[record.topic].inbox]
            fresh = await inbox.claim(conn, self.consumer, claimed) if claimed else set()
            refused: list[tuple[Record, Any, str]] = []
            bulks: dict[str, list[tuple[Record, Any]]] = {}
            for record, event in items:
                route = self.routes[record.topic]
                if route.inbox:
                    if event.event_id not in fresh:
                        continue  # applied before, or earlier in this very batch
                    fresh.discard(event.event_id)
                if (spent := self.retries.spent(record)) is not None:
                    refused.append((record, event, spent))
                elif isinstance(route.handler, Bulk | TracedBulk) and not one_by_one:
                    bulks.setdefault(record.topic, []).append((record, event))
                elif (reason := await self.apply_one(conn, record, event, guarded, blamed)) is not None:
                    refused.append((record, event, reason))
            # A topic's messages keep their order; different topics carry independent facts.
            for topic, group in bulks.items():
                refused += await self.apply_bulk(conn, topic, group, guarded, blamed)
            released = [event.event_id for record, event, _ in refused if self.routes[record.topic].inbox]
            if released:
                # Not applied: a replay of the dead letter, once its cause is fixed, must apply.
                await conn.execute(
                    "DELETE FROM inbox WHERE consumer = $1 AND event_id = ANY($2::uuid[])",
                    self.consumer,
                    released,
                )
            for record, _, reason in refused:
                # Before the commit that records it as handled: a dead letter may be sent twice
                # (the commit fails, the batch is read again), never lost.
                await self.dead_letter(record, reason)

    async def apply_one(
        self, conn: asyncpg.Connection, record: Record, event: Any, guarded: bool, blamed: dict[RecordKey, Exception]
    ) -> str | None:
        """Applies one message; returns why it must be dead-lettered, if it must (guarded: in a
        savepoint; unguarded, a poison raises ``_Poisoned``)."""
        # Each message continues its own trace: what it writes to the outbox carries it on.
        context = propagate.extract(text_headers(record))
        handler = self.routes[record.topic].handler
        with tracer.start_as_current_span(f"{record.topic} apply", context=context, kind=SpanKind.CONSUMER) as span:
            span.set_attribute("messaging.message.id", str(event.event_id))
            self.in_flight = record
            poison = blamed.get(record_key(record))  # found by the unguarded attempt: not called again
            if poison is None:
                poison = await _attempt(conn, _applying(handler, conn, event, context), guarded)
            self.in_flight = None
        if poison is None:
            return None
        if not guarded:
            raise _Poisoned(record, poison)
        reason = describe(poison)
        if not isinstance(poison, KNOWN_REFUSALS):
            log.error("poison message", extra=self.retries.context(record, reason) | {"where": where(poison)})
        return reason

    async def apply_bulk(
        self,
        conn: asyncpg.Connection,
        topic: str,
        group: list[tuple[Record, Any]],
        guarded: bool,
        blamed: dict[RecordKey, Exception],
    ) -> list[tuple[Record, Any, str]]:
        """The whole group at once; if it is refused, each message alone, to find the bad one."""
        handler = self.routes[topic].handler
        assert isinstance(handler, Bulk | TracedBulk)
        contexts = [propagate.extract(text_headers(r)) for r, _ in group]
        links = [Link(trace.get_current_span(c).get_span_context()) for c in contexts]
        events = [event for _, event in group]
        # A batch mixes traces: its span continues the first message's and links the others.
        with tracer.start_as_current_span(
            f"{topic} apply batch", context=contexts[0], kind=SpanKind.CONSUMER, links=links[:128]
        ) as span:
            span.set_attribute("messaging.batch.message_count", len(group))
            if isinstance(handler, TracedBulk):
                poison = await _attempt(conn, lambda: handler.apply(conn, events, contexts), guarded)
            else:
                poison = await _attempt(conn, lambda: handler.apply(conn, events), guarded)
            if poison is None:
                return []
        if not guarded:
            raise _Poisoned(None, poison)  # which message, the guarded attempt finds out
        log.warning(
            "a bulk projection refused its group; applying its messages one by one",
            extra={
                "consumer": self.consumer,
                "topic": topic,
                "messages": len(group),
                "reason": redact(describe(poison)),
            },
        )
        refused: list[tuple[Record, Any, str]] = []
        for record, event in group:
            if (reason := await self.apply_one(conn, record, event, guarded, blamed)) is not None:
                refused.append((record, event, reason))
        return refused


def validate_records(
    records: Sequence[Record], adapter_of: Callable[[str], TypeAdapter[Any]]
) -> tuple[list[tuple[Record, Any]], Refused]:
    """Each record validated ON ITS OWN against its topic's contract: the messages, and the records
    that must be dead-lettered with the reason. Never the bytes of a batch joined and validated at
    once: two broken records could then merge into one valid-looking message."""
    valid: list[tuple[Record, Any]] = []
    unreadable: Refused = []
    for record in records:
        if (reason := record_problem(record)) is None:
            try:
                valid.append((record, adapter_of(record.topic).validate_json(record.value)))
                continue
            except ValidationError as exc:
                reason = validation_reason(exc)
            except Exception as exc:  # the parser itself failing on some input: poison all the same
                reason = describe(exc)
        unreadable.append((record, reason))
    return valid, unreadable


def _applying(handler: Any, conn: asyncpg.Connection, event: Any, context: Context) -> Callable[[], Awaitable[None]]:
    """One message given to its route's handler, whatever its kind."""
    if isinstance(handler, TracedBulk):
        return lambda: handler.apply(conn, [event], [context])
    if isinstance(handler, Bulk):
        return lambda: handler.apply(conn, [event])
    return lambda: handler(conn, event)


class _Poisoned(Exception):
    """A poison met by the unguarded attempt: its transaction must roll back, the batch be applied
    again guarded. ``record``: the message to blame, when it was applied alone."""

    def __init__(self, record: Record | None, poison: Exception) -> None:
        super().__init__(describe(poison))
        self.record = record
        self.poison = poison


async def _attempt(conn: asyncpg.Connection, apply: Callable[[], Awaitable[None]], guarded: bool) -> Exception | None:
    """Runs ``apply``, in a savepoint if ``guarded`` (unguarded, a poison leaves the transaction
    unusable: the caller raises ``_Poisoned``); returns the poison it raised, if any. A transient
    error is raised: the whole batch fails and is read again."""
    try:
        if guarded:
            async with conn.transaction():
                await apply()
        else:
            await apply()
    except Exception as exc:
        if is_transient(exc):
            raise
        return exc
    return None
