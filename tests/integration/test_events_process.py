"""A service as two processes: one serves HTTP and consumes nothing (``CONSUME_EVENTS=false``), the
other consumes its topics; in one process a handler's every await queued behind the HTTP requests
(issue 14: the perception's answers waited 19 s p50 in the flow bench, 0.4 s split)."""

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from contracts.perception import GuaranteeRefused, PerceptionEvent
from contracts.topics import Topic
from services.runtime.clock import FrozenClock
from services.runtime.consumer import Route, subscribe_all
from services.runtime.platform import Platform
from services.runtime.settings import ServiceSettings
from services.runtime.telemetry import setup_tracing
from tests.conftest import Infra
from tests.support import eventually

pytestmark = pytest.mark.integration

NOW = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)


@asynccontextmanager
async def process(
    name: str, topic: Topic[Any], database: str, infra: Infra, group: str, *, consume: bool
) -> AsyncIterator[Platform]:
    settings = ServiceSettings(
        service_name="split-test",
        database_url=database,
        kafka_bootstrap_servers=infra.bootstrap,
        kafka_group_id=group,
        consume_events=consume,
    )
    platform = Platform.create(settings, FrozenClock(NOW), setup_tracing("split-test", None))

    async def handle(conn: asyncpg.Connection, event: Any) -> None:
        await conn.execute("INSERT INTO applied (process, reason) VALUES ($1, $2)", name, event.payload.reason)

    subscribe_all(platform.broker, platform, [Route(topic, handle)], consumer="split-test")
    await platform.start([])
    try:
        yield platform
    finally:
        await platform.stop()


async def test_the_http_only_process_leaves_every_message_to_the_consuming_one(infra: Infra, database: str) -> None:
    name = f"test.split.{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=infra.bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(n, 2, 1) for n in (name, name + ".dlq")])
    finally:
        await admin.close()
    topic = Topic(name, "affiliate", ("test",), ("test",), PerceptionEvent, "split tests", partitions=2)
    conn = await asyncpg.connect(database)
    await conn.execute("CREATE TABLE applied (process text NOT NULL, reason text PRIMARY KEY)")
    group = f"split-{uuid.uuid4().hex[:8]}"
    producer = AIOKafkaProducer(bootstrap_servers=infra.bootstrap)
    await producer.start()
    try:
        async with (
            process("http", topic, database, infra, group, consume=False) as http,
            process("events", topic, database, infra, group, consume=True) as events,
        ):
            assert http.consumers() == []  # joined no group: took no partition from the consuming process
            assert len(events.consumers()) == 1
            for n in range(10):
                event = GuaranteeRefused.build(
                    {
                        "request_id": uuid.uuid4(),
                        "affiliate": f"{1000000 + n}",
                        "perception": "CAS-01",
                        "reason": f"m{n}",
                        "refused_at": NOW,
                    },
                    producer="test",
                    occurred_at=NOW,
                )
                await producer.send_and_wait(
                    name, event.model_dump_json().encode(), key=event.payload.affiliate.encode()
                )

            async def all_applied() -> bool:
                return int(await conn.fetchval("SELECT count(*) FROM applied")) == 10

            await eventually(all_applied, timeout=30)
            assert await conn.fetch("SELECT DISTINCT process FROM applied") == [("events",)]
            assert await http.database_ready()  # and it still serves what needs the database
            assert await http.dependencies() == {"broker": True, "outbox_relay": True}
    finally:
        await producer.stop()
        await conn.close()
