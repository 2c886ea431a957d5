"""Is the broker still the one this service published to? Its mark on ``platform.epochs.v1`` says.

When a service adopts a broker it publishes a mark (an event whose id is the epoch) and keeps the
epoch in its database. The relay's leader looks for that mark when it takes the lead and every
``BROKER_CHECK_INTERVAL_SECONDS``; a broker without it lost what was confided to it (memory-only
broker restarted, cluster rebuilt, topic deleted): the retained log is replayed, the state topics
re-announced (``outbox_log``), and the broker marked again. While events flow, a partition whose
offsets went back says the same sooner, for its topic (``OutboxRelay``).
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import asyncpg
from aiokafka import AIOKafkaProducer

from contracts.epochs import BrokerEpochMarked, EpochMark
from contracts.topics import PLATFORM_EPOCHS
from services.runtime.db import load_queries
from services.runtime.delivered import EVENT_ID_HEADER, DeliveredLookup
from services.runtime.outbox_log import ReplayPolicy, replay_lost

log = logging.getLogger(__name__)
_QUERIES = load_queries(Path(__file__).parent / "sql" / "outbox.sql")


@dataclass
class BrokerWatch:
    service: str
    producer: AIOKafkaProducer
    delivered: DeliveredLookup
    policy: ReplayPolicy
    interval_s: float = 30.0
    on_lost: Callable[[int], None] = lambda replayed: None
    """told each loss, with the events replayed (the metrics)"""
    losses: int = 0
    """brokers found without our mark since the start (the first adoption not counted)"""
    replayed: int = 0
    """events put back into the outbox by those replays"""

    async def check(self, pool: asyncpg.Pool) -> bool:
        """True when the broker lost our mark: then the log has been replayed and the broker marked."""
        async with pool.acquire() as conn:
            known = await _QUERIES.current_epoch(conn)
        if known is not None:
            found = await self.delivered({known["epoch"]}, {PLATFORM_EPOCHS.name}, known["marked_at"])
            if known["epoch"] in found:
                return False
        await self._adopt(pool, lost=known is not None)
        return known is not None

    async def _adopt(self, pool: asyncpg.Pool, *, lost: bool) -> None:
        """Marks the broker first: if it is down, nothing is replayed (the relay backs off and looks
        again). A crash after the mark and before the commit only means one more replay."""
        now = datetime.now(UTC)
        epoch = uuid4()
        mark = BrokerEpochMarked.build(
            EpochMark(service=self.service, epoch=epoch), producer=self.service, occurred_at=now, event_id=epoch
        )
        await self.producer.send_and_wait(
            PLATFORM_EPOCHS.name,
            value=mark.model_dump_json().encode(),
            key=self.service.encode(),
            headers=[(EVENT_ID_HEADER, str(mark.event_id).encode()), ("event-type", mark.type.encode())],
        )
        async with pool.acquire() as conn:
            async with conn.transaction():
                # On a first adoption the log is empty (or holds what an older broker lost): replay it.
                pending = await replay_lost(conn, None, self.policy, sent_before=now)
                await _QUERIES.adopt_epoch(conn, epoch=mark.event_id)
            announced = await self.policy.reannounce(conn) if lost and self.policy.reannounce is not None else 0
        if lost:
            self.losses += 1
            self.replayed += pending
            self.on_lost(pending)
            log.error(
                "the broker lost what this service published: log replayed, state re-announced",
                extra={"events_replayed": pending, "states_reannounced": announced, "epoch": str(mark.event_id)},
            )
        else:
            log.info("broker adopted", extra={"epoch": str(mark.event_id), "events_replayed": pending})
