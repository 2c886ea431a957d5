"""SQL statements per unit of work, per service database, from Postgres's own count.

``BENCH_STATEMENTS=1`` loads ``pg_stat_statements`` in the bench's embedded Postgres (top-level
statements only: not the ones a trigger or a foreign key check runs inside). Each statement is a
round trip: the client's CPU to send and read it, the server's to run it, a wake-up on each side.
Unlike CPU seconds on a shared machine the count is exact, so a cut that removes round trips shows
the same figure on every run. ``flows`` prints statements per flow for each service.

    BENCH_STATEMENTS=1 BENCH_ONLY=flows BENCH_SCALE=0.5 make bench
"""

import os
import re
from typing import Any

import asyncpg

from services.stack.provisioning import database_url

ENABLED = os.environ.get("BENCH_STATEMENTS") == "1"
SERVER_SETTINGS = (
    {"shared_preload_libraries": "pg_stat_statements", "pg_stat_statements.track": "top"} if ENABLED else {}
)
_CONTROL = re.compile(r"^\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)", re.IGNORECASE)


async def _admin(server_url: str) -> asyncpg.Connection:
    return await asyncpg.connect(database_url(server_url, "postgres"))


async def install(server_url: str) -> None:
    if not ENABLED:
        return
    conn = await _admin(server_url)
    try:
        await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    finally:
        await conn.close()


async def reset(server_url: str) -> None:
    if not ENABLED:
        return
    conn = await _admin(server_url)
    try:
        await conn.execute("SELECT pg_stat_statements_reset()")
    finally:
        await conn.close()


async def per_database(server_url: str) -> dict[str, list[tuple[int, str]]]:
    """Each database's statements since the last ``reset``: (calls, query), most called first."""
    if not ENABLED:
        return {}
    conn = await _admin(server_url)
    try:
        found = await conn.fetch(
            "SELECT d.datname, s.calls, s.query FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid "
            "ORDER BY s.calls DESC"
        )
    finally:
        await conn.close()
    databases: dict[str, list[tuple[int, str]]] = {}
    for row in found:
        databases.setdefault(row["datname"], []).append((row["calls"], row["query"]))
    return databases


def summary(found: dict[str, list[tuple[int, str]]], service_of: dict[str, str], units: int) -> dict[str, Any]:
    """Per service: statements per unit, of which transaction control, and the most called."""
    out: dict[str, Any] = {}
    for database, statements in found.items():
        service = service_of.get(database)
        if service is None:
            continue
        total = sum(calls for calls, _ in statements)
        control = sum(calls for calls, query in statements if _CONTROL.match(query))
        out[service] = {
            "per_unit": round(total / units, 1),
            "control_per_unit": round(control / units, 1),
            "top": [(round(calls / units, 2), " ".join(query.split())[:90]) for calls, query in statements[:20]],
        }
    return out
