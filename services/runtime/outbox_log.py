"""The outbox as a replayable log: what the relay published, kept for a window, sent again on demand.

The broker is not where the events live: a memory-only broker that restarts, a cluster rebuilt, or a
topic deleted and recreated takes with it every event that was acknowledged but not yet read. The
relay moves each published row to ``outbox_log`` (same id, same event id, where the broker put it)
instead of deleting it, and keeps it for ``OUTBOX_RETENTION_DAYS``. A replay puts logged rows back
into the outbox under their original ids, so they leave before what was written after them, and
the consumers' inboxes apply each once. Who replays: the relay itself, when it finds its broker lost
them (``epochs``, and a partition whose offsets went back), and an operator
(``recouvrement <service> replay --since``).
"""

import logging
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import asyncpg

from services.runtime.db import load_queries, rows

log = logging.getLogger(__name__)
_QUERIES = load_queries(Path(__file__).parent / "sql" / "outbox.sql")
_FOREVER = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class ReplayPolicy:
    """What a service adds to a replay after its broker lost what it published."""

    prune: Callable[[asyncpg.Connection], Awaitable[int]] | None = None
    """Runs in the replay's transaction and drops replayed rows the business has moved past (debits:
    an order its bank has answered is not presented again). Returns how many it dropped."""
    reannounce: Callable[[asyncpg.Connection], Awaitable[int]] | None = None
    """Runs after it: re-announces the state topics (positions, profiles, accounts), whose latest
    message may be older than the log's window."""


NO_POLICY = ReplayPolicy()


async def replay(
    conn: asyncpg.Connection,
    *,
    since: datetime | None = None,
    topics: Collection[str] | None = None,
) -> int:
    """Puts the logged events written at or after ``since`` (default: every one retained) of
    ``topics`` (default: all) back into the outbox and wakes the relay; returns how many. The
    caller owns the transaction."""
    count: int = await _QUERIES.replay(
        conn,
        since=since or _FOREVER,
        topics=sorted(topics) if topics is not None else None,
    )  # back in the outbox: its trigger wakes the relay at the caller's commit
    return count


async def replay_lost(conn: asyncpg.Connection, topics: Collection[str] | None, policy: ReplayPolicy) -> int:
    """After a broker lost ``topics`` (None: every one): the log's offsets for them are forgotten
    (they name the lost broker), every retained event of them is replayed, then the service prunes
    what it must not send again. Returns the events left to send. A batch being sent is still in
    the outbox: its rows are not replayed."""
    await _QUERIES.forget_offsets(conn, topics=sorted(topics) if topics is not None else None)
    replayed = await replay(conn, topics=topics)
    pruned = await policy.prune(conn) if policy.prune is not None else 0
    return replayed - pruned


async def high_water(conn: asyncpg.Connection) -> dict[tuple[str, int], int]:
    """``(topic, partition) -> the highest offset`` the current broker gave one of our events."""
    return {(r["topic"], r["partition"]): r["last_offset"] for r in await rows(_QUERIES.high_water(conn))}


async def purge(conn: asyncpg.Connection, before: datetime) -> int:
    """Deletes up to a few thousand events published before ``before``; returns how many."""
    count: int = await _QUERIES.purge_log(conn, before=before)
    return count


async def replay_window(database_url: str, since: datetime, topics: Collection[str] | None) -> int:
    """The operators' replay (``recouvrement <service> replay``), on the service's database."""
    conn = await asyncpg.connect(database_url)
    try:
        async with conn.transaction():
            count = await replay(conn, since=since, topics=topics)
    finally:
        await conn.close()
    log.warning(
        "outbox replayed by an operator",
        extra={"since": since.isoformat(), "topics": sorted(topics) if topics else "all", "events": count},
    )
    return count
