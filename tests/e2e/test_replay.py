"""Every topic replayed twice, whole, changes nothing: each consumer applies a message once.

The relay sends nothing twice in the first place (``test_debits_crash``); this is the second safety,
for what a broker, a partner or an operator's replay delivers again. On the e2e stack after the
flows before it (demo data, payments, rejections, a default), every record of every topic that a
service or a partner consumes is published again, twice, with its key and headers, and every
service's database is compared, table by table, with what it held before.
"""

import asyncio
import time
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from contracts.topics import BANK_ORDERS, CATALOGUE, GUARANTEE_REQUESTS
from services.stack.provisioning import database_url
from tests.e2e.conftest import RunningStack
from tests.support import eventually

pytestmark = pytest.mark.e2e

SERVICES = ("auth", "debt", "simulation", "requests", "debits", "notifications")
# Bookkeeping, not state: what was claimed, sent or migrated, not what the business knows.
BOOKKEEPING = ("inbox", "outbox", "outbox_parked", "outbox_log", "broker_epoch", "schema_migration")


async def snapshot(stack: RunningStack) -> dict[str, str]:
    """``service.table`` -> a digest of every row, in a stable order."""
    server = stack.env.get("DATABASE_URL") or f"postgresql://postgres@127.0.0.1:{stack.env['RECOUVREMENT_PG_PORT']}"
    digests: dict[str, str] = {}
    for service in SERVICES:
        conn = await asyncpg.connect(database_url(server, service))
        try:
            tables = await conn.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND NOT tablename = ANY($1::text[])",
                list(BOOKKEEPING),
            )
            for (table,) in tables:
                digest = await conn.fetchval(
                    f"SELECT md5(coalesce(string_agg(t::text, chr(10) ORDER BY t::text), '')) FROM \"{table}\" t"
                )
                digests[f"{service}.{table}"] = digest
        finally:
            await conn.close()
    return digests


async def quiet(stack: RunningStack) -> dict[str, str]:
    """The databases once nothing moves any more (the flows before may still be settling)."""
    seen: list[dict[str, str]] = [await snapshot(stack)]

    async def still() -> bool:
        await asyncio.sleep(1.0)
        seen.append(await snapshot(stack))
        return seen[-1] == seen[-2]

    await eventually(still, timeout=60, interval=0)
    return seen[-1]


async def records_of(bootstrap: str, topics: list[str]) -> list[Any]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=20)
    await consumer.start()
    try:
        await consumer.topics()
        partitions = [TopicPartition(t, p) for t in topics for p in sorted(consumer.partitions_for_topic(t) or ())]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        records: list[Any] = []
        while True:
            batch = await consumer.getmany(timeout_ms=300, max_records=10_000)
            for part in batch.values():
                records += part
            if not batch and all([await consumer.position(tp) >= ends[tp] for tp in partitions]):
                return records
    finally:
        await consumer.stop()


async def lagging(bootstrap: str, topics: list[str], readers: set[str]) -> list[str]:
    """Each consumer group's partitions of ``topics`` whose committed offset is behind the end;
    ``readers`` gets the groups that read any of them."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        groups = [g[0] for g in await admin.list_consumer_groups()]
    finally:
        await admin.close()
    behind: list[str] = []
    for group in groups:
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
        await consumer.start()
        try:
            await consumer.topics()
            for topic in topics:
                partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
                committed = {tp: await consumer.committed(tp) for tp in partitions}
                if all(c is None for c in committed.values()):
                    continue  # this group does not read that topic
                readers.add(group)
                ends = await consumer.end_offsets(partitions)
                behind += [f"{group} {tp.topic}[{tp.partition}]" for tp, c in committed.items() if (c or 0) < ends[tp]]
        finally:
            await consumer.stop()
    return behind


async def test_every_topic_replayed_twice_changes_no_database(stack: RunningStack) -> None:
    topics = [t.name for t in CATALOGUE]
    before = await quiet(stack)
    records = await records_of(stack.bootstrap, topics)
    assert len(records) > 500, "the flows before this test left too little to replay"

    producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap, linger_ms=5, max_batch_size=256 * 1024)
    await producer.start()
    try:
        for _ in range(2):
            sent = [
                await producer.send(r.topic, value=r.value, key=r.key, headers=list(r.headers or ())) for r in records
            ]
            await asyncio.gather(*sent)
    finally:
        await producer.stop()

    started = time.monotonic()

    readers: set[str] = set()

    async def caught_up() -> bool:
        return not await lagging(stack.bootstrap, topics, readers)

    await eventually(caught_up, timeout=180, interval=1.0)
    # Every service was waited for, and every partner that had something to read.
    assert {"debt", "simulation", "requests", "debits", "notifications"} <= readers, readers
    replayed = {r.topic for r in records}
    if replayed & {t.name for t in GUARANTEE_REQUESTS}:
        assert any(group.startswith("perception-") for group in readers), readers
    if replayed & {t.name for t in BANK_ORDERS}:
        assert any(group.startswith("bank-") for group in readers), readers
    after = await quiet(stack)
    changed = sorted(table for table in before if before[table] != after.get(table))
    took = time.monotonic() - started
    print(
        f"\nreplayed {len(records)} records twice over {len(topics)} topics; "
        f"{sorted(readers)} caught up in {took:.1f} s"
    )
    assert changed == [], f"a replay changed these tables: {changed}"
    assert set(after) == set(before)
