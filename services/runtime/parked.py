"""Operators' view and repair of parked outbox rows (``recouvrement outbox ...``), without SQL."""

import logging
from pathlib import Path
from typing import Any

import asyncpg

from services.runtime.db import load_queries, rows

log = logging.getLogger(__name__)
_QUERIES = load_queries(Path(__file__).parent / "sql" / "outbox.sql")


async def parked(database_url: str) -> list[dict[str, Any]]:
    conn = await asyncpg.connect(database_url)
    try:
        return [dict(row) for row in await rows(_QUERIES.parked(conn))]
    finally:
        await conn.close()


async def requeue(database_url: str, ids: list[int]) -> list[int]:
    """Moves parked rows back to the outbox (original ids, so their key's order holds) and wakes the
    relay; returns the ids moved."""
    conn = await asyncpg.connect(database_url)
    try:
        async with conn.transaction():
            moved = [row["id"] for row in await rows(_QUERIES.requeue(conn, ids=ids))]  # the trigger wakes the relay
        return moved
    finally:
        await conn.close()


async def discard(database_url: str, ids: list[int], why: str) -> list[dict[str, Any]]:
    """Deletes parked rows for good; each is logged with the operator's reason."""
    conn = await asyncpg.connect(database_url)
    try:
        async with conn.transaction():
            gone = [dict(row) for row in await rows(_QUERIES.discard(conn, ids=ids))]
            await _QUERIES.notify(conn)  # the rows that waited behind them may go now
    finally:
        await conn.close()
    for row in gone:
        log.warning("parked event discarded by an operator", extra={**{k: str(v) for k, v in row.items()}, "why": why})
    return gone
