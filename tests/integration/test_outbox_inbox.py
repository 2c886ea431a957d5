"""The outbox relay and the inbox against a real Postgres and a real broker."""

import asyncio
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from opentelemetry import trace
from typer.testing import CliRunner

from contracts.auth import AccountImported, LoginSucceeded
from contracts.topics import AUTH_EVENTS
from services import cli
from services.runtime import inbox
from services.runtime.db import RUNTIME_MIGRATIONS, create_pool, migrate
from services.runtime.delivered import DeliveredLookup
from services.runtime.faults import CrashPoints
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


async def relayed(pool: asyncpg.Pool, relay: OutboxRelay, infra: Infra, key: str, count: int) -> list[Any]:
    """Runs ``relay`` until ``count`` records of ``key`` are on the auth topic and the outbox is empty."""
    await relay.start()
    try:
        records = await read_topic(infra.bootstrap, AUTH_EVENTS.name, lambda r: len(r) >= count, key=key)
        await eventually(lambda: outbox_is_empty(pool))
    finally:
        await relay.stop()
    return list(records)


@pytest.fixture
async def pool(database: str) -> Any:
    pool = await create_pool(database, size=4)
    async with pool.acquire() as conn:
        await migrate(conn, [])
    yield pool
    await pool.close()


@pytest.fixture
def lookup(infra: Infra) -> DeliveredLookup:
    """What the services' relays use: a group-less consumer reading the tails of topics."""
    return DeliveredLookup(
        lambda: AIOKafkaConsumer(bootstrap_servers=infra.bootstrap, enable_auto_commit=False, fetch_max_wait_ms=50)
    )


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
    pool: asyncpg.Pool, producer: AIOKafkaProducer, infra: Infra, database: str, lookup: DeliveredLookup
) -> None:
    setup_tracing("test", None)
    login = f"outbox.{uuid.uuid4().hex[:8]}"
    event = login_event(login)
    with trace.get_tracer("test").start_as_current_span("change") as span:
        trace_id = f"{span.get_span_context().trace_id:032x}"
        async with pool.acquire() as conn, conn.transaction():
            await enqueue(conn, AUTH_EVENTS.name, login, event)
    [record] = await relayed(pool, OutboxRelay(pool, producer, connect_to(database), lookup), infra, login, 1)
    assert json.loads(record.value)["event_id"] == str(event.event_id)
    assert header(record, "event-id") == str(event.event_id)  # what a later relay looks for
    traceparent = header(record, "traceparent")
    assert traceparent is not None and traceparent.split("-")[1] == trace_id


async def test_events_written_in_one_trace_are_published_under_one_span_of_it(
    pool: asyncpg.Pool, producer: AIOKafkaProducer, infra: Infra, database: str, lookup: DeliveredLookup
) -> None:
    """A debit run's page writes a thousand events in one trace: one PRODUCER span for them all (per
    topic), not one each, and each message still names that trace (services/runtime/publish_spans.py)."""
    setup_tracing("test", None)
    login = f"onespan.{uuid.uuid4().hex[:8]}"
    events = [login_event(login) for _ in range(3)]
    with trace.get_tracer("test").start_as_current_span("page") as span:
        trace_id = f"{span.get_span_context().trace_id:032x}"
        page_span = f"{span.get_span_context().span_id:016x}"
        async with pool.acquire() as conn, conn.transaction():
            for event in events:
                await enqueue(conn, AUTH_EVENTS.name, login, event)
    records = await relayed(pool, OutboxRelay(pool, producer, connect_to(database), lookup), infra, login, 3)
    assert [json.loads(r.value)["event_id"] for r in records] == [str(e.event_id) for e in events]
    parents = {header(r, "traceparent") for r in records}
    assert len(parents) == 1  # one publish span: each event had its own before
    [traceparent] = parents
    assert traceparent is not None and traceparent.split("-")[1] == trace_id
    assert traceparent.split("-")[2] != page_span  # the relay's span, child of the page's


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
    pool: asyncpg.Pool, producer: AIOKafkaProducer, infra: Infra, database: str, lookup: DeliveredLookup
) -> None:
    login = f"flaky.{uuid.uuid4().hex[:8]}"
    events = [login_event(login) for _ in range(3)]
    async with pool.acquire() as conn, conn.transaction():
        for event in events:
            await enqueue(conn, AUTH_EVENTS.name, login, event)
    relay = OutboxRelay(pool, FlakyProducer(producer, failures=2), connect_to(database), lookup, max_backoff=0.2)  # type: ignore[arg-type]
    await relay.start()
    try:
        records = await read_topic(infra.bootstrap, AUTH_EVENTS.name, lambda r: len(r) >= 3, key=login)
        await eventually(lambda: outbox_is_empty(pool))
    finally:
        await relay.stop()
    # The first event left before the outage; the others follow it, in order, each once.
    assert [json.loads(r.value)["event_id"] for r in records] == [str(e.event_id) for e in events]


async def test_only_one_relay_leads(
    pool: asyncpg.Pool, producer: AIOKafkaProducer, infra: Infra, database: str, lookup: DeliveredLookup
) -> None:
    login = f"leader.{uuid.uuid4().hex[:8]}"
    relays = [OutboxRelay(pool, producer, connect_to(database), lookup, poll_interval=0.1) for _ in range(2)]
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


async def test_an_event_the_broker_will_never_take_is_parked_its_key_waits_and_the_others_go_out(
    pool: asyncpg.Pool, infra: Infra, database: str, lookup: DeliveredLookup
) -> None:
    login, other = f"parked.{uuid.uuid4().hex[:8]}", f"other.{uuid.uuid4().hex[:8]}"
    small, after, elsewhere = login_event(login), login_event(login), login_event(other)
    huge = AccountImported.build(
        {"account_id": "a", "login": login, "affiliates": [f"{n:07d}" for n in range(2000)]},
        producer="test",
        occurred_at=datetime.now(UTC),
    )
    async with pool.acquire() as conn, conn.transaction():
        await enqueue(conn, AUTH_EVENTS.name, login, small)
        await enqueue(conn, AUTH_EVENTS.name, login, huge)
        await enqueue(conn, AUTH_EVENTS.name, login, after)
        await enqueue(conn, AUTH_EVENTS.name, other, elsewhere)
    # A producer whose request limit the middle event exceeds, as a broker's message limit would.
    limit = len(small.model_dump_json()) + 2000
    producer = AIOKafkaProducer(bootstrap_servers=infra.bootstrap, max_request_size=limit)
    await producer.start()
    relay = OutboxRelay(pool, producer, connect_to(database), lookup)
    await relay.start()
    try:
        mine = await read_topic(infra.bootstrap, AUTH_EVENTS.name, lambda r: len(r) >= 1, key=login)
        others = await read_topic(infra.bootstrap, AUTH_EVENTS.name, lambda r: len(r) >= 1, key=other)
        async with pool.acquire() as conn:
            parked = await conn.fetchrow("SELECT id, event_id, reason FROM outbox_parked")
            waiting = await conn.fetch("SELECT event_id FROM outbox")
    finally:
        await relay.stop()
        await producer.stop()
    # The key's first event left; the one behind the parked event waits for it (an affiliate's
    # events keep their order); another key's event is not held up.
    assert [json.loads(r.value)["event_id"] for r in mine] == [str(small.event_id)]
    assert [json.loads(r.value)["event_id"] for r in others] == [str(elsewhere.event_id)]
    assert parked["event_id"] == huge.event_id
    assert "MessageSizeTooLarge" in parked["reason"]
    assert [r["event_id"] for r in waiting] == [after.event_id]

    # The operator sees it, and what waits behind it, then discards it: the event behind it leaves.
    listed = await operator(["outbox", "parked", "--database-url", database])
    assert listed.exit_code == 0, listed.output
    assert f"clé {login}" in listed.output and "1 en attente derrière" in listed.output
    assert "1 événement garé" in listed.output
    parked_id = str(parked["id"])
    discarded = await operator(["outbox", "discard", parked_id, "--why", "trop grand", "--database-url", database])
    assert discarded.exit_code == 0 and "1 événement abandonné" in discarded.output
    async with AIOKafkaProducer(bootstrap_servers=infra.bootstrap) as ordinary:
        relay = OutboxRelay(pool, ordinary, connect_to(database), lookup)
        assert await relay.publish_pending() == 1
    assert await event_ids_on(infra, login, 2) == [str(small.event_id), str(after.event_id)]


async def test_a_requeued_event_leaves_before_the_events_that_waited_behind_it(
    pool: asyncpg.Pool, producer: AIOKafkaProducer, infra: Infra, database: str, lookup: DeliveredLookup
) -> None:
    login = f"requeue.{uuid.uuid4().hex[:8]}"
    first, second, third = (login_event(login) for _ in range(3))
    async with pool.acquire() as conn, conn.transaction():
        for event in (first, second, third):
            await enqueue(conn, AUTH_EVENTS.name, login, event)
    # The first one refused for good (a topic the broker did not have yet, say): parked as the relay parks.
    async with pool.acquire() as conn:
        first_id = await conn.fetchval("SELECT min(id) FROM outbox")
        await conn.execute(
            "WITH moved AS (DELETE FROM outbox WHERE id = $1 RETURNING *) INSERT INTO outbox_parked "
            "(id, event_id, topic, key, event_type, body, created_at, reason) SELECT id, event_id, topic, key, "
            "event_type, body, created_at, 'refusé' FROM moved",
            first_id,
        )
    relay = OutboxRelay(pool, producer, connect_to(database), lookup)
    assert await relay.publish_pending() == 0  # the two behind it wait
    requeued = await operator(["outbox", "requeue", str(first_id), "--database-url", database])
    assert requeued.exit_code == 0 and "1 événement remis" in requeued.output, requeued.output
    while await relay.publish_pending():
        pass
    assert await event_ids_on(infra, login, 3) == [str(e.event_id) for e in (first, second, third)]


async def test_an_event_for_a_topic_outside_the_catalogue_is_parked_not_sent(
    pool: asyncpg.Pool, producer: AIOKafkaProducer, infra: Infra, database: str, lookup: DeliveredLookup
) -> None:
    """A broker that creates topics on first use (Tansu) would take it where nobody reads."""
    login = f"unknown.{uuid.uuid4().hex[:8]}"
    stray, fine = login_event(login), login_event(login)
    stray_topic = f"debits.orders.{uuid.uuid4().hex[:3]}x.v1"
    async with pool.acquire() as conn, conn.transaction():
        await enqueue(conn, stray_topic, login, stray)
        await enqueue(conn, AUTH_EVENTS.name, login, fine)
    relay = OutboxRelay(pool, producer, connect_to(database), lookup, known_topics=frozenset({AUTH_EVENTS.name}))
    assert await relay.publish_pending() == 2
    async with pool.acquire() as conn:
        parked = await conn.fetchrow("SELECT event_id, topic, reason FROM outbox_parked")
        assert await conn.fetchval("SELECT count(*) FROM outbox") == 0
    assert parked["event_id"] == stray.event_id
    assert "catalogue" in parked["reason"]
    records = await read_topic(infra.bootstrap, AUTH_EVENTS.name, lambda r: len(r) >= 1, key=login)
    assert [json.loads(r.value)["event_id"] for r in records] == [str(fine.event_id)]


async def operator(args: list[str]) -> Any:
    """``recouvrement`` as an operator types it (its own event loop, in a thread)."""
    return await asyncio.to_thread(CliRunner().invoke, cli.app, args)


class Crashed(Exception):
    """The relay 'died' at a crash point (in-process: the test goes on with a new relay)."""


def crash(point: str) -> None:
    raise Crashed(point)


async def event_ids_on(infra: Infra, key: str, at_least: int) -> list[str]:
    records = await read_topic(infra.bootstrap, AUTH_EVENTS.name, lambda r: len(r) >= at_least, key=key)
    return [json.loads(r.value)["event_id"] for r in records]


@pytest.mark.parametrize("point", ["outbox.acknowledged", "outbox.sent", "outbox.handed"])
async def test_a_batch_interrupted_anywhere_reaches_the_broker_exactly_once(
    pool: asyncpg.Pool, producer: AIOKafkaProducer, infra: Infra, database: str, lookup: DeliveredLookup, point: str
) -> None:
    login = f"crash.{uuid.uuid4().hex[:8]}"
    events = [login_event(login) for _ in range(30)]
    async with pool.acquire() as conn, conn.transaction():
        for event in events:
            await enqueue(conn, AUTH_EVENTS.name, login, event)
    dying = OutboxRelay(pool, producer, connect_to(database), lookup, crash_points=CrashPoints(f"{point}:1", crash))
    with pytest.raises(Crashed):
        await dying.publish_pending()
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM outbox WHERE handed_at IS NOT NULL") == 30
    await producer.flush()  # what the dead relay handed to the producer reaches the broker, or not

    successor = OutboxRelay(pool, producer, connect_to(database), lookup)
    while await successor.publish_pending():
        pass
    assert await outbox_is_empty(pool)
    on_broker = await event_ids_on(infra, login, 30)
    assert on_broker == [str(e.event_id) for e in events]  # each once, in order
    if point == "outbox.acknowledged":
        assert (successor.found_on_broker, successor.published) == (30, 0)
    if point == "outbox.handed":
        assert (successor.found_on_broker, successor.published) == (0, 30)


async def test_only_the_rows_the_broker_lacks_are_sent_again(
    pool: asyncpg.Pool, producer: AIOKafkaProducer, infra: Infra, database: str, lookup: DeliveredLookup
) -> None:
    """Rows handed over before, half of which the broker holds (sent by the relay that died)."""
    login = f"half.{uuid.uuid4().hex[:8]}"
    events = [login_event(login) for _ in range(10)]
    async with pool.acquire() as conn, conn.transaction():
        for event in events:
            await enqueue(conn, AUTH_EVENTS.name, login, event)
        await conn.execute("UPDATE outbox SET handed_at = now()")
    for event in events[::2]:  # what the dead relay's batch had delivered
        await producer.send_and_wait(
            AUTH_EVENTS.name, event.model_dump_json().encode(), key=login.encode(), headers=[("event-id", b"")]
        )
    relay = OutboxRelay(pool, producer, connect_to(database), lookup)
    assert await relay.publish_pending() == 10
    assert (relay.found_on_broker, relay.published) == (5, 5)
    on_broker = await event_ids_on(infra, login, 10)
    assert sorted(on_broker) == sorted(str(e.event_id) for e in events)
    assert len(on_broker) == 10


async def test_any_statement_adding_outbox_rows_wakes_the_relay_at_its_commit_and_only_then(
    pool: asyncpg.Pool, database: str
) -> None:
    """The wake-up is the table's (a trigger), not each writer's ``SELECT pg_notify`` round trip: a
    statement of a service's own (simulation writes its quote and its event in one) wakes it too."""
    woken: asyncio.Queue[str] = asyncio.Queue()
    listener = await asyncpg.connect(database)
    await listener.add_listener("outbox", lambda *args: woken.put_nowait(args[2]))
    try:
        async with pool.acquire() as conn:
            async with conn.transaction():
                await conn.execute(
                    "INSERT INTO outbox (event_id, topic, key, event_type, body) VALUES ($1, $2, $3, $4, $5)",
                    uuid.uuid4(),
                    AUTH_EVENTS.name,
                    "k",
                    "auth.login_succeeded",
                    b"{}",
                )
                await asyncio.sleep(0.3)
                assert woken.empty()  # not before the commit: the relay would find nothing yet
            assert await asyncio.wait_for(woken.get(), timeout=5) == "outbox"
            statements: list[str] = []
            conn.add_query_logger(lambda logged: statements.append(logged.query))
            async with conn.transaction():
                await enqueue(conn, AUTH_EVENTS.name, "k", login_event("x"))
            assert await asyncio.wait_for(woken.get(), timeout=5) == "outbox"
            assert not [s for s in statements if "pg_notify" in s]  # one statement: the insert
            await conn.execute("DELETE FROM outbox")
    finally:
        await listener.close()
