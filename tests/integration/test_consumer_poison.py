"""Poison versus outage in every consumer, on a real Postgres and a real broker.

The runtime's batch consumer gets a topic of its own (a fresh name, one partition: a stalled record
would stall everything behind it) and a handler that misbehaves on command; debt's ledger consumer
and the reference perception get hostile records on their real topics.
"""

import json
import logging
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer, ConsumerRecord
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from contracts.debt import ChargeBooked
from contracts.perception import GuaranteeRefused, PerceptionEvent
from contracts.requests import GuaranteeRequired
from contracts.topics import DEBT_LEDGER, PERCEPTION_GUARANTEES, Topic, guarantee_requests
from partners.perception.config import PerceptionSettings
from partners.perception.main import create_app as create_perception
from services.debt.config import DebtSettings
from services.debt.entrypoints import subscribers as debt_subscribers
from services.debt.main import create_app as create_debt
from services.debt.service.apply_ledger import apply_ledger_batch
from services.runtime import consumer
from services.runtime.clock import FrozenClock
from services.runtime.consumer import Bulk, Route, Unapplicable, subscribe_all
from services.runtime.platform import Platform
from services.runtime.settings import ServiceSettings
from services.runtime.telemetry import setup_tracing
from tests import messages
from tests.conftest import Infra
from tests.support import eventually, header, new_affiliate, read_topic, running

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
MAX_ATTEMPTS = 3
TRACEPARENT = ("traceparent", b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
BAD_HEADER: list[tuple[str, bytes | None]] = [TRACEPARENT, ("x", b"\xff\xfe")]
NULL_HEADER: list[tuple[str, bytes | None]] = [("x", None)]
Raw = tuple[bytes | None, list[tuple[str, bytes | None]]]


def refusal(affiliate: str, command: str) -> GuaranteeRefused:
    """A valid message whose ``reason`` tells the test handler what to do."""
    return GuaranteeRefused.build(
        {
            "request_id": uuid.uuid4(),
            "affiliate": affiliate,
            "perception": "CAS-01",
            "reason": command,
            "refused_at": NOW,
        },
        producer="test",
        occurred_at=NOW,
    )


def raw(message: Any, headers: list[tuple[str, bytes | None]] | None = None) -> Raw:
    return (message.model_dump_json().encode(), headers or [])


def unreadable(valid: bytes) -> list[Raw]:
    """What FastStream's own parser, or the contract, cannot read: each must reach the .dlq as it came."""
    unknown_type = json.loads(valid) | {"type": "perception.guarantee_lost"}
    return [
        (valid, BAD_HEADER),
        (valid, NULL_HEADER),
        (None, []),  # a tombstone
        (valid[: len(valid) // 2], []),  # invalid JSON
        (json.dumps(unknown_type).encode(), []),
    ]


async def produce(bootstrap: str, topic: str, key: str, records: list[Raw], partition: int | None = None) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for value, headers in records:
            await producer.send_and_wait(topic, value=value, key=key.encode(), headers=headers, partition=partition)
    finally:
        await producer.stop()


class Captured(logging.Handler):
    """The consumers' log records (their ``extra`` fields are attributes)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def named(self, message: str, **fields: Any) -> list[Any]:
        return [
            r
            for r in self.records
            if r.getMessage().startswith(message) and all(getattr(r, k, None) == v for k, v in fields.items())
        ]


@pytest.fixture
def logs() -> Any:
    captured = Captured()
    loggers = [
        logging.getLogger(name)
        for name in ("services.runtime.poison", "services.runtime.dlq", "services.runtime.consumer")
    ]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(captured)
        logger.setLevel(logging.DEBUG)
    yield captured
    for logger, level in zip(loggers, levels, strict=True):
        logger.removeHandler(captured)
        logger.setLevel(level)


@dataclass
class Harness:
    """A consumer of the runtime on a topic of its own, whose handler misbehaves on command."""

    topic: Topic
    database: str
    infra: Infra
    affiliate: str = field(default_factory=new_affiliate)
    calls: Counter[str] = field(default_factory=Counter)
    outage: bool = False
    fixed: bool = False

    async def applied(self) -> list[str]:
        conn = await asyncpg.connect(self.database)
        try:
            return [r["command"] for r in await conn.fetch("SELECT command FROM applied ORDER BY n")]
        finally:
            await conn.close()

    async def until_applied(self, *commands: str) -> list[str]:
        async def check() -> list[str] | None:
            done = await self.applied()
            return done if set(commands) <= set(done) else None

        result: list[str] = await eventually(check, timeout=30)
        return result

    async def dead(self, count: int) -> list[ConsumerRecord[Any, Any]]:
        return await read_topic(self.infra.bootstrap, self.topic.dlq, lambda r: len(r) >= count, timeout=30)

    async def send(self, *records: Raw) -> None:
        await produce(self.infra.bootstrap, self.topic.name, self.affiliate, list(records), partition=0)

    async def handle(self, conn: asyncpg.Connection, event: Any) -> None:
        command = event.payload.reason
        self.calls[command] += 1
        if self.outage:
            if self.calls[command] <= MAX_ATTEMPTS + 1:
                raise ConnectionRefusedError("the database is away")
            self.outage = False  # it comes back
        if command == "RuntimeError":
            raise RuntimeError("a bug no code path anticipates")
        if command == "OverflowError":  # the 9999-12-31T23:30:00Z deposit, in Casablanca time
            datetime(9999, 12, 31, 23, 30, tzinfo=UTC).astimezone(ZoneInfo("Africa/Casablanca"))
        if command == "ValidationError":  # the handler builds an event of its own, too long
            refusal(self.affiliate, "x" * 501)
        if command == "Unapplicable" and not self.fixed:
            raise Unapplicable("demande inconnue")
        if command == "flaky" and self.calls[command] <= 2:
            raise ConnectionResetError("connection reset by peer")
        if command == "timeout":
            raise TimeoutError("always on this record")
        if command == "killed" and self.calls[command] == 1:  # the database drops this very connection
            await conn.execute("SELECT pg_terminate_backend(pg_backend_pid())")
        await conn.execute("INSERT INTO applied (command) VALUES ($1)", command)

    async def handle_bulk(self, conn: asyncpg.Connection, events: list[Any]) -> None:
        if any(e.payload.reason == "timeout" for e in events):
            raise TimeoutError("the group times out, because of one record")
        for event in events:
            await self.handle(conn, event)


async def start_harness(infra: Infra, database: str, bulk: bool) -> AsyncIterator[Harness]:
    name = f"test.poison.{uuid.uuid4().hex[:10]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=infra.bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(n, 1, 1) for n in (name, name + ".dlq")])
    finally:
        await admin.close()
    topic = Topic(name, "affiliate", ("test",), ("test",), PerceptionEvent, "poison tests", partitions=1)
    harness = Harness(topic, database, infra)
    conn = await asyncpg.connect(database)
    try:
        await conn.execute("CREATE TABLE applied (n bigserial PRIMARY KEY, command text NOT NULL)")
    finally:
        await conn.close()
    settings = ServiceSettings(
        service_name="poison-test",
        database_url=database,
        kafka_bootstrap_servers=infra.bootstrap,
        kafka_group_id=f"poison-{uuid.uuid4().hex[:8]}",
        consumer_max_attempts=MAX_ATTEMPTS,
    )
    platform = Platform.create(settings, FrozenClock(NOW), setup_tracing("poison-test", None))

    async def handle(conn: asyncpg.Connection, event: Any) -> None:
        await harness.handle(conn, event)

    async def handle_bulk(conn: asyncpg.Connection, events: list[Any]) -> None:
        await harness.handle_bulk(conn, events)

    route = Route(topic, Bulk(handle_bulk) if bulk else handle)
    subscribe_all(platform.broker, platform, [route], consumer="poison-test")
    await platform.start([])
    try:
        yield harness
    finally:
        await platform.stop()


@pytest.fixture
async def harness(infra: Infra, database: str) -> AsyncIterator[Harness]:
    async for started in start_harness(infra, database, bulk=False):
        yield started


@pytest.fixture
async def bulk_harness(infra: Infra, database: str) -> AsyncIterator[Harness]:
    async for started in start_harness(infra, database, bulk=True):
        yield started


async def nothing_on(bootstrap: str, topic: str, key: str | None = None) -> bool:
    try:
        await read_topic(bootstrap, topic, bool, key=key, timeout=1)
    except AssertionError:
        return True
    return False


async def test_poison_and_unreadable_records_are_dead_lettered_and_the_partition_moves_on(
    harness: Harness, logs: Captured
) -> None:
    a = harness.affiliate
    poisons = ["RuntimeError", "OverflowError", "ValidationError", "Unapplicable"]
    hostile = unreadable(raw(refusal(a, "ok:never"))[0] or b"")
    await harness.send(
        raw(refusal(a, "ok:first"), [TRACEPARENT]),
        *(raw(refusal(a, p)) for p in poisons),
        *hostile,
        raw(refusal(a, "ok:last")),
    )

    assert await harness.until_applied("ok:first", "ok:last") == ["ok:first", "ok:last"]
    dead = await harness.dead(len(poisons) + len(hostile))

    assert all(harness.calls[p] == 1 for p in poisons)  # poison is never retried
    reasons = [header(d, "x-dlq-reason") or "" for d in dead]
    assert reasons[0] == "RuntimeError: a bug no code path anticipates"
    assert reasons[1].startswith("OverflowError: ")
    assert reasons[2].startswith("ValidationError: payload.reason: String should have at most 500 characters")
    assert reasons[3] == "inapplicable : demande inconnue"
    assert "'x'" in reasons[4] and "UTF-8" in reasons[4]
    assert "'x'" in reasons[5] and "null" in reasons[5]
    assert "tombstone" in reasons[6]
    assert "JSON" in reasons[7] or "EOF" in reasons[7]
    assert "perception.guarantee_lost" in reasons[8]
    # The dead letters keep the originals byte for byte: value, key and headers as they came.
    assert [d.value for d in dead[4:]] == [value for value, _ in hostile]
    assert list(dead[4].headers)[:2] == BAD_HEADER and list(dead[5].headers)[:1] == NULL_HEADER
    assert {d.key for d in dead} == {a.encode()}
    assert {header(d, "x-dlq-original-topic") for d in dead} == {harness.topic.name}
    # Each dead letter is logged with the consumer and where the record was; nothing was retried.
    letters = logs.named("message dead-lettered", consumer="poison-test", topic=harness.topic.name, partition=0)
    assert sorted(r.offset for r in letters) == sorted(int(header(d, "x-dlq-original-offset") or -1) for d in dead)
    assert not logs.named("consumer retry")
    assert [r.reason for r in logs.named("poison message")] == reasons[:3]  # the bugs, with where they broke
    assert all("test_consumer_poison.py" in r.where for r in logs.named("poison message"))


async def test_a_batch_without_poison_takes_no_savepoint_and_one_with_poison_keeps_the_others(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A savepoint per message is two round trips each: a batch is applied without them, and only
    a batch that meets a poison is rolled back and applied again message by message."""
    statements: list[str] = []
    execute = asyncpg.Connection.execute

    async def observed(self: asyncpg.Connection, query: str, *args: Any, **kwargs: Any) -> str:
        statements.append(query)
        return await execute(self, query, *args, **kwargs)

    monkeypatch.setattr(asyncpg.Connection, "execute", observed)
    a = harness.affiliate
    await harness.send(*(raw(refusal(a, f"ok:{n}")) for n in range(5)))
    assert await harness.until_applied(*(f"ok:{n}" for n in range(5))) == [f"ok:{n}" for n in range(5)]
    assert not [s for s in statements if s.startswith("SAVEPOINT")]
    assert sum(1 for s in statements if s.startswith("INSERT INTO applied")) == 5

    await harness.send(raw(refusal(a, "ok:before")), raw(refusal(a, "RuntimeError")), raw(refusal(a, "ok:after")))
    [dead] = await harness.dead(1)
    assert await harness.until_applied("ok:before", "ok:after") == [f"ok:{n}" for n in range(5)] + [
        "ok:before",
        "ok:after",
    ]  # each once: the first attempt's rows were rolled back
    assert header(dead, "x-dlq-reason") == "RuntimeError: a bug no code path anticipates"
    assert harness.calls["RuntimeError"] == 1  # found by the first attempt, not called again


async def test_a_transient_failure_is_retried_with_a_growing_pause_and_applied_once(
    harness: Harness, logs: Captured
) -> None:
    a = harness.affiliate
    await harness.send(raw(refusal(a, "flaky")), raw(refusal(a, "killed")), raw(refusal(a, "ok")))

    assert await harness.until_applied("flaky", "killed", "ok") == ["flaky", "killed", "ok"]  # each once, in order
    # flaky fails twice; when killed fails in the same batch, flaky's effect rolls back with it
    assert harness.calls["flaky"] in (3, 4) and harness.calls["killed"] == 2
    retries = logs.named("consumer retry", consumer="poison-test", topic=harness.topic.name, partition=0)
    assert [r.attempt for r in retries] == [1, 2, 1]
    assert [r.retry_in_s for r in retries][:2] == [0.25, 0.5]
    assert all(r.transient for r in retries)
    assert retries[0].reason == "ConnectionResetError: connection reset by peer"
    assert await nothing_on(harness.infra.bootstrap, harness.topic.dlq)


async def test_a_transient_error_that_always_recurs_on_one_record_is_dead_lettered_after_the_cap(
    harness: Harness, logs: Captured
) -> None:
    a = harness.affiliate
    await harness.send(raw(refusal(a, "timeout")), raw(refusal(a, "ok:after")))

    assert await harness.until_applied("ok:after") == ["ok:after"]
    [dead] = await harness.dead(1)

    assert harness.calls["timeout"] == MAX_ATTEMPTS
    reason = f"abandonné après {MAX_ATTEMPTS} tentatives : TimeoutError: always on this record"
    assert header(dead, "x-dlq-reason") == reason
    offset = int(header(dead, "x-dlq-original-offset") or -1)
    retries = logs.named("consumer retry", consumer="poison-test", topic=harness.topic.name, offset=offset)
    assert [r.attempt for r in retries] == [1, 2, 3]
    assert [r.retry_in_s for r in retries] == [0.25, 0.5, 1.0]


async def test_an_outage_delays_a_record_however_long_it_lasts_and_never_dead_letters_it(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, logs: Captured
) -> None:
    """While the probe finds the database away, failures are not charged to the record."""
    real_probe = consumer.platform_up

    async def probe(platform: Platform) -> bool:
        return False if harness.outage else await real_probe(platform)

    monkeypatch.setattr(consumer, "platform_up", probe)
    harness.outage = True
    await harness.send(raw(refusal(harness.affiliate, "ok:delayed")))

    assert await harness.until_applied("ok:delayed") == ["ok:delayed"]
    assert harness.calls["ok:delayed"] == MAX_ATTEMPTS + 2
    retries = logs.named("consumer retry")
    assert [r.getMessage() for r in retries] == ["consumer retry: database or broker unavailable"] * (MAX_ATTEMPTS + 1)
    assert {r.attempt for r in retries} == {None}
    assert await nothing_on(harness.infra.bootstrap, harness.topic.dlq)


async def test_a_failing_bulk_group_is_applied_one_by_one_and_the_record_to_blame_is_found(
    bulk_harness: Harness, logs: Captured
) -> None:
    h = bulk_harness
    await h.send(
        raw(refusal(h.affiliate, "ok:1")), raw(refusal(h.affiliate, "timeout")), raw(refusal(h.affiliate, "ok:2"))
    )

    assert await h.until_applied("ok:1", "ok:2") == ["ok:1", "ok:2"]
    [dead] = await h.dead(1)

    assert json.loads(dead.value or b"{}")["payload"]["reason"] == "timeout"
    assert (header(dead, "x-dlq-reason") or "").startswith(f"abandonné après {MAX_ATTEMPTS} tentatives : TimeoutError")
    # the group's failure could not be pinned on a record (nothing charged), each message alone could
    assert [r.attempt for r in logs.named("consumer retry")] == [None, 1, 2, 3]


async def test_a_dead_letter_replayed_once_its_cause_is_fixed_is_applied(harness: Harness) -> None:
    message = refusal(harness.affiliate, "Unapplicable")
    await harness.send(raw(message))
    [dead] = await harness.dead(1)

    harness.fixed = True
    original_headers = [(k, v) for k, v in dead.headers if not k.startswith("x-dlq-")]
    await harness.send((dead.value, original_headers))  # the same event id: the inbox did not keep it

    assert await harness.until_applied("Unapplicable") == ["Unapplicable"]


def charge(affiliate: str, period: str, entry_id: str | None = None) -> ChargeBooked:
    return messages.charge(affiliate, period, entry_id=entry_id, at=NOW)


@pytest.fixture
async def debt(infra: Infra, database: str) -> AsyncIterator[str]:
    settings = DebtSettings(
        database_url=database,
        kafka_bootstrap_servers=infra.bootstrap,
        kafka_group_id=f"debt-{uuid.uuid4().hex[:8]}",
        token_public_key_file=infra.public_key,
        consumer_max_attempts=MAX_ATTEMPTS,
    )
    async with running(create_debt(settings, FrozenClock(NOW))):
        yield database


async def ledger_periods(database: str, affiliate: str) -> list[str]:
    conn = await asyncpg.connect(database)
    try:
        rows = await conn.fetch("SELECT period FROM ledger_entry WHERE affiliate = $1 ORDER BY period", affiliate)
        return [r["period"] for r in rows]
    finally:
        await conn.close()


async def test_debt_ledger_dead_letters_unreadable_records_and_applies_the_next(debt: str, infra: Infra) -> None:
    a = new_affiliate()
    hostile = unreadable(raw(charge(a, "2021-05"))[0] or b"")
    await produce(infra.bootstrap, DEBT_LEDGER.name, a, [*hostile, raw(charge(a, "2021-06"))])

    async def applied() -> list[str] | None:
        return await ledger_periods(debt, a) or None

    assert await eventually(applied) == ["2021-06"]
    dead = await read_topic(infra.bootstrap, DEBT_LEDGER.dlq, lambda r: len(r) >= len(hostile), key=a)
    assert [d.value for d in dead] == [value for value, _ in hostile]
    assert list(dead[0].headers)[:2] == BAD_HEADER and list(dead[1].headers)[:1] == NULL_HEADER
    reasons = [header(d, "x-dlq-reason") or "" for d in dead]
    assert "UTF-8" in reasons[0] and "null" in reasons[1] and "tombstone" in reasons[2]
    assert {header(d, "x-dlq-consumer") for d in dead} == {"debt"}


async def test_debt_ledger_finds_the_entry_a_transient_error_recurs_on_and_dead_letters_it(
    infra: Infra, database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = new_affiliate()
    cursed = f"CURSED-{uuid.uuid4().hex[:8]}"
    real = apply_ledger_batch

    async def apply(conn: asyncpg.Connection, entries: Any, *args: Any, **kwargs: Any) -> Any:
        if any(e.payload.entry_id == cursed for e in entries):
            raise TimeoutError("canceling statement due to statement timeout")
        return await real(conn, entries, *args, **kwargs)

    monkeypatch.setattr(debt_subscribers, "apply_ledger_batch", apply)
    settings = DebtSettings(
        database_url=database,
        kafka_bootstrap_servers=infra.bootstrap,
        kafka_group_id=f"debt-{uuid.uuid4().hex[:8]}",
        token_public_key_file=infra.public_key,
        consumer_max_attempts=MAX_ATTEMPTS,
    )
    entries = [charge(a, "2021-07"), charge(a, "2021-08", entry_id=cursed), charge(a, "2021-09")]
    await produce(infra.bootstrap, DEBT_LEDGER.name, a, [raw(e) for e in entries])
    async with running(create_debt(settings, FrozenClock(NOW))):

        async def applied() -> list[str] | None:
            periods = await ledger_periods(database, a)
            return periods if len(periods) == 2 else None

        assert await eventually(applied, timeout=30) == ["2021-07", "2021-09"]
        [dead] = await read_topic(infra.bootstrap, DEBT_LEDGER.dlq, bool, key=a, timeout=30)
    assert json.loads(dead.value or b"{}")["payload"]["entry_id"] == cursed
    assert header(dead, "x-dlq-reason") == (
        f"abandonné après {MAX_ATTEMPTS} tentatives : TimeoutError: canceling statement due to statement timeout"
    )


def guarantee_required(affiliate: str) -> GuaranteeRequired:
    return messages.guarantee_required(affiliate, at=NOW)


async def test_the_reference_perception_dead_letters_unreadable_requests_and_answers_the_next(infra: Infra) -> None:
    a = new_affiliate()
    settings = PerceptionSettings(
        kafka_bootstrap_servers=infra.bootstrap,
        kafka_group_id=f"perception-{uuid.uuid4().hex[:8]}",
        default_outcome="deposit",
        consumer_max_attempts=MAX_ATTEMPTS,
    )
    hostile = unreadable(raw(guarantee_required(a))[0] or b"")
    request = guarantee_required(a)
    async with running(create_perception(settings)):
        await produce(infra.bootstrap, guarantee_requests("CAS-01").name, a, [*hostile, raw(request)])
        receipt, answer = await read_topic(
            infra.bootstrap, PERCEPTION_GUARANTEES.name, lambda r: len(r) >= 2, key=a, timeout=30
        )
        dead = await read_topic(
            infra.bootstrap, guarantee_requests("CAS-01").dlq, lambda r: len(r) >= len(hostile), key=a
        )
    for message, kind in (
        (receipt, "perception.guarantee_request_received"),
        (answer, "perception.guarantee_deposited"),
    ):
        body = json.loads(message.value or b"{}")  # the acknowledgement, then the answer: nothing else
        assert (body["type"], body["payload"]["request_id"]) == (kind, str(request.payload.request_id))
    assert [d.value for d in dead] == [value for value, _ in hostile]
    assert list(dead[0].headers)[:2] == BAD_HEADER and list(dead[1].headers)[:1] == NULL_HEADER
    reasons = [header(d, "x-dlq-reason") or "" for d in dead]
    assert "UTF-8" in reasons[0] and "null" in reasons[1] and "tombstone" in reasons[2]
    assert "JSON" in reasons[3] and "perception.guarantee_lost" in reasons[4]
