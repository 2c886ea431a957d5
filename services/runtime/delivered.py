"""Which events the broker already holds: how a relay avoids sending an interrupted batch twice.

Neither Tansu nor a plain Kafka producer gives exactly-once delivery: a relay killed after the
broker acknowledged a batch and before it deleted the rows, or a send whose acknowledgement was
lost, leaves rows in the outbox that are also on the broker. Sending them again would put a debit
order on a bank's topic twice. So before a row that was handed to the producer once is handed
again, the relay reads the tail of its topic from a little before that first hand-over and keeps
only the rows whose event id is not there.

The tail is read without a consumer group (nothing is committed) and stops at the end offsets
asked for before reading: every row to look for was acknowledged, or lost, before the lookup began,
and the relay looking is the only writer of its service's topics. Tansu reports the start of its
last record batch (plus one) as a partition's end, not its true end; reading up to that offset
reads the whole last batch, which is what counts.
"""

import json
import logging
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any
from uuid import UUID

from aiokafka import AIOKafkaConsumer, TopicPartition

log = logging.getLogger(__name__)

EVENT_ID_HEADER = "event-id"
"""Every record the relay sends carries its event id here, so a lookup need not parse bodies."""

ConsumerFactory = Callable[[], AIOKafkaConsumer]


def event_id_of(headers: Iterable[tuple[str, bytes | None]], value: bytes | None) -> UUID | None:
    """The record's event id: the header, or the envelope's ``event_id`` for records sent before
    the header existed (and for partners' records). None for a record that has neither."""
    for name, raw in headers:
        if name == EVENT_ID_HEADER and raw:
            try:
                return UUID(raw.decode("ascii"))
            except (UnicodeDecodeError, ValueError):
                break
    try:
        found = json.loads(value or b"").get("event_id")
        return UUID(found) if isinstance(found, str) else None
    except (ValueError, AttributeError, TypeError):
        return None


class DeliveredLookup:
    """Reads topics' tails for event ids, bounded in time."""

    def __init__(self, consumer: ConsumerFactory, *, margin_s: float = 300.0, timeout_s: float = 120.0) -> None:
        """``margin_s`` is read before the first hand-over: the record's timestamp is the producer's
        clock (this process's, as ``handed_at``) or, on a topic with ``LogAppendTime``, the broker's."""
        self._consumer = consumer
        self._margin_s = margin_s
        self._timeout_s = timeout_s

    async def __call__(self, wanted: set[UUID], topics: set[str], since: datetime) -> set[UUID]:
        """The events of ``wanted`` that the partitions of ``topics`` hold at or after ``since``."""
        consumer = self._consumer()
        await consumer.start()
        try:
            return await self._find(consumer, wanted, topics, since)
        finally:
            await consumer.stop()

    async def _find(
        self, consumer: AIOKafkaConsumer, wanted: set[UUID], topics: set[str], since: datetime
    ) -> set[UUID]:
        await consumer.topics()  # loads the cluster's metadata: partitions_for_topic reads it
        partitions = [
            TopicPartition(topic, p)
            for topic in sorted(topics)
            for p in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        if not partitions:
            return set()
        start_ms = int((since.timestamp() - self._margin_s) * 1000)
        starts = await consumer.offsets_for_times({tp: start_ms for tp in partitions})
        ends = await consumer.end_offsets(partitions)
        # A partition with nothing at or after the start holds none of the rows looked for.
        todo: dict[TopicPartition, int] = {
            tp: ends[tp] for tp in partitions if starts.get(tp) is not None and ends[tp] > starts[tp].offset
        }
        if not todo:
            return set()
        consumer.assign(list(todo))
        for tp in todo:
            consumer.seek(tp, starts[tp].offset)
        found: set[UUID] = set()
        read = 0
        deadline = time.monotonic() + self._timeout_s
        while todo:
            if time.monotonic() > deadline:
                raise TimeoutError(f"outbox lookup: tails of {sorted(topics)} not read in {self._timeout_s}s")
            batch: dict[TopicPartition, list[Any]] = await consumer.getmany(*todo, timeout_ms=200, max_records=5000)
            for records in batch.values():
                read += len(records)
                for record in records:
                    event_id = event_id_of(record.headers or (), record.value)
                    if event_id in wanted:
                        found.add(event_id)
            for tp in list(todo):
                if await consumer.position(tp) >= todo[tp]:
                    del todo[tp]
            if not batch and todo:
                # The broker restarted under the lookup: its partitions end before the ends asked for
                # (Tansu waits on a fetch past the end). What they held is gone: nothing more to find.
                now_ends = await consumer.end_offsets(list(todo))
                for tp in [tp for tp in todo if now_ends[tp] < todo[tp]]:
                    del todo[tp]
        log.info(
            "outbox lookup on the broker",
            extra={"topics": sorted(topics), "records_read": read, "looked_for": len(wanted), "found": len(found)},
        )
        return found
