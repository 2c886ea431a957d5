"""asyncpg pool, named SQL files and the migration runner."""

import hashlib
import logging
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import aiosql
import asyncpg

log = logging.getLogger(__name__)

RUNTIME_MIGRATIONS = Path(__file__).parent / "migrations"


async def _no_session_state(conn: asyncpg.Connection) -> None:
    """Pooled connections carry no session state (no LISTEN, no session lock, no SET): the relay and
    the migrations use connections of their own. Skipping asyncpg's default reset saves a round trip
    on every release, a sizable share of a cached read."""


async def create_pool(dsn: str, *, size: int = 10) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=size, command_timeout=60, reset=_no_session_state)
    assert pool is not None
    return pool


async def database_ready(pool: asyncpg.Pool | None) -> bool:
    """For readiness endpoints: a connection answers within two seconds (reports, never raises)."""
    if pool is None:
        return False
    try:
        async with pool.acquire(timeout=2) as conn:
            return bool(await conn.fetchval("SELECT true", timeout=2))
    except Exception:
        return False


def load_queries(sql_dir: Path) -> Any:
    """Named queries from ``*.sql`` files (aiosql), called as ``await q.name(conn, **params)``."""
    return aiosql.from_path(sql_dir, "asyncpg")


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


async def rows(results: AsyncIterator[asyncpg.Record]) -> list[asyncpg.Record]:
    """aiosql yields the rows of a many-row query; callers usually want them all at once."""
    return [row async for row in results]
