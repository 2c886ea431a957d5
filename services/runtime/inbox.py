"""Inbox: consumer-side deduplication, in the same transaction as the effect."""

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from uuid import UUID

import asyncpg

from services.runtime.db import load_queries, rows

_QUERIES = load_queries(Path(__file__).parent / "sql" / "inbox.sql")


async def claim(conn: asyncpg.Connection, consumer: str, event_ids: Iterable[UUID]) -> set[UUID]:
    """Record these events as applied by ``consumer``; return those that were not applied before.

    Call it inside the transaction that applies the effect: if the effect rolls back, so does the
    claim, and the redelivered message is applied then.
    """
    claimed = await rows(_QUERIES.claim(conn, consumer=consumer, event_ids=list(event_ids)))
    return {row["event_id"] for row in claimed}


async def purge(conn: asyncpg.Connection, before: datetime) -> int:
    """Forgets up to a few thousand events applied before ``before``; returns how many."""
    count: int = await _QUERIES.purge(conn, before=before)
    return count
