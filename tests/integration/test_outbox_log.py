"""The outbox as a replayable log, against a real Postgres and real brokers.

A broker that loses what it was given (a memory-only Tansu restarted, here for real: the process is
killed and a new one starts on the same port) gets back, from the service's log, every event it
held, with the same event ids; an operator replays a window from the command line.
"""

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from typer.testing import CliRunner

from contracts.auth import LoginPayload, LoginSucceeded
from contracts.topics import AUTH_AFFILIATES, AUTH_EVENTS, PLATFORM_EPOCHS
from services import cli
from services.runtime.db import create_pool, migrate
from services.runtime.delivered import DeliveredLookup
from services.runtime.epochs import BrokerWatch
from services.runtime.outbox import OutboxRelay, enqueue
from services.runtime.outbox_log import ReplayPolicy
from services.stack.embedded import EmbeddedBroker, free_port
from services.stack.launcher import Child, Stack, StackConfig
from services.stack.provisioning import provision_topics
from tests.conftest import Infra
from tests.support import RestartableBroker, eventually, partitions_of, read_to_end, read_topic

pytestmark = pytest.mark.integration


def login_event(login: str) -> LoginSucceeded:
    return LoginSucceeded.build(
        LoginPayload(login=login, account_id=None), producer="test", occurred_at=datetime.now(UTC)
    )


def event_ids(records: list[Any]) -> list[str]:
    return [json.loads(r.value)["event_id"] for r in records]


@pytest.fixture
async def pool(database: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(database, size=4)
    async with pool.acquire() as conn:
        await migrate(conn, [])
    yield pool
    await pool.close()


@pytest.fixture
async def own_broker(tmp_path: Path) -> AsyncIterator[RestartableBroker]:
    broker = RestartableBroker(tmp_path)
    await broker.start()
    yield broker
    broker.broker.stop()


def reader_on(bootstrap: str) -> Any:
    return lambda: AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=50)


def lookup_on(bootstrap: str) -> DeliveredLookup:
    return DeliveredLookup(
        lambda: AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=50)
    )


@contextlib.asynccontextmanager
async def relay_on(
    bootstrap: str, pool: asyncpg.Pool, database: str, watched: ReplayPolicy | None = None, every_s: float = 0.3
) -> AsyncIterator[tuple[OutboxRelay, BrokerWatch | None]]:
    """A relay as a service runs it (with a broker watch, looking every ``every_s``, when ``watched``
    says what to replay)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    watch = BrokerWatch("auth", producer, reader_on(bootstrap), watched, every_s) if watched is not None else None
    relay = OutboxRelay(
        pool, producer, lambda: asyncpg.connect(database), lookup_on(bootstrap), watch=watch, max_backoff=0.5
    )
    await relay.start()
    try:
        yield relay, watch
    finally:
        await relay.stop()
        await producer.stop()


async def enqueue_logins(pool: asyncpg.Pool, login: str, count: int) -> list[LoginSucceeded]:
    events = [login_event(login) for _ in range(count)]
    async with pool.acquire() as conn, conn.transaction():
        for event in events:
            await enqueue(conn, AUTH_EVENTS.name, login, event)
    return events


async def drained(pool: asyncpg.Pool) -> bool:
    async with pool.acquire() as conn:
        return bool(await conn.fetchval("SELECT count(*) = 0 FROM outbox"))


async def test_a_published_event_is_logged_where_the_broker_put_it_and_an_operator_replays_it(
    pool: asyncpg.Pool, infra: Infra, database: str
) -> None:
    login = f"log.{uuid.uuid4().hex[:8]}"
    async with relay_on(infra.bootstrap, pool, database):
        [event] = await enqueue_logins(pool, login, 1)
        [record] = await read_topic(infra.bootstrap, AUTH_EVENTS.name, lambda r: len(r) >= 1, key=login)
        await eventually(lambda: drained(pool))
        async with pool.acquire() as conn:
            logged = await conn.fetchrow('SELECT event_id, partition, "offset", body FROM outbox_log')
        assert (logged["event_id"], logged["partition"], logged["offset"]) == (
            event.event_id,
            record.partition,
            record.offset,
        )
        assert bytes(logged["body"]) == record.value

        # The operator's replay of the window: the same event, the same id, once more on the topic.
        since = (datetime.now(UTC) - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S")
        outcome = await asyncio.to_thread(
            CliRunner().invoke,
            cli.app,
            ["auth", "replay", "--since", since, "--topic", AUTH_EVENTS.name, "--database-url", database],
        )
        assert outcome.exit_code == 0, outcome.output
        assert outcome.output.startswith("1 événement remis dans l'outbox de auth")
        records = await read_topic(infra.bootstrap, AUTH_EVENTS.name, lambda r: len(r) >= 2, key=login)
        assert event_ids(records) == [str(event.event_id)] * 2
        await eventually(lambda: drained(pool))
        async with pool.acquire() as conn:
            assert await conn.fetchval("SELECT count(*) FROM outbox_log") == 1  # the same row, its new place
            assert await conn.fetchval('SELECT "offset" FROM outbox_log') == records[1].offset

        # Nothing written before --since goes again; an unknown topic is refused before anything moves.
        later = (datetime.now(UTC) + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S")
        none = await asyncio.to_thread(
            CliRunner().invoke, cli.app, ["auth", "replay", "--since", later, "--database-url", database]
        )
        assert none.output.startswith("0 événement remis"), none.output
        bad = await asyncio.to_thread(
            CliRunner().invoke,
            cli.app,
            ["auth", "replay", "--since", since, "--topic", "nope.v1", "--database-url", database],
        )
        assert bad.exit_code != 0 and "hors du catalogue" in bad.output


async def test_a_broker_restarted_empty_gets_back_everything_it_held_and_the_state_is_reannounced(
    pool: asyncpg.Pool, own_broker: RestartableBroker, database: str
) -> None:
    """No new event is needed: the service's mark is gone from the new broker, and that is enough."""
    login = f"epoch.{uuid.uuid4().hex[:8]}"
    reannounced: list[int] = []

    async def reannounce(conn: asyncpg.Connection) -> int:
        reannounced.append(1)
        return 0

    async with relay_on(own_broker.bootstrap, pool, database, ReplayPolicy(reannounce=reannounce)) as (_, watch):
        assert watch is not None
        events = await enqueue_logins(pool, login, 3)
        before = await read_topic(own_broker.bootstrap, AUTH_EVENTS.name, lambda r: len(r) >= 3, key=login)
        assert event_ids(before) == [str(e.event_id) for e in events]
        await eventually(lambda: drained(pool))
        marks = await read_to_end(own_broker.bootstrap, PLATFORM_EPOCHS.name, key="auth")
        async with pool.acquire() as conn:
            first_epoch = await conn.fetchval("SELECT epoch FROM broker_epoch")
        assert [json.loads(m.value)["payload"]["epoch"] for m in marks] == [str(first_epoch)]
        assert (watch.losses, reannounced) == (0, [])  # adopting the first broker is no loss

        await own_broker.kill_and_restart()

        after = await read_topic(own_broker.bootstrap, AUTH_EVENTS.name, lambda r: len(r) >= 3, key=login)
        assert event_ids(after) == [str(e.event_id) for e in events]  # same ids, same order
        await eventually(lambda: drained(pool))
        assert (watch.losses, watch.replayed, reannounced) == (1, 3, [1])
        async with pool.acquire() as conn:
            second_epoch = await conn.fetchval("SELECT epoch FROM broker_epoch")
            assert await conn.fetchval('SELECT count(*) FROM outbox_log WHERE "offset" IS NOT NULL') == 3
        assert second_epoch != first_epoch
        # Nothing more: the new broker holds the new mark, so the next checks find it.
        await asyncio.sleep(1.0)
        assert watch.losses == 1
        assert len(await read_to_end(own_broker.bootstrap, AUTH_EVENTS.name, key=login)) == 3

        # And once more: the broker the service adopted after the first loss is lost in its turn.
        await own_broker.kill_and_restart()
        again = await read_topic(own_broker.bootstrap, AUTH_EVENTS.name, lambda r: len(r) >= 3, key=login)
        assert event_ids(again) == [str(e.event_id) for e in events]
        await eventually(lambda: drained(pool))
        assert (watch.losses, watch.replayed, reannounced) == (2, 6, [1, 1])


async def test_a_relay_told_its_broker_was_replaced_looks_at_once_instead_of_at_its_next_check(
    pool: asyncpg.Pool, own_broker: RestartableBroker, database: str
) -> None:
    """What the launcher's SIGUSR1 does (``look_at_broker_now``), with checks an hour apart."""
    login = f"told.{uuid.uuid4().hex[:8]}"
    async with relay_on(own_broker.bootstrap, pool, database, ReplayPolicy(), every_s=3600) as (relay, watch):
        assert watch is not None
        events = await enqueue_logins(pool, login, 3)
        await read_topic(own_broker.bootstrap, AUTH_EVENTS.name, lambda r: len(r) >= 3, key=login)
        await eventually(lambda: drained(pool))

        await own_broker.kill_and_restart()
        await asyncio.sleep(2)
        assert watch.losses == 0  # not told: the next check is an hour away
        assert await read_to_end(own_broker.bootstrap, AUTH_EVENTS.name, key=login) == []

        relay.look_at_broker_now()
        after = await read_topic(own_broker.bootstrap, AUTH_EVENTS.name, lambda r: len(r) >= 3, key=login, timeout=10)
        assert event_ids(after) == [str(e.event_id) for e in events]
        assert (watch.losses, watch.replayed) == (1, 3)


async def test_a_partition_whose_offsets_went_back_has_its_topic_replayed_without_waiting_for_a_check(
    pool: asyncpg.Pool, own_broker: RestartableBroker, database: str
) -> None:
    """Without a watch (or between two checks) the first acknowledgement from the new broker tells."""
    login = f"offsets.{uuid.uuid4().hex[:8]}"
    async with relay_on(own_broker.bootstrap, pool, database) as (relay, _):
        first = await enqueue_logins(pool, login, 3)
        await read_topic(own_broker.bootstrap, AUTH_EVENTS.name, lambda r: len(r) >= 3, key=login)
        await eventually(lambda: drained(pool))

        await own_broker.kill_and_restart()
        [fresh] = await enqueue_logins(pool, login, 1)  # same key, same partition: offset 0 again

        records = await read_topic(own_broker.bootstrap, AUTH_EVENTS.name, lambda r: len(r) >= 4, key=login)
        await eventually(lambda: drained(pool))
        assert event_ids(records) == [str(fresh.event_id), *(str(e.event_id) for e in first)]
        assert relay.topics_lost == 1
        await asyncio.sleep(0.5)
        assert len(await read_to_end(own_broker.bootstrap, AUTH_EVENTS.name, key=login)) == 4  # each once


async def test_what_a_new_broker_took_before_its_topics_were_provisioned_is_sent_again_once_they_are(
    pool: asyncpg.Pool, own_broker: RestartableBroker, database: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The likeliest account of the order the chaos test lost, step by step. The broker restarts
    empty; the launcher is still provisioning when the relay (its epochs topic already there) adopts
    it and replays its log. Tansu makes the event's topic on first use, with 4 partitions, and takes
    the event: on one of them, or (a producer still holding the old broker's metadata) on a partition
    it does not have, where no one can read it. Provisioning remakes the topic with the catalogue's
    partitions, emptying it, and the launcher tells the relay, whose mark is in place: what tells it
    the event is gone is the partition's end, at or before the offset it was given."""
    login = f"window.{uuid.uuid4().hex[:8]}"
    async with relay_on(own_broker.bootstrap, pool, database, ReplayPolicy(), every_s=3600) as (relay, watch):
        assert watch is not None
        [event] = await enqueue_logins(pool, login, 1)
        await read_topic(own_broker.bootstrap, AUTH_EVENTS.name, lambda r: len(r) >= 1, key=login)
        await eventually(lambda: drained(pool))

        await own_broker.kill_and_restart(provisioned=False)
        admin = AIOKafkaAdminClient(bootstrap_servers=own_broker.bootstrap)
        await admin.start()
        try:
            await admin.create_topics([NewTopic(PLATFORM_EPOCHS.name, 1, 1)])
        finally:
            await admin.close()
        relay.look_at_broker_now()

        async def adopted() -> bool:
            return watch.losses == 1 and await drained(pool)

        await eventually(adopted)
        assert watch.replayed == 1
        assert await partitions_of(own_broker.bootstrap, AUTH_EVENTS.name) == {0, 1, 2, 3}  # made by the send

        outcome = await provision_topics(own_broker.bootstrap, remake_misshapen=True)  # as the launcher does
        assert outcome[AUTH_EVENTS.name] == "remade"
        assert await read_to_end(own_broker.bootstrap, AUTH_EVENTS.name, key=login) == []
        assert outcome[AUTH_EVENTS.dlq] == "created"
        relay.look_at_broker_now()

        after = await read_topic(own_broker.bootstrap, AUTH_EVENTS.name, lambda r: len(r) >= 1, key=login, timeout=10)
        assert event_ids(after) == [str(event.event_id)]
        await eventually(lambda: drained(pool))
        assert (watch.losses, relay.topics_lost) == (1, 1)  # the mark stayed: one topic replayed
        [told] = [r for r in caplog.records if r.getMessage() == "the broker lost these topics: their log is replayed"]
        assert (told.topics, told.events_replayed) == ([AUTH_EVENTS.name], 1)  # type: ignore[attr-defined]
        assert told.sign == "a partition is gone or ends before an offset it acknowledged"  # type: ignore[attr-defined]
        await asyncio.sleep(0.5)
        assert len(await read_to_end(own_broker.bootstrap, AUTH_EVENTS.name, key=login)) == 1  # once


async def test_provisioning_reports_a_topic_with_another_shape_and_remakes_it_only_when_told(
    own_broker: RestartableBroker,
) -> None:
    """On a real cluster another partition count is an operator's choice: reported, left alone."""
    await own_broker.kill_and_restart(provisioned=False)
    producer = AIOKafkaProducer(bootstrap_servers=own_broker.bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(AUTH_EVENTS.name, b"{}", key=b"first-use")  # Tansu makes the topic
    finally:
        await producer.stop()

    reported = await provision_topics(own_broker.bootstrap)
    assert reported[AUTH_EVENTS.name] == "exists with 4 partitions"
    assert reported[AUTH_AFFILIATES.name] == "created"
    assert len(await read_to_end(own_broker.bootstrap, AUTH_EVENTS.name)) == 1  # left as it was

    remade = await provision_topics(own_broker.bootstrap, remake_misshapen=True)
    assert remade[AUTH_EVENTS.name] == "remade"
    assert remade[AUTH_AFFILIATES.name] == "exists"
    assert set(remade.values()) == {"exists", "remade"}
    assert await partitions_of(own_broker.bootstrap, AUTH_EVENTS.name) == set(range(AUTH_EVENTS.partitions))


def test_the_launcher_remakes_a_topic_a_client_made_before_it_provisioned_the_restarted_broker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``make run``'s supervisor, its broker killed: a producer reaches the new one first (here, as
    soon as it listens), the launcher remakes the topic it made and says so, then tells the services."""
    stack = Stack(StackConfig(data_dir=tmp_path, kafka_port=free_port(), ports={}))
    stack.broker = EmbeddedBroker(stack.config.kafka_port, tmp_path / "broker.log")
    stack.bootstrap = stack.broker.bootstrap
    stack.children["broker"] = Child()
    start = stack.broker.start

    async def first_use() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap, acks="all")
        await producer.start()
        try:
            await producer.send_and_wait(AUTH_EVENTS.name, b"{}", key=b"before-provisioning")
        finally:
            await producer.stop()

    def start_then_a_client_first() -> None:
        start()
        asyncio.run(first_use())

    start()
    asyncio.run(provision_topics(stack.bootstrap))
    monkeypatch.setattr(stack.broker, "start", start_then_a_client_first)
    said: list[str] = []
    try:
        assert stack.broker.process is not None
        stack.broker.process.kill()
        stack.broker.process.wait(10)
        assert stack.supervise(said.append) == ["broker"]
        assert f"topics créés par un client avant leur provisionnement, refaits : {AUTH_EVENTS.name}" in said
        assert asyncio.run(partitions_of(stack.bootstrap, AUTH_EVENTS.name)) == set(range(AUTH_EVENTS.partitions))
    finally:
        stack.broker.stop()


async def test_a_relay_stopped_as_its_wakeup_fires_stops_at_once(
    pool: asyncpg.Pool, own_broker: RestartableBroker, database: str
) -> None:
    """Python 3.11's ``wait_for`` returns normally when the awaited event is set in the very step its
    cancel arrives: the idle relay's wait for a NOTIFY, woken as it is stopped, went round its loop
    again and ``stop`` waited for ever (CI, 2026-12-07, in the test above). ``stop`` is awaited
    directly, so its cancel lands in the step of the ``set``."""
    async with relay_on(own_broker.bootstrap, pool, database) as (relay, _):
        await asyncio.sleep(0.5)  # idle: waiting for a NOTIFY
        assert relay.running
        relay._wakeup.set()  # a NOTIFY, and the stop's cancel in the same step
        started = time.monotonic()
        async with asyncio.timeout(3):  # a stop that hangs is cancelled here, and that cancel ends the relay
            await relay.stop()
        assert time.monotonic() - started < 1  # before the fix: the 3 s of the timeout
        assert not relay.running
