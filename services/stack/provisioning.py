"""Topic and database provisioning, from the catalogue in ``contracts.topics``."""

import logging
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from contracts.topics import CATALOGUE

log = logging.getLogger(__name__)

SERVICES_WITH_DATABASE = ("auth", "debt", "simulation", "requests", "debits")
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


def topic_specs(partitions: int | None, replication: int, min_insync: int) -> list[NewTopic]:
    specs = []
    for topic in CATALOGUE:
        configs = {"cleanup.policy": topic.cleanup_policy, "min.insync.replicas": str(min_insync)}
        specs.append(NewTopic(topic.name, partitions or topic.partitions, replication, topic_configs=configs))
        # Dead letters are rare and read by people: one partition keeps them in arrival order.
        specs.append(NewTopic(topic.dlq, 1, replication, topic_configs={"min.insync.replicas": str(min_insync)}))
    return specs


async def provision_topics(
    bootstrap: str,
    *,
    partitions: int | None = None,
    replication: int = 1,
    min_insync: int = 1,
    client_options: dict[str, object] | None = None,
) -> dict[str, str]:
    """Create every catalogue topic that is missing; report each as 'created' or 'exists'."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **(client_options or {}))
    await admin.start()
    try:
        response = await admin.create_topics(topic_specs(partitions, replication, min_insync))
        outcome = {}
        for name, code, *_ in response.topic_errors:  # Tansu reports duplicates without raising
            if code not in (0, _TOPIC_ALREADY_EXISTS):
                raise RuntimeError(f"topic {name}: error code {code}")
            outcome[name] = "created" if code == 0 else "exists"
        return outcome
    finally:
        await admin.close()
