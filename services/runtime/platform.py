"""The running parts of one service, started and stopped together from its HTTP app's lifespan."""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer
from faststream.kafka import KafkaBroker
from opentelemetry.sdk.trace import TracerProvider

from contracts.topics import all_topic_names
from services.runtime.broker_replaced import BROKER_REPLACED, listen
from services.runtime.client_address import Network, trusted_networks
from services.runtime.clock import Clock
from services.runtime.db import TimedPool, create_pool, database_ready, lock_holder_connection, migrate
from services.runtime.delivered import DeliveredLookup
from services.runtime.dlq import DeadLetters
from services.runtime.epochs import BrokerWatch
from services.runtime.faults import CrashPoints
from services.runtime.kafka import (
    consumers_of,
    create_broker,
    create_producer,
    create_tail_reader,
    on_broker_replaced,
    start_consuming,
)
from services.runtime.metrics import Metrics
from services.runtime.outbox import OutboxRelay
from services.runtime.outbox_log import NO_POLICY, ReplayPolicy
from services.runtime.periodic import Periodic
from services.runtime.retention import Purge, Retention, platform_purges
from services.runtime.settings import ServiceSettings
from services.runtime.tokens import TokenVerifier

log = logging.getLogger(__name__)


@dataclass
class Platform:
    settings: ServiceSettings
    clock: Clock
    tracer_provider: TracerProvider
    broker: KafkaBroker
    pool: TimedPool | None = None
    """for the HTTP requests, each in its turn (``acquire_as``)"""
    background_pool: asyncpg.Pool | None = None
    """for the consumers, the outbox relay and scheduled work: a burst of HTTP calls waiting for
    connections must not starve them (the events those calls wait for would queue behind them)"""
    producer: AIOKafkaProducer | None = None
    relay: OutboxRelay | None = None
    dead_letters: DeadLetters | None = None
    verifier: TokenVerifier | None = None
    trusted_proxies: tuple[Network, ...] = ()
    """whose X-Forwarded-For is believed (``TRUSTED_PROXIES``)"""
    metrics: Metrics = field(init=False)
    """what ``GET /metrics`` exposes (``services/runtime/metrics.py``)"""
    replay_policy: ReplayPolicy = NO_POLICY
    """what the service adds when its broker lost what it published (set by its bootstrap)"""
    purges: list[Purge] = field(default_factory=list)
    """the service's own retention, beside the inbox and the outbox's log (set by its bootstrap)"""
    watch: BrokerWatch | None = None
    retention: Periodic | None = None

    def __post_init__(self) -> None:
        self.metrics = Metrics(self.settings.service_name)

    @classmethod
    def create(cls, settings: ServiceSettings, clock: Clock, tracer_provider: TracerProvider) -> "Platform":
        platform = cls(settings, clock, tracer_provider, create_broker(settings, tracer_provider))
        platform.trusted_proxies = trusted_networks(settings.trusted_proxies)
        return platform

    async def start(
        self,
        migrations: Sequence[tuple[str, Path]],
        before_consuming: Callable[["Platform"], Awaitable[None]] | None = None,
    ) -> None:
        """``before_consuming`` runs once the database and the relay are up, before any consumer
        starts: start-up work that rewrites state must not race the service's own consumers."""
        s = self.settings
        migrator = await lock_holder_connection(s.database_url)  # its session lock must not return to the pool
        try:
            await migrate(migrator, migrations)
        finally:
            await migrator.close()
        self.pool = await create_pool(
            s.database_url,
            size=s.database_pool_size,
            acquire_timeout=s.database_acquire_timeout_seconds,
            on_waited=self.metrics.waited_turn,
        )
        self.background_pool = await create_pool(s.database_url, size=s.database_background_pool_size)
        public_keys = s.token_public_keys()
        if public_keys is not None:
            self.verifier = TokenVerifier.from_files(public_keys, issuer=s.token_issuer, audience=s.token_audience)
            log.info(
                "token verification keys",
                extra={"kids": sorted(self.verifier.key_ids), "files": [str(p) for p in public_keys]},
            )
        else:
            log.warning(
                "no token public key: every authenticated endpoint answers 401",
                extra={"path": str(s.token_public_key_file)},
            )
        self.producer = create_producer(s)
        await self.producer.start()
        self.dead_letters = DeadLetters(self.producer, s.service_name, on_sent=self.metrics.dead_lettered)
        lookup = DeliveredLookup(lambda: create_tail_reader(s), margin_s=s.outbox_lookup_margin_seconds)
        self.watch = BrokerWatch(
            s.service_name,
            self.producer,
            lambda: create_tail_reader(s),
            self.replay_policy,
            interval_s=s.broker_check_interval_seconds,
            on_lost=self.metrics.broker_lost,
        )
        self.relay = OutboxRelay(
            self.background_pool,
            self.producer,
            lambda: lock_holder_connection(s.database_url),
            lookup,
            known_topics=frozenset(all_topic_names()),
            batch_size=s.outbox_batch_size,
            max_attempts=s.outbox_max_attempts,
            crash_points=CrashPoints(s.fault_injection),
            watch=self.watch,
        )
        await self.relay.start()
        listen(BROKER_REPLACED, self._broker_replaced)
        retention = Retention(self.background_pool, [*platform_purges(s), *self.purges], on_purged=self.metrics.purged)
        self.retention = retention.schedule(s.retention_interval_seconds)
        self.retention.start()
        if before_consuming is not None:
            await before_consuming(self)
        if s.consume_events:
            await start_consuming(self.broker, s)
        else:
            log.info("serving HTTP only: another process consumes the service's topics (CONSUME_EVENTS=false)")

    def _broker_replaced(self) -> None:
        """The launcher restarted the broker (``BROKER_REPLACED``): the relay looks for its mark now,
        and the consumers and the producer learn the topics again (the launcher may have remade one
        a client had made with too few partitions: without this, the partitions it gained are read by
        no one until the consumers' next metadata refresh, 5 minutes later, and on Tansu not even
        then without ``topic_shape``)."""
        assert self.relay is not None
        self.relay.look_at_broker_now()
        on_broker_replaced(self.broker, self.producer)

    async def stop(self, step_timeout: float = 5.0) -> None:
        """Consumers first (no new work), then the relay (may be mid-batch), then connections.

        Each step is bounded: with the broker or the database already gone (a whole stack stopping
        at once), a clean stop must not become a hang. Nothing is lost by cutting a step short:
        uncommitted offsets are read again, unsent outbox rows stay in the outbox.
        """
        steps: list[tuple[str, Callable[[], Awaitable[object]]]] = [("broker", self.broker.stop)]
        if self.retention is not None:
            steps.append(("retention", self.retention.stop))
        if self.relay is not None:
            listen(BROKER_REPLACED, None)
            steps.append(("outbox relay", self.relay.stop))
        if self.producer is not None:
            steps.append(("producer", self.producer.stop))
        for pool in (self.pool, self.background_pool):
            if pool is not None:
                steps.append(("database pool", pool.close))
        for name, stop in steps:
            try:
                await asyncio.wait_for(stop(), step_timeout)
            except Exception:  # TimeoutError included: log it and go on stopping the rest
                log.warning("stop step cut short", extra={"step": name}, exc_info=True)
        for pool in (self.pool, self.background_pool):
            if pool is not None:
                pool.terminate()
        self.tracer_provider.force_flush(timeout_millis=2000)

    def consumers(self) -> list[Any]:
        """The aiokafka consumers of the service's subscribers, once started (for the lag metric)."""
        return consumers_of(self.broker)

    def assignment(self) -> dict[str, list[int]]:
        """The partitions this process consumes now, per topic: replicas of a service share their
        consumer groups, so each holds its part (none while a rebalance is under way)."""
        held: dict[str, set[int]] = {}
        for consumer in self.consumers():
            for tp in consumer.assignment():
                held.setdefault(tp.topic, set()).add(tp.partition)
        return {topic: sorted(partitions) for topic, partitions in sorted(held.items())}

    async def database_ready(self) -> bool:
        return await database_ready(self.pool)

    async def dependencies(self) -> dict[str, bool]:
        """What events need, beside HTTP: reported (``/health/ready`` body, ``/health/details``),
        never a reason to leave rotation."""
        try:
            if self.settings.consume_events:
                broker = bool(await self.broker.ping(timeout=2))
            else:  # no consumer started: asked through the relay's producer
                broker = self.producer is not None and bool(
                    await asyncio.wait_for(self.producer.client.fetch_all_metadata(), 2)
                )
        except Exception:
            broker = False
        return {"broker": broker, "outbox_relay": bool(self.relay and self.relay.running)}
