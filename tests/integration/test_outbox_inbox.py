"""The outbox relay and the inbox against a real Postgres and a real broker."""

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer
from opentelemetry import trace

from contracts.auth import AccountImported, LoginSucceeded
from contracts.topics import AUTH_EVENTS
from services.runtime import inbox
from services.runtime.db import RUNTIME_MIGRATIONS, create_pool, migrate
from services.runtime.outbox import OutboxRelay, enqueue
from services.runtime.telemetry import setup_tracing
from tests.conftest import Infra
from tests.support import eventually, header, read_topic

pytestmark = pytest.mark.integration


def login_event(login: str) -> LoginSucceeded:
    return LoginSucceeded.build({"login": login, "account_id": None}, producer="test", occurred_at=datetime.now(UTC))


def connect_to(dsn: str) -> Any:
    return lambda: asyncpg.connect(dsn)


async def outbox_is_empty(pool: asyncpg.Pool) -> bool:
    async with pool.acquire() as conn:
        return bool(await conn.fetchval("SELECT count(*) = 0 FROM outbox"))


@pytest.fixture
async def pool(database: str) -> Any:
    pool = await create_pool(database, size=4)
    async with pool.acquire() as conn:
        await migrate(conn, [])
    yield pool
    await pool.close()


@pytest.fixture
async def producer(infra: Infra) -> Any:
    producer = AIOKafkaProducer(bootstrap_servers=infra.bootstrap, acks="all")
    await producer.start()
    yield producer
    await producer.stop()


async def test_migrations_apply_once(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        assert await migrate(conn, []) == []
        applied = await conn.fetchval("SELECT count(*) FROM schema_migration WHERE source = 'runtime'")
        assert applied == len(list(RUNTIME_MIGRATIONS.glob("*.sql")))


async def test_committed_event_is_published_with_its_trace_and_removed(
    pool: asyncpg.Pool, producer: AIOKafkaProducer, infra: Infra, database: str
) -> None:
    setup_tracing("test", None)
    login = f"outbox.{uuid.uuid4().hex[:8]}"
    event = login_event(login)
    with trace.get_tracer("test").start_as_current_span("change") as span:
        trace_id = f"{span.get_span_context().trace_id:032x}"
        async with pool.acquire() as conn, conn.transaction():
            await enqueue(conn, AUTH_EVENTS.name, login, event)
    relay = OutboxRelay(pool, producer, connect_to(database))
    await relay.start()
    try:
        records = await read_topic(infra.bootstrap, AUTH_EVENTS.name, lambda r: len(r) >= 1, key=login)
        await eventually(lambda: outbox_is_empty(pool))
    finally:
        await relay.stop()
    [record] = records
    assert json.loads(record.value)["event_id"] == str(event.event_id)
    traceparent = header(record, "traceparent")
    assert traceparent is not None and traceparent.split("-")[1] == trace_id


async def test_rolled_back_change_publishes_nothing(pool: asyncpg.Pool) -> None:
    with pytest.raises(RuntimeError):
        async with pool.acquire() as conn, conn.transaction():
            await enqueue(conn, AUTH_EVENTS.name, "x", login_event("x"))
            raise RuntimeError("the change failed")
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM outbox") == 0


class FlakyProducer:
    """The real producer behind a broker that goes away after the first send, for two tries."""

    def __init__(self, real: AIOKafkaProducer, failures: int) -> None:
        self.real = real
        self.failures = failures
        self.sends = 0

    async def send(self, *args: Any, **kwargs: Any) -> Any:
        self.sends += 1
        if self.sends > 1 and self.failures > 0:
            self.failures -= 1
            raise ConnectionError("broker unavailable")
        return await self.real.send(*args, **kwargs)


async def test_relay_keeps_rows_and_retries_until_the_broker_takes_them(
    pool: asyncpg.Pool, producer: AIOKafkaProducer, infra: Infra, database: str
) -> None:
    login = f"flaky.{uuid.uuid4().hex[:8]}"
    events = [login_event(login) for _ in range(3)]
    async with pool.acquire() as conn, conn.transaction():
        for event in events:
            await enqueue(conn, AUTH_EVENTS.name, login, event)
    relay = OutboxRelay(pool, FlakyProducer(producer, failures=2), connect_to(database), max_backoff=0.2)  # type: ignore[arg-type]
    await relay.start()
    try:
        records = await read_topic(infra.bootstrap, AUTH_EVENTS.name, lambda r: len(r) >= 3, key=login)
        await eventually(lambda: outbox_is_empty(pool))
    finally:
        await relay.stop()
    # The first event left before the outage; the others follow it, in order, each once.
    assert [json.loads(r.value)["event_id"] for r in records] == [str(e.event_id) for e in events]


async def test_only_one_relay_leads(
    pool: asyncpg.Pool, producer: AIOKafkaProducer, infra: Infra, database: str
) -> None:
    login = f"leader.{uuid.uuid4().hex[:8]}"
    relays = [OutboxRelay(pool, producer, connect_to(database), poll_interval=0.1) for _ in range(2)]
    for relay in relays:
        await relay.start()
    try:
        async with pool.acquire() as conn, conn.transaction():
            for _ in range(20):
                await enqueue(conn, AUTH_EVENTS.name, login, login_event(login))
        await read_topic(infra.bootstrap, AUTH_EVENTS.name, lambda r: len(r) >= 20, key=login)
        await eventually(lambda: outbox_is_empty(pool))
    finally:
        for relay in relays:
            await relay.stop()
    assert sorted(relay.published for relay in relays) == [0, 20]


async def test_inbox_claims_each_event_once(pool: asyncpg.Pool) -> None:
    first, second = uuid.uuid4(), uuid.uuid4()
    async with pool.acquire() as conn, conn.transaction():
        assert await inbox.claim(conn, "consumer-a", [first, second]) == {first, second}
    async with pool.acquire() as conn, conn.transaction():
        assert await inbox.claim(conn, "consumer-a", [first, second]) == set()
        assert await inbox.claim(conn, "consumer-b", [first]) == {first}  # each consumer has its own


async def test_inbox_claim_rolls_back_with_the_effect(pool: asyncpg.Pool) -> None:
    event = uuid.uuid4()
    with pytest.raises(RuntimeError):
        async with pool.acquire() as conn, conn.transaction():
            assert await inbox.claim(conn, "consumer-a", [event]) == {event}
            raise RuntimeError("the effect failed")
    async with pool.acquire() as conn, conn.transaction():
        assert await inbox.claim(conn, "consumer-a", [event]) == {event}


async def test_an_event_the_broker_will_never_take_is_parked_and_the_rest_go_out(
    pool: asyncpg.Pool, infra: Infra, database: str
) -> None:
    login = f"parked.{uuid.uuid4().hex[:8]}"
    small, after = login_event(login), login_event(login)
    huge = AccountImported.build(
        {"account_id": "a", "login": login, "affiliates": [f"{n:07d}" for n in range(2000)]},
        producer="test",
        occurred_at=datetime.now(UTC),
    )
    async with pool.acquire() as conn, conn.transaction():
        await enqueue(conn, AUTH_EVENTS.name, login, small)
        await enqueue(conn, AUTH_EVENTS.name, login, huge)
        await enqueue(conn, AUTH_EVENTS.name, login, after)
    # A producer whose request limit the middle event exceeds, as a broker's message limit would.
    limit = len(small.model_dump_json()) + 2000
    producer = AIOKafkaProducer(bootstrap_servers=infra.bootstrap, max_request_size=limit)
    await producer.start()
    relay = OutboxRelay(pool, producer, connect_to(database))
    await relay.start()
    try:
        records = await read_topic(infra.bootstrap, AUTH_EVENTS.name, lambda r: len(r) >= 2, key=login)
        await eventually(lambda: outbox_is_empty(pool))
    finally:
        await relay.stop()
        await producer.stop()
    assert [json.loads(r.value)["event_id"] for r in records] == [str(small.event_id), str(after.event_id)]
    async with pool.acquire() as conn:
        parked = await conn.fetchrow("SELECT event_id, reason FROM outbox_parked")
    assert parked["event_id"] == huge.event_id
    assert "MessageSizeTooLarge" in parked["reason"]
