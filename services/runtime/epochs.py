"""Is the broker still the one this service published to? Its mark on ``platform.epochs.v1`` says.

When a service adopts a broker it publishes a mark (an event whose id is the epoch) and keeps the
epoch in its database with where the broker put it (partition, offset). The relay's leader looks
for that mark when it takes the lead and every ``BROKER_CHECK_INTERVAL_SECONDS``: one record read
at one offset. A broker without it lost what was confided to it (memory-only broker restarted,
cluster rebuilt): the retained log is replayed, the state topics re-announced (``outbox_log``), and
the broker marked again. While events flow, a partition whose offsets went back says the same
sooner, for its topic (``OutboxRelay``).

The same look also asks the broker where each partition the relay last published to ends: one
that no longer lists the partition, or ends at or before the first offset it gave the relay's last
batch there, lost that topic even though our mark is there (a topic deleted and created again; a
memory-only broker that a producer wrote to before its topics were provisioned: it took the records
into a topic it made up, with fewer partitions, where no one can read them). The caller replays
those topics. Why the batch's first offset and not its last: Tansu says a partition ends one past
the first offset of its last produced batch (3 records at 0-2 end at 1), Kafka one past the last;
records acknowledged with ``acks=all`` end beyond the first on both, so a broker that kept them is
never taken for one that lost them.

Why one record at a known place rather than reading the topic for the id: on a broker that
restarted under the reader, Tansu once answered every fetch of the epochs topic with nothing, for
minutes, while its end offsets said there was more (the tail lookup then never ended). A read that
brings nothing back concludes nothing; three such checks in a row are taken as a loss, since a
replay is harmless and a lost broker must not go unnoticed.
"""

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from contracts.epochs import BrokerEpochMarked, EpochMark
from contracts.topics import PLATFORM_EPOCHS
from services.runtime.db import load_queries
from services.runtime.delivered import EVENT_ID_HEADER, event_id_of
from services.runtime.outbox_log import ReplayPolicy, replay_lost

log = logging.getLogger(__name__)
_QUERIES = load_queries(Path(__file__).parent / "sql" / "outbox.sql")
INCONCLUSIVE_IS_LOST = 3

Logged = Mapping[tuple[str, int], int]
"""``(topic, partition) -> the first offset`` the current broker gave the relay's last batch there"""


@dataclass(frozen=True)
class BrokerLook:
    """What a check found."""

    lost: bool = False
    """our mark was gone: the whole log has been replayed and the broker marked again"""
    topics_gone: frozenset[str] = frozenset()
    """our mark is there, but these topics no longer hold what the broker acknowledged on them: the
    caller replays them"""


@dataclass
class BrokerWatch:
    service: str
    producer: AIOKafkaProducer
    reader: Callable[[], AIOKafkaConsumer]
    """a consumer without a group (``kafka.create_tail_reader``)"""
    policy: ReplayPolicy
    interval_s: float = 30.0
    timeout_s: float = 10.0
    """a look for the mark that takes longer concludes nothing"""
    on_lost: Callable[[int], None] = lambda replayed: None
    """told each loss, with the events replayed (the metrics)"""
    losses: int = 0
    """brokers found without our mark since the start (the first adoption not counted)"""
    replayed: int = 0
    """events put back into the outbox by those replays"""
    inconclusive: int = 0
    """checks in a row that could not tell"""

    async def check(self, pool: asyncpg.Pool, logged: Logged | None = None) -> BrokerLook:
        """Looks for our mark and, in the same look, for the ``logged`` offsets (the relay's)."""
        async with pool.acquire() as conn:
            known = await _QUERIES.current_epoch(conn)
        if known is not None:
            gone: frozenset[str] = frozenset()
            try:
                holds, gone = await asyncio.wait_for(self._look(known, logged or {}), self.timeout_s)
            except TimeoutError:
                holds = None
            if holds is None:
                self.inconclusive += 1
                log.warning("broker check inconclusive", extra={"in_a_row": self.inconclusive})
                if self.inconclusive < INCONCLUSIVE_IS_LOST:
                    return BrokerLook(topics_gone=gone)
            elif holds:
                self.inconclusive = 0
                return BrokerLook(topics_gone=gone)
        await self._adopt(pool, lost=known is not None)
        self.inconclusive = 0
        return BrokerLook(lost=known is not None)

    async def _look(self, known: Any, logged: Logged) -> tuple[bool | None, frozenset[str]]:
        """Is our mark at its place (None: nothing came back from there, cannot tell), and which of
        the ``logged`` topics lost a partition or the records it acknowledged?"""
        consumer = self.reader()
        await consumer.start()
        try:
            await consumer.topics()

            def listed(topic: str, partition: int) -> bool:
                return partition in (consumer.partitions_for_topic(topic) or set())

            gone = {topic for topic, partition in logged if not listed(topic, partition)}
            held = [TopicPartition(topic, partition) for topic, partition in logged if topic not in gone]
            mark = None
            if known["partition"] is not None and listed(PLATFORM_EPOCHS.name, known["partition"]):
                mark = TopicPartition(PLATFORM_EPOCHS.name, known["partition"])
            ends = await consumer.end_offsets([*held, *([mark] if mark else [])]) if held or mark else {}
            gone |= {tp.topic for tp in held if ends[tp] <= logged[(tp.topic, tp.partition)]}
            if mark is None or ends[mark] <= known["offset"]:
                # marked before the place was kept, or a partition that ends before our mark: a new log
                return False, frozenset(gone)
            consumer.assign([mark])
            consumer.seek(mark, known["offset"])
            wait_ms = int(self.timeout_s * 500)
            records = (await consumer.getmany(mark, timeout_ms=wait_ms, max_records=1)).get(mark, [])
            if not records:
                return None, frozenset(gone)
            first = records[0]
            ours = first.offset == known["offset"] and event_id_of(first.headers or (), first.value) == known["epoch"]
            return ours, frozenset(gone)
        finally:
            await consumer.stop()

    async def _adopt(self, pool: asyncpg.Pool, *, lost: bool) -> None:
        """Marks the broker first: if it is down, nothing is replayed (the relay backs off and looks
        again). A crash after the mark and before the commit only means one more replay."""
        now = datetime.now(UTC)
        epoch = uuid4()
        mark = BrokerEpochMarked.build(
            EpochMark(service=self.service, epoch=epoch), producer=self.service, occurred_at=now, event_id=epoch
        )
        placed = await self.producer.send_and_wait(
            PLATFORM_EPOCHS.name,
            value=mark.model_dump_json().encode(),
            key=self.service.encode(),
            headers=[(EVENT_ID_HEADER, str(mark.event_id).encode()), ("event-type", mark.type.encode())],
        )
        async with pool.acquire() as conn:
            async with conn.transaction():
                # On a first adoption the log is empty (or holds what an older broker lost): replay it.
                pending = await replay_lost(conn, None, self.policy)
                await _QUERIES.adopt_epoch(conn, epoch=epoch, partition=placed.partition, offset=placed.offset)
            announced = await self.policy.reannounce(conn) if lost and self.policy.reannounce is not None else 0
        if lost:
            self.losses += 1
            self.replayed += pending
            self.on_lost(pending)
            log.error(
                "the broker lost what this service published: log replayed, state re-announced",
                extra={"events_replayed": pending, "states_reannounced": announced, "epoch": str(epoch)},
            )
        else:
            log.info("broker adopted", extra={"epoch": str(epoch), "events_replayed": pending})
