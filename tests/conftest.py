"""Real infrastructure for integration and e2e tests.

By default an embedded Postgres and an embedded Tansu broker start once per test session, on free
ports, in a temporary folder. Set ``DATABASE_URL`` (a server URL; each test gets its own database)
and/or ``KAFKA_BOOTSTRAP_SERVERS`` to run the same tests against external ones.
"""

import asyncio
import fcntl
import os
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest

from services.runtime.tokens import generate_keypair
from services.stack.embedded import EmbeddedBroker, EmbeddedPostgres, free_port
from services.stack.provisioning import database_url, provision_topics

# Two pytest sessions on one machine break each other's embedded Postgres (pytest resets
# /tmp/pytest-of-<user> to 0700 at start, cutting the server off its data): a second session waits
# for the first instead. The lock is the open file: it goes with the process, even killed.
_SESSION_LOCK = Path(os.environ.get("PYTEST_LOCK_DIR", tempfile.gettempdir())) / "espace-recouvrement-pytest.lock"


_LOCK_KEY = pytest.StashKey[object]()


def pytest_configure(config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):  # a worker of a session that holds the lock already
        return
    lock = _SESSION_LOCK.open("w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print(f"another pytest session is running on this machine; waiting for it ({_SESSION_LOCK})", file=sys.stderr)
        fcntl.flock(lock, fcntl.LOCK_EX)
    config.stash[_LOCK_KEY] = lock


@dataclass(frozen=True)
class Infra:
    postgres_url: str  # server URL, without a database
    bootstrap: str
    private_key: Path
    public_key: Path


@pytest.fixture(scope="session")
def infra(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Infra]:
    root = tmp_path_factory.mktemp("infra")
    postgres = broker = None
    pg_url = os.environ.get("DATABASE_URL")
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if not pg_url:
        postgres = EmbeddedPostgres(root / "postgres", free_port())
        postgres.start()
        pg_url = postgres.url
    if not bootstrap:
        broker = EmbeddedBroker(free_port(), root / "broker.log")
        broker.start()
        bootstrap = broker.bootstrap
    asyncio.run(provision_topics(bootstrap, partitions=3))
    generate_keypair(root / "keys" / "signing.pem", root / "keys" / "signing.pub.pem")
    try:
        yield Infra(pg_url, bootstrap, root / "keys" / "signing.pem", root / "keys" / "signing.pub.pem")
    finally:
        if broker is not None:
            broker.stop()
        if postgres is not None:
            postgres.stop()


@pytest.fixture
async def database(infra: Infra) -> AsyncIterator[str]:
    """A new empty database for one test: tests never see each other's rows."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(database_url(infra.postgres_url, "postgres"))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    yield database_url(infra.postgres_url, name)
    admin = await asyncpg.connect(database_url(infra.postgres_url, "postgres"))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()
