"""A paced consumer on the real broker: a few fetches a second when idle, every message still read
(issue 14, item 2)."""

import asyncio
import uuid
from types import SimpleNamespace

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from services.runtime.fetch_pacing import FetchPacer
from tests.conftest import Infra

pytestmark = pytest.mark.integration

BUSY_MS, IDLE_MS, IDLE_AFTER_MS = 10, 300, 300


async def _fetches_during(consumer: AIOKafkaConsumer, seconds: float) -> int:
    """Fetch requests the consumer sends in that time (counted at its client, as the broker sees them)."""
    client = consumer._client
    sent = 0
    send = client.send

    async def counting(node_id: int, request: object, *args: object, **kwargs: object) -> object:
        nonlocal sent
        sent += type(request).__name__.startswith("FetchRequest")
        return await send(node_id, request, *args, **kwargs)

    client.send = counting
    try:
        await asyncio.sleep(seconds)
    finally:
        client.send = send
    return sent


async def test_an_idle_consumer_asks_a_few_times_a_second_and_still_gets_every_message(infra: Infra) -> None:
    topic = f"test.pacing.{uuid.uuid4().hex[:8]}"
    producer = AIOKafkaProducer(bootstrap_servers=infra.bootstrap)
    await producer.start()
    await producer.send_and_wait(topic, b"first")  # creates the topic
    unpaced = AIOKafkaConsumer(
        topic, bootstrap_servers=infra.bootstrap, group_id=f"unpaced-{topic}", fetch_max_wait_ms=BUSY_MS
    )
    paced = AIOKafkaConsumer(
        topic,
        bootstrap_servers=infra.bootstrap,
        group_id=f"paced-{topic}",
        auto_offset_reset="earliest",
        fetch_max_wait_ms=BUSY_MS,
    )
    await unpaced.start()
    await paced.start()
    try:
        assert FetchPacer(BUSY_MS, IDLE_MS, IDLE_AFTER_MS).pace([SimpleNamespace(consumer=paced)]) == 1
        assert (await asyncio.wait_for(paced.getone(), 10)).value == b"first"
        assert paced._fetcher._fetch_max_wait_ms == BUSY_MS
        await asyncio.sleep(3.0)  # quiet long enough for the longest wait (an eighth of 3 s > IDLE_MS)
        assert paced._fetcher._fetch_max_wait_ms == IDLE_MS

        idle_fetches = await _fetches_during(paced, 2.0)
        busy_fetches = await _fetches_during(unpaced, 2.0)
        assert idle_fetches <= 2.0 / (IDLE_MS / 1000) + 2, idle_fetches  # ~7, where unpaced asks ~100 times
        assert busy_fetches > 5 * idle_fetches, (busy_fetches, idle_fetches)

        for n in range(20):  # a burst after the quiet spell: all read, in order, and the wait is short again
            await producer.send_and_wait(topic, f"m{n}".encode(), key=b"one-partition")
        got = [(await asyncio.wait_for(paced.getone(), 10)).value for _ in range(20)]
        assert got == [f"m{n}".encode() for n in range(20)]
        assert paced._fetcher._fetch_max_wait_ms == BUSY_MS
    finally:
        await paced.stop()
        await unpaced.stop()
        await producer.stop()
