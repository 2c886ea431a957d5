"""Transactional outbox: events commit with the change that caused them; a relay sends them later.

Writing to Kafka after the commit (publish-after-commit) loses the event when the process dies in
between; writing before it announces a change that may roll back. The outbox row commits or rolls back
with the change, and the relay retries until the broker has taken it.

Once on the wire, without a transactional producer (Tansu has none): a row is marked as handed over
(committed) before it goes to the producer and moved to the outbox's log once acknowledged
(``outbox_log``: kept for a window, replayed to a broker that lost it). A row still in the outbox
with a mark may be on the broker already (the relay died between the acknowledgement and the move,
or an acknowledgement was lost); before handing it again the relay looks for its event id in its
topic's tail (``delivered``) and sends only what is missing. Consumers' inboxes stay the second
safety; Apache Kafka's idempotent producer, where configured, a third (it covers the producer's own
retries, not a relay that restarts).
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.errors import (
    InvalidTopicError,
    MessageSizeTooLargeError,
    RecordListTooLargeError,
    TopicAuthorizationFailedError,
)
from opentelemetry import propagate, trace
from opentelemetry.context import Context

from contracts.envelope import Envelope
from services.runtime.cancellation import stop_requested
from services.runtime.db import load_queries, rows
from services.runtime.delivered import EVENT_ID_HEADER
from services.runtime.epochs import BrokerWatch
from services.runtime.faults import NO_CRASH, CrashPoints
from services.runtime.outbox_log import NO_POLICY, high_water, replay_lost
from services.runtime.publish_spans import PublishSpans

log = logging.getLogger(__name__)
tracer = trace.get_tracer(__name__)

_QUERIES = load_queries(Path(__file__).parent / "sql" / "outbox.sql")
# One relay per database publishes at a time, so one affiliate's events keep their order even
# with several replicas of a service; the others stand by and take over if the leader dies.
_RELAY_LOCK_KEY = 0x0B7B0C5
# Refusals that no retry will change: the event itself is the problem, not the broker.
_UNSENDABLE = (MessageSizeTooLargeError, RecordListTooLargeError, InvalidTopicError, TopicAuthorizationFailedError)

_WENT_BACK = "a partition's offsets went back"
_ENDS_SHORT = "a partition is gone or ends before an offset it acknowledged"

DeliveredLookup = Callable[[set[UUID], set[str], datetime], Awaitable[set[UUID]]]
"""``(event ids, topics, first hand-over) -> the event ids the broker holds``: see ``delivered``."""


class HeldBack(Exception):
    """Not sent in this batch: an earlier row of its topic and key (or its topic) failed, and
    nothing may overtake an event that must be retried."""


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


def outbox_rows(items: Iterable[OutgoingMessage]) -> list[tuple[Any, ...]]:
    """The outbox rows' values, in ``OUTBOX_COLUMNS`` order, with the trace context filled in: what
    ``enqueue_many`` inserts, and what a service that writes its change and its events in ONE
    statement of its own inserts there (one implicit transaction: they commit together; the outbox's
    trigger wakes the relay when it commits). The trace fields are found once per trace context (a
    debit run's page writes a thousand events in one)."""
    found: dict[int, tuple[str | None, str | None]] = {}
    values = []
    for item in items:
        key = id(item.trace_context)  # the items, and so their contexts, live until the end of the call
        if key not in found:
            found[key] = _trace_fields(item.trace_context)
        values.append((item.event_id, item.topic, item.key, item.event_type, item.body, *found[key]))
    return values


OUTBOX_COLUMNS = ("event_id", "topic", "key", "event_type", "body", "traceparent", "tracestate")


async def enqueue(conn: asyncpg.Connection, topic: str, key: str, message: Envelope) -> None:
    """Write one event in the caller's transaction, with the current trace context."""
    await enqueue_many(conn, [OutgoingMessage.of(topic, key, message)])


async def backlog(conn: asyncpg.Connection) -> asyncpg.Record:
    """``depth``, ``oldest_age`` (seconds, 0 when nothing waits) and ``parked``: what the metrics show."""
    row: asyncpg.Record = await _QUERIES.backlog(conn)
    return row


async def enqueue_many(conn: asyncpg.Connection, items: Iterable[OutgoingMessage]) -> None:
    values = outbox_rows(items)
    if not values:
        return
    await _QUERIES.enqueue_many(conn, values)  # the table's trigger wakes the relay at the commit


async def send_again(conn: asyncpg.Connection, items: Iterable[OutgoingMessage]) -> None:
    """Messages published before, published again with their event ids (a bank that never answered
    an order gets the very same order): consumers that applied them skip them; in the caller's
    transaction, like ``enqueue_many``."""
    values = outbox_rows(items)
    if not values:
        return
    await _QUERIES.send_again(conn, values)


class OutboxRelay:
    """Publishes outbox rows in order, woken by NOTIFY, polling as a safety net, retrying forever."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        producer: AIOKafkaProducer,
        leader_connection: Callable[[], Awaitable[asyncpg.Connection]],
        delivered: DeliveredLookup,
        *,
        known_topics: frozenset[str] | None = None,
        batch_size: int = 500,
        poll_interval: float = 1.0,
        max_backoff: float = 5.0,
        max_attempts: int = 10,
        crash_points: CrashPoints = NO_CRASH,
        watch: BrokerWatch | None = None,
    ) -> None:
        """``leader_connection`` opens the connection that holds the leader lock and LISTENs: its own,
        never a pooled one, since pooled connections go back to others without a session reset.
        ``known_topics``: the catalogue; a row for any other topic is parked, never sent (a broker
        that creates topics on first use would otherwise take it where no one reads).
        ``max_attempts``: tries after which a row the broker keeps refusing, while it takes others,
        is parked. ``watch``: looks for the service's mark on the broker when the relay takes the lead
        and every ``watch.interval_s`` (``epochs``); without it, only a partition's offsets going
        back reveal a lost broker."""
        self._pool = pool
        self._leader_connection = leader_connection
        self._producer = producer
        self._delivered = delivered
        self._known_topics = known_topics
        self._batch_size = batch_size
        self._poll_interval = poll_interval
        self._max_backoff = max_backoff
        self._max_attempts = max_attempts
        self._crash = crash_points
        self._watch = watch
        self._policy = watch.policy if watch is not None else NO_POLICY
        self._high_water: dict[tuple[str, int], int] = {}
        """``(topic, partition) -> highest offset`` the current broker gave our events"""
        self._last_batch: dict[tuple[str, int], int] = {}
        """``(topic, partition) -> the first offset`` it gave the last batch sent there since this relay
        took the lead: what the broker watch asks it to still hold (``epochs``)"""
        self._wakeup = asyncio.Event()
        self._look_now = False
        self._task: asyncio.Task[None] | None = None
        self.published = 0
        self.found_on_broker = 0
        """rows of an interrupted batch found on the broker, logged without being sent again"""
        self.parked = 0
        self.topics_lost = 0
        """topics found lost while the service's mark stayed (a partition's offsets went back, or a
        check found a partition missing or ending before an offset it acknowledged): replayed"""

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

    def look_at_broker_now(self) -> None:
        """The broker may have been replaced (the embedded stack's launcher restarted its memory-only
        broker and says so): the leader looks for the service's mark at once, not at the next
        ``watch.interval_s``. A replica that does not lead has nothing to do."""
        self._look_now = True
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
                if stop_requested():  # the cancel became this error on its way (``cancellation``)
                    raise asyncio.CancelledError from None
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
            async with self._pool.acquire() as conn:
                self._high_water = await high_water(conn)
            self._last_batch = {}  # what another leader sent, or this one before it lost the lead, is not known
            next_check = 0.0
            while True:
                if stop_requested():  # a cancel that came as the wakeup fired was swallowed by wait_for
                    raise asyncio.CancelledError
                self._wakeup.clear()
                # An idle leader connection is the likeliest to be cut, taking the lock with it; find
                # out now (and reconnect) rather than publish beside the replica that took over.
                await leader.execute("SELECT 1", timeout=5)
                if self._watch is not None and (self._look_now or time.monotonic() >= next_check):
                    self._look_now = False
                    look = await self._watch.check(self._pool, self._last_batch)
                    if look.lost:
                        self._forget_every_offset()  # they named the lost broker
                    elif look.topics_gone:
                        async with self._pool.acquire() as conn, conn.transaction():
                            await self._replay_topics(conn, self._forget(look.topics_gone), _ENDS_SHORT)
                    next_check = time.monotonic() + self._watch.interval_s
                sent = await self.publish_pending()
                if sent < self._batch_size:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wakeup.wait(), self._poll_interval)
        finally:
            await leader.remove_listener("outbox", self._on_notify)
            await leader.execute("SELECT pg_advisory_unlock($1)", _RELAY_LOCK_KEY)

    async def publish_pending(self) -> int:
        """Send one batch; rows leave the outbox only once the broker acknowledged every one.

        Called by the leader only (one writer per database): the rows are read without a lock and
        the hand-over mark is committed before the send, so a relay that dies anywhere leaves a
        trace the next one can check against the broker.
        """
        async with self._pool.acquire() as conn:
            batch = await rows(_QUERIES.claim_batch(conn, limit=self._batch_size))
            if not batch:
                return 0
            claimed = len(batch)
            batch = await self._without_delivered(conn, batch)
            batch = await self._without_unknown_topics(conn, batch)
            if not batch:
                return claimed
            await _QUERIES.mark_handed(conn, ids=[row["id"] for row in batch], at=datetime.now(UTC))
            self._crash.reached("outbox.handed")
            outcomes = list(zip(batch, await self._deliver_in_order(batch), strict=True))
            self._crash.reached("outbox.acknowledged")
            failure = await self._settle(conn, outcomes)
        if failure is not None:
            raise failure
        return claimed

    async def _without_delivered(self, conn: asyncpg.Connection, batch: list[asyncpg.Record]) -> list[asyncpg.Record]:
        """Rows handed over before (an interrupted batch) that the broker holds: deleted, not sent."""
        handed = [row for row in batch if row["handed_at"] is not None]
        if not handed:
            return batch
        since = min(row["handed_at"] for row in handed)
        found = await self._delivered({row["event_id"] for row in handed}, {row["topic"] for row in handed}, since)
        log.warning(
            "outbox rows handed over before: looked for on the broker",
            extra={"rows": len(handed), "found": len(found), "since": since.isoformat()},
        )
        if not found:
            return batch
        ids = [row["id"] for row in handed if row["event_id"] in found]
        await _QUERIES.log_sent(conn, ids=ids, partitions=[None] * len(ids), offsets=[None] * len(ids))
        self.found_on_broker += len(found)
        return [row for row in batch if row["event_id"] not in found]

    async def _without_unknown_topics(
        self, conn: asyncpg.Connection, batch: list[asyncpg.Record]
    ) -> list[asyncpg.Record]:
        if self._known_topics is None:
            return batch
        unknown = [row for row in batch if row["topic"] not in self._known_topics]
        for row in unknown:
            await self._park(conn, row, f"sujet {row['topic']} absent du catalogue des sujets")
        return [row for row in batch if row["topic"] in self._known_topics]

    async def _settle(
        self, conn: asyncpg.Connection, outcomes: list[tuple[asyncpg.Record, Any]]
    ) -> BaseException | None:
        """Deletes what the broker took, parks what it never will, counts a try on the rest.

        Returns the failure to raise (so the relay backs off) only when nothing went through: a
        broker that takes other rows is not down, and a row it keeps refusing must not slow them.
        """
        taken = [(row, outcome) for row, outcome in outcomes if not isinstance(outcome, BaseException)]
        sent = [row["id"] for row, _ in taken]
        failed = [(row, o) for row, o in outcomes if isinstance(o, BaseException) and not isinstance(o, HeldBack)]
        lost = self._topics_gone_back(taken)
        signs = [_WENT_BACK]
        if lost and self._watch is not None:
            look = await self._watch.check(self._pool, self._last_batch)
            if look.lost:
                # The whole broker is new (our mark is gone too): every topic was replayed, once.
                lost = set()
                self._forget_every_offset()
            elif look.topics_gone:
                lost |= self._forget(look.topics_gone)
                signs.append(_ENDS_SHORT)
        async with conn.transaction():
            if lost:
                # Before the batch is logged: its rows are still in the outbox, so the replay skips them.
                await self._replay_topics(conn, lost, "; ".join(signs))
            await _QUERIES.log_sent(
                conn,
                ids=sent,
                partitions=[metadata.partition for _, metadata in taken],
                offsets=[metadata.offset for _, metadata in taken],
            )
            retry: list[tuple[asyncpg.Record, BaseException]] = []
            for row, error in failed:
                if isinstance(error, _UNSENDABLE):
                    await self._park(conn, row, repr(error)[:500])
                elif sent and row["attempts"] + 1 >= self._max_attempts:
                    # The broker took others of this batch: it is up, and this row is the problem.
                    await self._park(conn, row, f"refusé {row['attempts'] + 1} fois : {error!r}"[:500])
                else:
                    retry.append((row, error))
            for error_text, ids in _group_by_error(retry).items():
                await _QUERIES.record_failure(conn, ids=ids, error=error_text)
        self.published += len(sent)
        self._raise_high_water(taken)
        if retry and not sent:
            return retry[0][1]
        if retry:
            log.warning(
                "outbox rows refused, tried again later",
                extra={"rows": len(retry), "error": repr(retry[0][1])[:300]},
            )
        return None

    def _topics_gone_back(self, taken: list[tuple[asyncpg.Record, Any]]) -> set[str]:
        """Topics with a partition where the broker gave one of these events an offset at or below
        one it gave an earlier event: offsets never go back on the same log, so it is a new one."""
        return self._forget(
            {
                row["topic"]
                for row, metadata in taken
                if metadata.offset <= self._high_water.get((row["topic"], metadata.partition), -1)
            }
        )

    def _forget(self, lost: Iterable[str]) -> set[str]:
        """The offsets of topics the broker lost name nothing on its new log: dropped, and counted."""
        lost = set(lost)
        if lost:
            self.topics_lost += len(lost)
            self._high_water = {tp: offset for tp, offset in self._high_water.items() if tp[0] not in lost}
            self._last_batch = {tp: offset for tp, offset in self._last_batch.items() if tp[0] not in lost}
        return lost

    def _forget_every_offset(self) -> None:
        self._high_water.clear()
        self._last_batch.clear()

    async def _replay_topics(self, conn: asyncpg.Connection, lost: set[str], sign: str) -> None:
        """In the caller's transaction: the topics' retained log goes back into the outbox."""
        replayed = await replay_lost(conn, lost, self._policy)
        log.error(
            "the broker lost these topics: their log is replayed",
            extra={"topics": sorted(lost), "events_replayed": replayed, "sign": sign},
        )
        if self._watch is not None:
            self._watch.on_lost(replayed)

    def _raise_high_water(self, taken: list[tuple[asyncpg.Record, Any]]) -> None:
        first: dict[tuple[str, int], int] = {}
        for row, metadata in taken:
            where = (row["topic"], metadata.partition)
            self._high_water[where] = max(metadata.offset, self._high_water.get(where, -1))
            first[where] = min(metadata.offset, first.get(where, metadata.offset))
        self._last_batch |= first

    async def _park(self, conn: asyncpg.Connection, row: asyncpg.Record, reason: str) -> None:
        """Moved to ``outbox_parked``; the later rows of its topic and key wait behind it (the claim
        skips them) until an operator requeues or discards it."""
        log.error(
            "event parked: the broker will never take it",
            extra={"event_id": str(row["event_id"]), "topic": row["topic"], "key": row["key"], "reason": reason[:300]},
        )
        await _QUERIES.park(conn, id=row["id"], reason=reason)
        self.parked += 1

    async def _deliver_in_order(self, batch: list[asyncpg.Record]) -> list[Any]:
        """Hands the rows to the producer one after the other (so one key's events keep their order),
        then waits for every acknowledgement; each outcome is a result or the exception it raised.

        A row the producer refuses at once holds back the later rows of its topic and key (too large:
        that row only) or of its whole topic (no metadata: every row of it would wait as long)."""
        handed: list[Any] = []
        held: dict[tuple[str, str] | str, BaseException] = {}
        spans = PublishSpans(tracer)
        try:  # the spans end even if the relay is cancelled mid-batch (a stop, a crash test)
            for row in batch:
                blocked = held.get((row["topic"], row["key"])) or held.get(row["topic"])
                if blocked is not None:
                    handed.append(HeldBack(repr(blocked)))
                    continue
                try:
                    handed.append(await self._send(row, spans.headers(row)))
                except _UNSENDABLE as exc:
                    handed.append(exc)
                    held[(row["topic"], row["key"])] = exc
                except Exception as exc:
                    handed.append(exc)
                    held[row["topic"]] = exc
            self._crash.reached("outbox.sent")
            futures = [h for h in handed if not isinstance(h, BaseException)]
            acknowledged = iter(await asyncio.gather(*futures, return_exceptions=True))
            outcomes = [h if isinstance(h, BaseException) else next(acknowledged) for h in handed]
            for row, outcome in zip(batch, outcomes, strict=True):
                if isinstance(outcome, BaseException) and not isinstance(outcome, HeldBack):
                    spans.failed(row, outcome)
            return outcomes
        finally:
            spans.end()

    async def _send(self, row: asyncpg.Record, trace_headers: list[tuple[str, bytes]]) -> "asyncio.Future[Any]":
        headers = [
            ("content-type", b"application/json"),
            ("event-type", row["event_type"].encode()),
            (EVENT_ID_HEADER, str(row["event_id"]).encode()),
            *trace_headers,
        ]
        delivery: asyncio.Future[Any] = await self._producer.send(
            row["topic"], value=bytes(row["body"]), key=row["key"].encode(), headers=headers
        )
        return delivery


def _group_by_error(failed: list[tuple[asyncpg.Record, BaseException]]) -> dict[str, list[int]]:
    groups: dict[str, list[int]] = {}
    for row, error in failed:
        groups.setdefault(repr(error)[:500], []).append(row["id"])
    return groups
