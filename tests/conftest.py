"""Real infrastructure for integration and e2e tests.

By default an embedded Postgres and an embedded Tansu broker start once per test session, on free
ports, in a temporary folder. Set ``DATABASE_URL`` (a server URL; each test gets its own database)
and/or ``KAFKA_BOOTSTRAP_SERVERS`` to run the same tests against external ones.
"""

import asyncio
import fcntl
import io
import os
import signal
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import pytest_timeout

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


@pytest.hookimpl(wrapper=True)
def pytest_timeout_set_timer(
    item: pytest.Item, settings: pytest_timeout.Settings
) -> Generator[None, bool | None, bool | None]:
    """Around pytest-timeout's own timer (``timeout`` in pyproject.toml): when it armed SIGALRM, its
    handler first prints what every asyncio task of the session's loop awaits. A test that hangs
    awaits something, and the thread stacks pytest-timeout prints show only the loop's ``select``.
    Then the test fails and the session goes on; pytest-timeout's cancel restores the default."""
    armed = yield
    fail = signal.getsignal(signal.SIGALRM)
    if callable(fail):  # the signal method (the thread method, off the main thread, arms none)

        def on_alarm(signum: int, frame: Any) -> None:
            __tracebackhide__ = True
            item.config.get_terminal_writer().write(_awaited_by_every_task())
            fail(signum, frame)

        signal.signal(signal.SIGALRM, on_alarm)
    return armed


def _awaited_by_every_task() -> str:
    try:
        tasks = asyncio.all_tasks()
    except RuntimeError:  # no loop runs: a synchronous test, whose stack pytest-timeout prints
        return ""
    out = io.StringIO()
    for task in tasks:
        print(f"--- asyncio task {task.get_name()}, awaiting (outermost first):", file=out)
        awaited: Any = task.get_coro()
        while awaited is not None:  # Task.print_stack stops at the task's own coroutine
            frame = getattr(awaited, "cr_frame", None) or getattr(awaited, "ag_frame", None)
            if frame is None:
                print(f"    {awaited!r}", file=out)
                break
            print(f"    {frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}", file=out)
            awaited = getattr(awaited, "cr_await", None) or getattr(awaited, "ag_await", None)
    return out.getvalue()


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
