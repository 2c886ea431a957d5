"""What an operator's Prometheus scrapes from every service (``GET /metrics``), and what its alert
rules (``deploy/prometheus/alerts.yml``) read.

Each app has its own registry (several apps live in one test process, and a registry refuses a
metric registered twice). Gauges that describe the database (the outbox, parked rows, a service's
rows per state) are read at scrape time, in one short query each, so they are never stale and cost
nothing between scrapes; counters and the HTTP histogram are kept in memory by this process.
"""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.runtime.db import PoolExhausted
from services.runtime.outbox import backlog
from services.runtime.turns import Priority

PREFIX = "recouvrement"
log = logging.getLogger(__name__)

Measure = Callable[[asyncpg.Connection], Awaitable[dict[str, int]]]
"""Rows of a service's own table, counted per state at scrape time: ``{"VALIDATED": 12, ...}``."""


@dataclass(frozen=True)
class StateGauge:
    """A service's rows per state, e.g. requests per state (``recouvrement_requests{state=...}``)."""

    name: str
    documentation: str
    measure: Measure
    states: Sequence[str]
    """every state, so a state with no row reads 0 rather than vanishing from the series"""


@dataclass
class Metrics:
    service: str
    registry: CollectorRegistry = field(default_factory=lambda: CollectorRegistry(auto_describe=True))
    state_gauges: list[StateGauge] = field(default_factory=list)

    def __post_init__(self) -> None:
        r = self.registry
        self.http_duration = Histogram(
            f"{PREFIX}_http_request_duration_seconds",
            "Durée des requêtes HTTP, par route (son gabarit, jamais l'URL : pas d'identifiant), méthode et statut",
            ["service", "method", "route", "status"],
            registry=r,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.outbox_depth = Gauge(
            f"{PREFIX}_outbox_depth", "Événements écrits et pas encore publiés", ["service"], registry=r
        )
        self.outbox_oldest_age = Gauge(
            f"{PREFIX}_outbox_oldest_age_seconds",
            "Âge du plus ancien événement non publié (0 : rien en attente)",
            ["service"],
            registry=r,
        )
        self.outbox_parked = Gauge(
            f"{PREFIX}_outbox_parked", "Événements mis de côté que le broker refuse", ["service"], registry=r
        )
        self.dead_letters = Counter(
            f"{PREFIX}_dead_letters",
            "Messages envoyés en .dlq par ce processus, par sujet d'origine",
            ["service", "topic"],
            registry=r,
        )
        self.broker_losses = Counter(
            f"{PREFIX}_broker_losses",
            "Fois où le broker avait perdu ce que ce service lui a publié (marque absente, offsets revenus en arrière)",
            ["service"],
            registry=r,
        )
        self.outbox_replayed = Counter(
            f"{PREFIX}_outbox_replayed",
            "Événements remis dans l'outbox depuis son journal après une perte du broker",
            ["service"],
            registry=r,
        )
        self.retention_purged = Counter(
            f"{PREFIX}_retention_purged",
            "Lignes supprimées par la rétention, par table",
            ["service", "table"],
            registry=r,
        )
        self.consumer_lag = Gauge(
            f"{PREFIX}_consumer_lag",
            "Messages pas encore lus par ce processus, par sujet (partitions qui lui sont assignées)",
            ["service", "topic"],
            registry=r,
        )
        self.connection_wait = Histogram(
            f"{PREFIX}_http_connection_wait_seconds",
            "Attente d'une connexion du pool HTTP, par priorité de l'appel (FINISHING, ORDINARY, STARTING)",
            ["service", "priority"],
            registry=r,
            buckets=(0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20),
        )
        self.turned_away = Counter(
            f"{PREFIX}_http_turned_away",
            "Appels HTTP renvoyés (503 service-sature) faute de connexion à leur tour, par priorité",
            ["service", "priority"],
            registry=r,
        )
        self.states: dict[str, Gauge] = {}

    def count_states(self, gauges: Sequence[StateGauge]) -> None:
        """A service's own rows per state, read at each scrape (requests per state, debits per state)."""
        for g in gauges:
            self.states[g.name] = Gauge(
                f"{PREFIX}_{g.name}", g.documentation, ["service", "state"], registry=self.registry
            )
            self.state_gauges.append(g)

    def waited_turn(self, priority: Priority, waited_s: float, served: bool) -> None:
        """``Turns``' report of one wait for a connection."""
        if served:
            self.connection_wait.labels(self.service, priority.name).observe(waited_s)
        else:
            self.turned_away.labels(self.service, priority.name).inc()

    def dead_lettered(self, topic: str) -> None:
        self.dead_letters.labels(self.service, topic).inc()

    def broker_lost(self, replayed: int) -> None:
        self.broker_losses.labels(self.service).inc()
        self.outbox_replayed.labels(self.service).inc(replayed)

    def purged(self, table: str, count: int) -> None:
        self.retention_purged.labels(self.service, table).inc(count)

    async def read_lag(self, consumers: Sequence[Any]) -> None:
        """Per topic, what the broker holds beyond what this process's consumers have reached, on the
        partitions assigned to them (a replica counts its own; Prometheus sums the replicas). Read from
        the consumers' own state, no request to the broker. Tansu reports a partition's end as the
        start of its last record batch, so the lag it shows can fall short by part of one batch."""
        lag: dict[str, int] = {}
        for consumer in consumers:
            for tp in consumer.assignment():
                high = consumer.highwater(tp)
                if high is None:
                    continue
                lag[tp.topic] = lag.get(tp.topic, 0) + max(0, high - await consumer.position(tp))
        for topic, value in lag.items():
            self.consumer_lag.labels(self.service, topic).set(value)

    async def render(self, pool: asyncpg.Pool | None, consumers: Sequence[Any] = ()) -> bytes:
        """The exposition text, the database gauges read now. A database that does not answer leaves
        them at their last value and the scrape still answers: the HTTP and dead-letter series are
        what an operator needs most when the database is in trouble."""
        if pool is not None:
            try:
                async with pool.acquire() as conn:
                    await self._read(conn)
            except (OSError, asyncpg.PostgresError, TimeoutError, PoolExhausted):
                pass
        try:
            await asyncio.wait_for(self.read_lag(consumers), 2)
        except Exception:  # a consumer rebalancing or stopping: the last values stand
            log.debug("consumer lag not read at this scrape", exc_info=True)
        return generate_latest(self.registry)

    async def _read(self, conn: asyncpg.Connection) -> None:
        row = await backlog(conn)
        self.outbox_depth.labels(self.service).set(row["depth"])
        self.outbox_oldest_age.labels(self.service).set(row["oldest_age"])
        self.outbox_parked.labels(self.service).set(row["parked"])
        for gauge in self.state_gauges:
            counts = await gauge.measure(conn)
            for state in {*gauge.states, *counts}:
                self.states[gauge.name].labels(self.service, state).set(counts.get(state, 0))


class HttpTimer:
    """Times each HTTP request by its route's template (``/v1/requests/{request_id}``), never its
    URL: an affiliate number or a request id must not become a label (nor a series per caller)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sent(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sent)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            if template != "/metrics":
                self.metrics.http_duration.labels(self.metrics.service, scope["method"], template, str(status)).observe(
                    time.perf_counter() - started
                )
