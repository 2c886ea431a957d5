"""asyncpg pool, named SQL files and the migration runner."""

import hashlib
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosql
import asyncpg
from aiosql.adapters.asyncpg import AsyncPGAdapter

from services.runtime.turns import NoTurn, Priority, Turns, Waited

log = logging.getLogger(__name__)

RUNTIME_MIGRATIONS = Path(__file__).parent / "migrations"


async def _no_session_state(conn: asyncpg.Connection) -> None:
    """Pooled connections carry no session state (no LISTEN, no session lock, no SET): the relay and
    the migrations use connections of their own. Skipping asyncpg's default reset saves a round trip
    on every release, a sizable share of a cached read."""


class PoolExhausted(Exception):
    """No connection came free in time: the caller answers 503 instead of queueing without end."""


class TimedPool(asyncpg.Pool):  # type: ignore[misc]
    """A pool whose ``acquire()`` gives up after ``acquire_timeout`` seconds, raising ``PoolExhausted``.

    Without it a flood (a few thousand logins, a stuck query) queues every later request behind the
    pool for as long as the flood lasts, health checks included; with it each waits a bounded time
    and is told to come back (503 + Retry-After)."""

    acquire_timeout: float | None = None
    turns: Turns | None = None
    """who gets the next connection when all are taken (``services/runtime/turns.py``)"""

    async def _acquire(self, timeout: float | None) -> Any:
        # asyncpg's own hook behind every acquire() (asyncpg is pinned; test_pool_timeout holds it to this)
        try:
            return await super()._acquire(timeout if timeout is not None else self.acquire_timeout)
        except TimeoutError:
            raise PoolExhausted(f"no database connection free within {timeout or self.acquire_timeout} s") from None

    @asynccontextmanager
    async def acquire_as(self, priority: Priority) -> AsyncIterator[asyncpg.Connection]:
        """A connection for an HTTP call, in its turn (``Priority``); ``PoolExhausted`` when the
        wait passes the priority's allowance plus ``acquire_timeout``. Calls that bypass it (health,
        metrics) use plain ``acquire()`` and queue in asyncpg's own line."""
        timeout = self.acquire_timeout if self.acquire_timeout is not None else 60.0
        assert self.turns is not None, "create_pool gives every pool its turns"
        try:
            await self.turns.take(priority, timeout)
        except NoTurn:
            raise PoolExhausted(f"no database connection free in turn for a {priority.name} call") from None
        try:
            # A turn is a connection unless a plain acquire() holds one beyond the count: then asyncpg's line.
            async with self.acquire(timeout=timeout) as conn:
                yield conn
        finally:
            self.turns.give()


IDLE_IN_TRANSACTION_S = 60.0
"""How long Postgres lets one of our sessions sit inside a transaction between two statements before
it ends the session, and the transaction's locks with it. Nothing of ours waits that long inside a
transaction (a dead letter's send to a broker that is down comes closest); a process that does is
stopped, frozen or cut off, and its row locks would otherwise stall whoever needs those rows, the
replica that took over its partitions included, until it thaws (a fault test froze debt inside its
consumer's transaction: the debt started beside it waited on the same inbox row, 60 s, twice)."""


async def create_pool(
    dsn: str,
    *,
    size: int = 10,
    acquire_timeout: float | None = None,
    on_waited: Waited | None = None,
    idle_in_transaction_s: float = IDLE_IN_TRANSACTION_S,
) -> TimedPool:
    """``acquire_timeout``: for pools that serve HTTP requests (see ``TimedPool``); background pools
    wait, which is their back-pressure. ``on_waited``: told of each wait in turn (the metrics).
    ``idle_in_transaction_s``: see ``IDLE_IN_TRANSACTION_S``."""
    pool = TimedPool(
        dsn,
        init_size=None,
        min_size=1,
        max_size=size,
        max_queries=50000,
        max_inactive_connection_lifetime=300.0,
        connect=None,
        setup=None,
        init=None,
        reset=_no_session_state,
        loop=None,
        connection_class=asyncpg.Connection,
        record_class=asyncpg.Record,
        command_timeout=60,
        server_settings={"idle_in_transaction_session_timeout": str(round(idle_in_transaction_s * 1000))},
    )
    pool.acquire_timeout = acquire_timeout
    pool.turns = Turns(size, on_waited=on_waited)
    await pool
    return pool


@asynccontextmanager
async def one_connection(dsn: str) -> AsyncIterator[asyncpg.Connection]:
    """One connection for a one-shot run (an operator's command, the demo's seeding), made as the
    services' pools make theirs (their session settings, their reset), closed at the end."""
    pool = await create_pool(dsn, size=1)
    try:
        async with pool.acquire() as conn:
            yield conn
    finally:
        await pool.close()


LOCK_HOLDER_KEEPALIVES = {
    "tcp_keepalives_idle": "10",
    "tcp_keepalives_interval": "5",
    "tcp_keepalives_count": "3",
    "tcp_user_timeout": "30000",
}
"""Postgres ends a session when TCP says its client is gone: after about 25 s of silence (10 s, then
three probes 5 s apart), or 30 s of data left unacknowledged. Linux's defaults wait 2 h 11 min."""


async def lock_holder_connection(dsn: str) -> asyncpg.Connection:
    """A connection of its own for a session-level advisory lock: the relay's lead, the migrations.
    A replica whose host vanishes (powered off, cut off) sends no goodbye; the server keeps its
    session, and the lock with it, until TCP gives up on the client, and meanwhile no other replica
    relays its outbox or starts. With ``LOCK_HOLDER_KEEPALIVES`` the lock passes on within a minute
    (a pooled session is bounded by ``IDLE_IN_TRANSACTION_S`` instead: its locks are a transaction's)."""
    return await asyncpg.connect(dsn, server_settings=LOCK_HOLDER_KEEPALIVES)


async def database_ready(pool: asyncpg.Pool | None) -> bool:
    """For readiness endpoints: a connection answers within two seconds (reports, never raises)."""
    if pool is None:
        return False
    try:
        async with pool.acquire(timeout=2) as conn:
            return bool(await conn.fetchval("SELECT true", timeout=2))
    except Exception:
        return False


class ConnectionAdapter(AsyncPGAdapter):
    """aiosql's asyncpg adapter, for the connection it is given: our repositories take a connection
    and the caller owns the transaction, so a query never acquires one itself.

    aiosql's own adapter asks ``"acquire" in dir(conn)`` before every query, to tell a pool from a
    connection: about 50 µs each, 47,000 times in a flow bench of 1,000 requests (2.5 s of the
    requests service's CPU).
    """

    def _arguments(self, query_name: str, parameters: Any) -> Sequence[Any]:
        if isinstance(parameters, dict):
            return [parameters[name] for name in self.var_sorted[query_name]]
        return tuple(parameters)

    async def select(self, conn: Any, query_name: str, sql: str, parameters: Any, record_class: Any = None) -> Any:
        for row in await conn.fetch(sql, *self._arguments(query_name, parameters)):
            yield row if record_class is None else record_class(**dict(row))

    async def select_one(self, conn: Any, query_name: str, sql: str, parameters: Any, record_class: Any = None) -> Any:
        row = await conn.fetchrow(sql, *self._arguments(query_name, parameters))
        return row if row is None or record_class is None else record_class(**dict(row))

    async def select_value(self, conn: Any, query_name: str, sql: str, parameters: Any) -> Any:
        return await conn.fetchval(sql, *self._arguments(query_name, parameters))

    async def insert_returning(self, conn: Any, query_name: str, sql: str, parameters: Any) -> Any:
        row = await conn.fetchrow(sql, *self._arguments(query_name, parameters))
        return None if not row else (row[0] if len(row) == 1 else row)

    async def insert_update_delete(self, conn: Any, query_name: str, sql: str, parameters: Any) -> Any:
        return await conn.execute(sql, *self._arguments(query_name, parameters))

    async def insert_update_delete_many(self, conn: Any, query_name: str, sql: str, parameters: Any) -> Any:
        return await conn.executemany(sql, [self._arguments(query_name, p) for p in parameters])

    async def execute_script(self, conn: Any, sql: str) -> Any:
        return await conn.execute(sql)


def load_queries(sql_dir: Path) -> Any:
    """Named queries from ``*.sql`` files (aiosql), called as ``await q.name(conn, **params)``."""
    return aiosql.from_path(sql_dir, ConnectionAdapter)


def _migration_files(directory: Path) -> list[tuple[int, str, Path]]:
    files = []
    for path in sorted(directory.glob("*.sql")):
        number, _, name = path.stem.partition("_")
        files.append((int(number), name, path))
    return files


async def migrate(conn: asyncpg.Connection, service_dirs: Sequence[tuple[str, Path]]) -> list[str]:
    """Apply numbered ``.sql`` files not yet applied, each in its own transaction.

    The runtime's tables (outbox, inbox) come first; an advisory lock makes concurrent starts of
    several replicas take turns instead of racing on the same DDL.
    """
    applied: list[str] = []
    sources = [("runtime", RUNTIME_MIGRATIONS), *service_dirs]
    lock_key = int.from_bytes(hashlib.sha256(b"recouvrement-migrations").digest()[:8], "big", signed=True)
    await conn.execute("SELECT pg_advisory_lock($1)", lock_key)
    try:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migration ("
            " source text NOT NULL, version integer NOT NULL, name text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (source, version))"
        )
        done = {(r["source"], r["version"]) for r in await conn.fetch("SELECT source, version FROM schema_migration")}
        for source, directory in sources:
            for version, name, path in _migration_files(directory):
                if (source, version) in done:
                    continue
                async with conn.transaction():
                    await conn.execute(path.read_text())
                    await conn.execute(
                        "INSERT INTO schema_migration (source, version, name) VALUES ($1, $2, $3)",
                        source,
                        version,
                        name,
                    )
                applied.append(f"{source}:{path.name}")
                log.info("migration applied", extra={"migration": f"{source}:{path.name}"})
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", lock_key)
    return applied


def snapshot(conn: asyncpg.Connection) -> Any:
    """A read-only transaction whose statements all see the database as of one instant. For an
    answer built from several reads (a debit and its history, a request and its history): under READ
    COMMITTED, even inside a plain transaction, each statement sees the commits made before it, and a
    change committed between two reads shows half of it (a state its history does not explain)."""
    return conn.transaction(isolation="repeatable_read", readonly=True)


async def rows(results: AsyncIterator[asyncpg.Record]) -> list[asyncpg.Record]:
    """aiosql yields the rows of a many-row query; callers usually want them all at once."""
    return [row async for row in results]
