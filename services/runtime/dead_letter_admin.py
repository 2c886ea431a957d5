"""Operators' view and repair of dead letters (``recouvrement dlq list|show|replay``), without kcat.

A dead letter is the original record (value, key, headers, byte for byte) plus ``x-dlq-*`` headers:
why, which consumer, where it came from. Replaying one sends the original back to its topic, same
bytes and same event id: a consumer that applied it meanwhile (a duplicate that was refused for a
reason since fixed) changes nothing; one that refused it applies it now, if the cause is fixed.

The topics are read without a consumer group: reading commits nothing and moves nobody's offsets.
"""

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from contracts.topics import DLQ_SUFFIX

DLQ_HEADER_PREFIX = "x-dlq-"


@dataclass(frozen=True)
class DeadLetter:
    topic: str
    partition: int
    offset: int
    at: datetime
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes | None], ...]

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key == name and value is not None:
                return value.decode(errors="replace")
        return None

    @property
    def reason(self) -> str:
        return self.header("x-dlq-reason") or ""

    @property
    def consumer(self) -> str:
        return self.header("x-dlq-consumer") or "?"

    @property
    def original_topic(self) -> str:
        return self.header("x-dlq-original-topic") or self.topic.removesuffix(DLQ_SUFFIX)

    @property
    def original_headers(self) -> list[tuple[str, bytes | None]]:
        return [(k, v) for k, v in self.headers if not k.startswith(DLQ_HEADER_PREFIX)]

    @property
    def event_type(self) -> str:
        try:
            found = json.loads(self.value or b"").get("type")
        except (ValueError, AttributeError):
            return "(illisible)"
        return str(found) if found is not None else "(sans type)"

    def where(self) -> str:
        return f"{self.topic}:{self.partition}:{self.offset}"


ConsumerFactory = Callable[[], AIOKafkaConsumer]


async def read(consumer: ConsumerFactory, topics: Iterable[str], timeout_s: float = 60.0) -> list[DeadLetter]:
    """Every dead letter the topics hold now, oldest first per partition."""
    client = consumer()
    await client.start()
    try:
        await client.topics()
        partitions = [
            TopicPartition(topic, p) for topic in topics for p in sorted(client.partitions_for_topic(topic) or ())
        ]
        if not partitions:
            return []
        client.assign(partitions)
        await client.seek_to_beginning(*partitions)
        ends = await client.end_offsets(partitions)
        found: list[DeadLetter] = []
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            batch: dict[TopicPartition, list[Any]] = await client.getmany(timeout_ms=300, max_records=10_000)
            for records in batch.values():
                found += [
                    DeadLetter(
                        r.topic,
                        r.partition,
                        r.offset,
                        datetime.fromtimestamp(r.timestamp / 1000, UTC),
                        r.key,
                        r.value,
                        tuple(r.headers or ()),
                    )
                    for r in records
                ]
            # Tansu reports the start of its last record batch as the end: an empty fetch past it is the end.
            if not batch and all([await client.position(tp) >= ends[tp] for tp in partitions]):
                return found
        raise TimeoutError(f"dead letters of {len(partitions)} partitions not read in {timeout_s}s")
    finally:
        await client.stop()


async def replay(producer: AIOKafkaProducer, letters: Iterable[DeadLetter]) -> int:
    """Each original back on its topic (same key, value and headers); returns how many. A dead letter
    whose copy lost its value (too large for the dead-letter topic) cannot be replayed from here."""
    sent = [
        await producer.send(letter.original_topic, value=letter.value, key=letter.key, headers=letter.original_headers)
        for letter in letters
        if letter.value is not None
    ]
    for delivery in sent:
        await delivery
    return len(sent)
