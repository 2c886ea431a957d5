"""Orders waiting for their bank's answer (``sql/follow_up.sql``). Takes a connection: the caller
owns the transaction."""

from datetime import date
from pathlib import Path

import asyncpg

from services.debits.domain.follow_up import Unanswered
from services.runtime.db import load_queries, rows

_Q = load_queries(Path(__file__).parent / "sql")


def unanswered_of(row: asyncpg.Record) -> Unanswered:
    return Unanswered(
        end_to_end_id=row["end_to_end_id"],
        sequence=row["sequence"],
        attempt=row["attempt"],
        requested_collection_date=row["requested_collection_date"],
        resends=row["resends"],
        resent_on=row["resent_on"],
        flagged_on=row["flagged_on"],
    )


class FollowUpRepository:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def unanswered(self, before: date, after: str, page: int) -> list[asyncpg.Record]:
        """Locked (SKIP LOCKED), in end-to-end id order after ``after``."""
        return await rows(_Q.unanswered_orders(self._conn, before=before, after=after, page=page))

    async def mark_resent(self, end_to_end_id: str, on: date) -> None:
        await _Q.mark_resent(self._conn, end_to_end_id=end_to_end_id, on=on)

    async def mark_flagged(self, end_to_end_id: str, on: date) -> None:
        await _Q.mark_flagged(self._conn, end_to_end_id=end_to_end_id, on=on)

    async def count_per_state(self) -> dict[str, int]:
        return {row["state"]: row["n"] for row in await rows(_Q.unanswered_per_state(self._conn))}

    async def flagged(self) -> list[asyncpg.Record]:
        return await rows(_Q.flagged_orders(self._conn))
