"""Helpers shared by integration and e2e tests: run an app's lifespan, publish, read topics."""

import asyncio
import itertools
import random
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from fastapi import FastAPI

from contracts.envelope import Envelope
from services.stack.embedded import EmbeddedBroker, free_port
from services.stack.provisioning import provision_topics


@asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan (pool, migrations, broker, relay) and an HTTP client in front."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


async def publish(
    bootstrap: str,
    topic: str,
    items: list[tuple[str, Envelope | bytes]],
    headers: list[tuple[str, bytes]] | None = None,
) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for key, message in items:
            value = message if isinstance(message, bytes) else message.model_dump_json().encode()
            await producer.send_and_wait(topic, value=value, key=key.encode(), headers=headers or [])
    finally:
        await producer.stop()


async def read_topic(
    bootstrap: str,
    topic: str,
    until: Callable[[list[ConsumerRecord[Any, Any]]], bool],
    *,
    key: str | None = None,
    timeout: float = 20.0,
) -> list[ConsumerRecord[Any, Any]]:
    """Every record of ``topic`` (optionally only those with ``key``) from the beginning, read until
    ``until(records)`` holds; fails the test after ``timeout`` seconds."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=10)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or {0})]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        records: list[ConsumerRecord[Any, Any]] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=200)
            for part in batch.values():
                records += [r for r in part if key is None or r.key == key.encode()]
            if until(records):
                return records
        raise AssertionError(f"{topic}: condition not met after {timeout}s; {len(records)} records read")
    finally:
        await consumer.stop()


async def read_to_end(bootstrap: str, topic: str, *, key: str | None = None) -> list[ConsumerRecord[Any, Any]]:
    """Every record ``topic`` holds now (optionally only those with ``key``): for proving that
    something is NOT there. Reads from the beginning until a fetch past the end offsets brings nothing."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=10)
    await consumer.start()
    try:
        await consumer.topics()
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or {0})]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        records: list[ConsumerRecord[Any, Any]] = []
        deadline = time.monotonic() + 60
        while True:
            assert time.monotonic() < deadline, f"{topic}: not read to its end offsets {ends} within 60 s"
            batch = await consumer.getmany(timeout_ms=300)
            for part in batch.values():
                records += [r for r in part if key is None or r.key == key.encode()]
            # Tansu reports the start of the last record batch as the end: an empty fetch past it is the end.
            if not batch and all([await consumer.position(tp) >= ends[tp] for tp in partitions]):
                return records
    finally:
        await consumer.stop()


_AFFILIATES = itertools.count(random.randrange(2_000_000, 6_900_000))


def new_affiliate() -> str:
    """An affiliate number no other test of this session uses: seven digits, counted from a random
    start (random numbers drawn apart collided: two tests on one affiliate see each other's events),
    away from the demo affiliates (1000001 and up) and below the numbers some tests write out
    (7000001, 7000002, 7654321): a session draws a few hundred, never the 100,000 between."""
    return str(next(_AFFILIATES))


async def eventually(check: Callable[[], Any], timeout: float = 20.0, interval: float = 0.05) -> Any:
    """Polls an async ``check`` until it returns a truthy value (the system converges by messages)."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"not reached within {timeout}s; last value: {last!r}")


def header(record: ConsumerRecord[Any, Any], name: str) -> str | None:
    for key, value in record.headers or ():
        if key == name:
            return bytes(value).decode()
    return None


async def partitions_of(bootstrap: str, topic: str) -> set[int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        await consumer.topics()
        return set(consumer.partitions_for_topic(topic) or set())
    finally:
        await consumer.stop()


class RestartableBroker:
    """A broker of this test's own, killed and started again on the same port (memory only: the new
    one holds nothing), its topics provisioned as ``make run`` does."""

    def __init__(self, directory: Path) -> None:
        self.broker = EmbeddedBroker(free_port(), directory / "broker.log")

    @property
    def bootstrap(self) -> str:
        return self.broker.bootstrap

    async def start(self, *, provisioned: bool = True) -> None:
        self.broker.start()
        if provisioned:
            await provision_topics(self.bootstrap)

    async def kill_and_restart(self, *, provisioned: bool = True) -> None:
        """``provisioned=False``: the window in which the launcher is still creating the topics."""
        assert self.broker.process is not None
        self.broker.process.kill()
        self.broker.process.wait(10)
        await self.start(provisioned=provisioned)


def launcher_children(launcher: int) -> dict[int, list[str]]:
    """The launcher's children now: pid -> the words of its command line. A process the launcher
    forked shows its command as one title (``setproctitle``), one it spawned as separate arguments:
    both read as the same words."""
    found: dict[int, list[str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (entry / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if parent == launcher:
            found[int(entry.name)] = cmdline.replace(b"\0", b" ").decode(errors="replace").split()
    return found
