"""Transactional outbox: events commit with the change that caused them; a relay sends them later.

Writing to Kafka after the commit (publish-after-commit) loses the event when the process dies in
between; writing before it announces a change that may roll back. The outbox row commits or rolls back
with the change, and the relay retries until the broker has taken it: at-least-once delivery, which
the consumers' inbox turns into exactly-once effects.
"""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.errors import InvalidTopicError, MessageSizeTooLargeError
from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.trace import SpanKind

from contracts.envelope import Envelope
from services.runtime.db import load_queries, rows

log = logging.getLogger(__name__)
tracer = trace.get_tracer(__name__)

_QUERIES = load_queries(Path(__file__).parent / "sql" / "outbox.sql")
# One relay per database publishes at a time, so one affiliate's events keep their order even
# with several replicas of a service; the others stand by and take over if the leader dies.
_RELAY_LOCK_KEY = 0x0B7B0C5
# Refusals that no retry will change: the event itself is the problem, not the broker.
_UNSENDABLE = (MessageSizeTooLargeError, InvalidTopicError)


@dataclass(frozen=True)
class OutgoingMessage:
    topic: str
    key: str
    event_id: UUID
    event_type: str
    body: bytes
    """The message as it goes on the wire (JSON of a ``contracts`` envelope)."""
    trace_context: Context | None = None
    """The trace this event continues; by default the one active when it is written."""

    @classmethod
    def of(cls, topic: str, key: str, message: Envelope, trace_context: Context | None = None) -> "OutgoingMessage":
        return cls(topic, key, message.event_id, message.type, message.model_dump_json().encode(), trace_context)


def _trace_fields(context: Context | None) -> tuple[str | None, str | None]:
    carrier: dict[str, str] = {}
    propagate.inject(carrier, context=context)
    return carrier.get("traceparent"), carrier.get("tracestate")


def _row(item: OutgoingMessage) -> tuple[Any, ...]:
    traceparent, tracestate = _trace_fields(item.trace_context)
    return (item.event_id, item.topic, item.key, item.event_type, item.body, traceparent, tracestate)


def outbox_row(item: OutgoingMessage) -> tuple[Any, ...]:
    """The outbox row's values, in ``OUTBOX_COLUMNS`` order, with the trace context filled in: for a
    service that writes its change and its event in ONE statement of its own (one implicit
    transaction, so they commit together). That statement must also ``pg_notify('outbox', '')``."""
    return _row(item)


OUTBOX_COLUMNS = ("event_id", "topic", "key", "event_type", "body", "traceparent", "tracestate")


async def enqueue(conn: asyncpg.Connection, topic: str, key: str, message: Envelope) -> None:
    """Write one event in the caller's transaction, with the current trace context."""
    await enqueue_many(conn, [OutgoingMessage.of(topic, key, message)])


async def enqueue_many(conn: asyncpg.Connection, items: Iterable[OutgoingMessage]) -> None:
    values = [_row(item) for item in items]
    if not values:
        return
    await _QUERIES.enqueue_many(conn, values)
    await _QUERIES.notify(conn)


class OutboxRelay:
    """Publishes outbox rows in order, woken by NOTIFY, polling as a safety net, retrying forever."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        producer: AIOKafkaProducer,
        leader_connection: Callable[[], Awaitable[asyncpg.Connection]],
        *,
        batch_size: int = 500,
        poll_interval: float = 1.0,
        max_backoff: float = 5.0,
    ) -> None:
        """``leader_connection`` opens the connection that holds the leader lock and LISTENs: its own,
        never a pooled one, since pooled connections go back to others without a session reset."""
        self._pool = pool
        self._leader_connection = leader_connection
        self._producer = producer
        self._batch_size = batch_size
        self._poll_interval = poll_interval
        self._max_backoff = max_backoff
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.published = 0

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def _on_notify(self, *_: object) -> None:
        self._wakeup.set()

    async def _run(self) -> None:
        backoff = 0.1
        while True:
            try:
                leader = await self._leader_connection()
                try:
                    await self._lead(leader)
                finally:
                    await leader.close(timeout=2)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox relay failed, retrying", extra={"backoff_s": backoff})
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self._max_backoff)
            else:
                backoff = 0.1

    async def _lead(self, leader: asyncpg.Connection) -> None:
        # Standing by: nothing to await but the leader's connection going away, so poll the lock.
        while not await leader.fetchval("SELECT pg_try_advisory_lock($1)", _RELAY_LOCK_KEY):  # noqa: ASYNC110
            await asyncio.sleep(self._poll_interval)
        await leader.add_listener("outbox", self._on_notify)
        try:
            while True:
                self._wakeup.clear()
                # An idle leader connection is the likeliest to be cut, taking the lock with it; find
                # out now (and reconnect) rather than publish beside the replica that took over.
                await leader.execute("SELECT 1", timeout=5)
                sent = await self.publish_pending()
                if sent < self._batch_size:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wakeup.wait(), self._poll_interval)
        finally:
            await leader.remove_listener("outbox", self._on_notify)
            await leader.execute("SELECT pg_advisory_unlock($1)", _RELAY_LOCK_KEY)

    async def publish_pending(self) -> int:
        """Send one batch; rows leave the outbox only once the broker acknowledged every one.

        A row the broker will never take is parked (``outbox_parked``) rather than retried forever
        in front of every other event; any other failure keeps the whole batch for the next try.
        """
        failure: BaseException | None = None
        async with self._pool.acquire() as conn, conn.transaction():
            batch = await rows(_QUERIES.claim_batch(conn, limit=self._batch_size))
            if not batch:
                return 0
            outcomes = list(zip(batch, await self._deliver_in_order(batch), strict=True))
            sent = [row["id"] for row, outcome in outcomes if not isinstance(outcome, BaseException)]
            retry = [(row, o) for row, o in outcomes if isinstance(o, BaseException) and not isinstance(o, _UNSENDABLE)]
            for row, error in outcomes:
                if isinstance(error, _UNSENDABLE):
                    log.error(
                        "event parked: the broker will never take it",
                        extra={"event_id": str(row["event_id"]), "topic": row["topic"], "error": repr(error)[:300]},
                    )
                    await _QUERIES.park(conn, id=row["id"], reason=repr(error)[:500])
            await _QUERIES.delete_sent(conn, ids=sent)
            if retry:  # the broker is away or refused for now: keep these rows, count the try
                failure = retry[0][1]
                await _QUERIES.record_failure(conn, ids=[row["id"] for row, _ in retry], error=repr(failure)[:500])
        if failure is not None:
            raise failure
        self.published += len(sent)
        return len(batch)

    async def _deliver_in_order(self, batch: list[asyncpg.Record]) -> list[Any]:
        """Hands the rows to the producer one after the other (so one key's events keep their order),
        then waits for every acknowledgement; each outcome is a result or the exception it raised."""
        handed: list[Any] = []
        stopped: BaseException | None = None
        for row in batch:
            if stopped is not None:  # nothing may overtake an event that must be retried
                handed.append(stopped)
                continue
            try:
                handed.append(await self._send(row))
            except _UNSENDABLE as exc:  # this event only: the ones behind it may go
                handed.append(exc)
            except Exception as exc:  # the broker is away: retry this one and all behind it
                handed.append(exc)
                stopped = exc
        futures = [h for h in handed if not isinstance(h, BaseException)]
        acknowledged = iter(await asyncio.gather(*futures, return_exceptions=True))
        return [h if isinstance(h, BaseException) else next(acknowledged) for h in handed]

    async def _send(self, row: asyncpg.Record) -> "asyncio.Future[Any]":
        headers = [("content-type", b"application/json"), ("event-type", row["event_type"].encode())]
        parent = None
        if row["traceparent"]:
            carrier = {"traceparent": row["traceparent"]}
            if row["tracestate"]:
                carrier["tracestate"] = row["tracestate"]
            parent = propagate.extract(carrier)
        with tracer.start_as_current_span(
            f"{row['topic']} publish",
            context=parent,
            kind=SpanKind.PRODUCER,
            attributes={
                "messaging.system": "kafka",
                "messaging.destination.name": row["topic"],
                "messaging.message.id": str(row["event_id"]),
                "messaging.kafka.message.key": row["key"],
            },
        ):
            carrier_out: dict[str, str] = {}
            propagate.inject(carrier_out)
            headers += [(name, value.encode()) for name, value in carrier_out.items()]
            delivery: asyncio.Future[Any] = await self._producer.send(
                row["topic"], value=bytes(row["body"]), key=row["key"].encode(), headers=headers
            )
            return delivery
