"""Article 2 in Postgres: the running plans to watch, their notices. Takes a connection: the caller
owns the transaction."""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from uuid import UUID

import asyncpg

from services.requests.adapters.repository import contributions_of, request_of
from services.requests.domain.obligations import Contribution, Notice
from services.requests.domain.request import RemissionRequest
from services.runtime.db import load_queries, rows

_Q = load_queries(Path(__file__).parent / "sql")


@dataclass(frozen=True)
class WatchedPlan:
    request: RemissionRequest
    contributions: list[Contribution]


def _notice(row: asyncpg.Record) -> Notice:
    return Notice(row["period"], row["amount"], row["due_on"], row["noticed_on"], row["cure_deadline"], row["cured_on"])


class ObligationRepository:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def unchecked_plans(self, today: date, after: UUID, page: int) -> list[WatchedPlan]:
        """Running plans not yet looked at as of ``today``, locked (others skipped) until the
        caller's transaction ends."""
        found = await rows(_Q.lock_unchecked_plans(self._conn, today=today, after=after, page=page))
        return [WatchedPlan(request_of(row), contributions_of(row["contributions"])) for row in found]

    async def mark_checked(self, ids: Sequence[UUID], today: date) -> None:
        await _Q.mark_checked(self._conn, ids=list(ids), today=today)

    async def notices(self, ids: Sequence[UUID]) -> dict[UUID, dict[str, Notice]]:
        found: dict[UUID, dict[str, Notice]] = defaultdict(dict)
        for row in await rows(_Q.notices_of(self._conn, ids=list(ids))):
            found[row["request_id"]][row["period"]] = _notice(row)
        return found

    async def add_notice(self, request_id: UUID, notice: Notice) -> None:
        await _Q.insert_notice(
            self._conn,
            request_id=request_id,
            period=notice.period,
            amount=notice.amount,
            due_on=notice.due_on,
            noticed_on=notice.noticed_on,
            cure_deadline=notice.cure_deadline,
        )

    async def cure(self, request_id: UUID, notice: Notice) -> None:
        await _Q.mark_cured(self._conn, request_id=request_id, period=notice.period, cured_on=notice.cured_on)

    async def contributions(self, affiliate: str) -> list[Contribution]:
        return contributions_of(await _Q.contributions_of(self._conn, affiliate=affiliate))

    async def watch_per_state(self) -> dict[str, int]:
        return {row["state"]: row["n"] for row in await rows(_Q.watch_per_state(self._conn))}
