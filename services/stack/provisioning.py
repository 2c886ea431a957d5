"""Topic and database provisioning, from the catalogue in ``contracts.topics``."""

import logging
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from contracts.topics import CATALOGUE

log = logging.getLogger(__name__)

SERVICES_WITH_DATABASE = ("auth", "debt", "simulation", "requests", "debits", "notifications", "portal")
_TOPIC_ALREADY_EXISTS = 36


def database_url(server_url: str, database: str) -> str:
    parts = urlsplit(server_url)
    return urlunsplit(parts._replace(path=f"/{database}"))


async def create_databases(server_url: str, names: tuple[str, ...] = SERVICES_WITH_DATABASE) -> list[str]:
    """One database per service: no service can read another's tables, even by mistake."""
    created = []
    conn = await asyncpg.connect(database_url(server_url, "postgres"))
    try:
        existing = {r["datname"] for r in await conn.fetch("SELECT datname FROM pg_database")}
        for name in names:
            if name not in existing:
                await conn.execute(f'CREATE DATABASE "{name}"')  # identifier from our own constant list
                created.append(name)
    finally:
        await conn.close()
    return created


DEFAULT_RETENTION_HOURS = 7 * 24
"""Event topics (``cleanup.policy=delete``): a week lets a consumer that was down catch up, and the
databases (outbox, inbox, projections) stay the source of truth beyond it."""
DEFAULT_DLQ_RETENTION_HOURS = 30 * 24
"""Dead letters are read by people, who may take a while to notice them."""


def topic_specs(
    partitions: int | None,
    replication: int,
    min_insync: int,
    *,
    retention_hours: int = DEFAULT_RETENTION_HOURS,
    dlq_retention_hours: int = DEFAULT_DLQ_RETENTION_HOURS,
) -> list[NewTopic]:
    """Every catalogue topic and its ``.dlq``, with the catalogue's cleanup policy.

    Compacted topics (the last state of each key) keep their records until a newer one replaces them:
    no ``retention.ms`` on them. The others keep ``retention_hours``.
    """
    specs = []
    for topic in CATALOGUE:
        configs = {"cleanup.policy": topic.cleanup_policy, "min.insync.replicas": str(min_insync)}
        if topic.cleanup_policy == "delete":
            configs["retention.ms"] = str(retention_hours * 3_600_000)
        specs.append(NewTopic(topic.name, partitions or topic.partitions, replication, topic_configs=configs))
        # Dead letters are rare and read by people: one partition keeps them in arrival order.
        dlq_configs = {
            "cleanup.policy": "delete",
            "min.insync.replicas": str(min_insync),
            "retention.ms": str(dlq_retention_hours * 3_600_000),
        }
        specs.append(NewTopic(topic.dlq, 1, replication, topic_configs=dlq_configs))
    return specs


async def provision_topics(
    bootstrap: str,
    *,
    partitions: int | None = None,
    replication: int = 1,
    min_insync: int = 1,
    retention_hours: int = DEFAULT_RETENTION_HOURS,
    dlq_retention_hours: int = DEFAULT_DLQ_RETENTION_HOURS,
    client_options: dict[str, object] | None = None,
    remake_misshapen: bool = False,
) -> dict[str, str]:
    """Create every catalogue topic that is missing; report each as 'created', 'exists', or (another
    partition count than the catalogue's) 'exists with N partitions' or, with ``remake_misshapen``,
    'remade'.

    ``remake_misshapen`` is for a broker whose topics hold nothing worth keeping: the embedded
    memory-only one, just restarted. A topic there with another shape was made by a client that named
    it before this provisioning (Tansu creates a topic of 4 partitions on a produce or a metadata
    request, FastStream one of 1 when a subscriber starts, and Tansu acknowledges records sent to
    partitions it does not have, which no one can read): it
    is deleted and created again, and the services' relays, finding the offsets they logged gone,
    replay it (``services/runtime/epochs.py``). The launcher then signals every process, whose
    consumers learn the new partitions and form their groups again (``runtime/topic_shape.py``).
    Never on a real cluster: there a different count is an operator's choice, only reported.
    """
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **(client_options or {}))
    await admin.start()
    try:
        specs = topic_specs(
            partitions,
            replication,
            min_insync,
            retention_hours=retention_hours,
            dlq_retention_hours=dlq_retention_hours,
        )
        outcome = await _create(admin, specs)
        existing = {name for name, state in outcome.items() if state == "exists"}
        counts = await _partition_counts(admin, existing) if existing else {}
        misshapen = [spec for spec in specs if spec.name in counts and counts[spec.name] != spec.num_partitions]
        remade: dict[str, str] = {}
        if misshapen and remake_misshapen:
            await admin.delete_topics([spec.name for spec in misshapen])
            remade = await _create(admin, misshapen)
        for spec in misshapen:
            created = remade.get(spec.name) == "created"
            outcome[spec.name] = "remade" if created else f"exists with {counts[spec.name]} partitions"
        return outcome
    finally:
        await admin.close()


async def _create(admin: AIOKafkaAdminClient, specs: list[NewTopic]) -> dict[str, str]:
    response = await admin.create_topics(specs)
    outcome = {}
    for name, code, *_ in response.topic_errors:  # Tansu reports duplicates without raising
        if code not in (0, _TOPIC_ALREADY_EXISTS):
            raise RuntimeError(f"topic {name}: error code {code}")
        outcome[name] = "created" if code == 0 else "exists"
    return outcome


async def _partition_counts(admin: AIOKafkaAdminClient, names: set[str]) -> dict[str, int]:
    return {topic["topic"]: len(topic["partitions"]) for topic in await admin.describe_topics(sorted(names))}
