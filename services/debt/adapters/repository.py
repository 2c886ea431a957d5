"""Balances, positions and arrangements in Postgres. Takes a connection: the caller owns the transaction."""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from uuid import UUID

import asyncpg

from services.debt.domain.ledger import COLUMNS
from services.debt.domain.position import CATEGORIES, Arrangement, Line, PeriodBalance, Position
from services.runtime.db import load_queries, rows

_Q = load_queries(Path(__file__).parent / "sql")


@dataclass(frozen=True)
class EntryRow:
    entry_id: str
    event_id: UUID
    affiliate: str
    kind: str
    period: str | None
    category: str | None
    amount: Decimal | None
    effective_on: date


class PositionRepository:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def record_entries(self, entries: Sequence[EntryRow]) -> set[str]:
        """Store entries not seen before; return their ids (the others are duplicates)."""
        if not entries:
            return set()
        result = await rows(
            _Q.insert_entries(
                self._conn,
                entry_ids=[r.entry_id for r in entries],
                event_ids=[r.event_id for r in entries],
                affiliates=[r.affiliate for r in entries],
                kinds=[r.kind for r in entries],
                periods=[r.period for r in entries],
                categories=[r.category for r in entries],
                amounts=[r.amount for r in entries],
                effective_on=[r.effective_on for r in entries],
            )
        )
        return {row["entry_id"] for row in result}

    async def add_to_balances(self, deltas: dict[tuple[str, str], dict[str, Decimal]]) -> None:
        if not deltas:
            return
        keys = list(deltas)
        columns = {name: [deltas[key][name] for key in keys] for name in COLUMNS}
        await _Q.add_to_balances(self._conn, affiliates=[a for a, _ in keys], periods=[p for _, p in keys], **columns)

    async def open_arrangement(self, affiliate: str, arrangement: Arrangement) -> None:
        await _Q.open_arrangement(
            self._conn,
            affiliate=affiliate,
            arrangement_id=arrangement.arrangement_id,
            perception_code=arrangement.perception_code,
            perception_name=arrangement.perception_name,
            opened_on=arrangement.opened_on,
        )

    async def close_arrangement(self, affiliate: str, arrangement_id: str, closed_on: date) -> None:
        await _Q.close_arrangement(self._conn, affiliate=affiliate, arrangement_id=arrangement_id, closed_on=closed_on)

    async def bump_versions(self, affiliates: Sequence[str]) -> dict[str, int]:
        bumped = await rows(_Q.bump_versions(self._conn, affiliates=list(affiliates)))
        return {row["affiliate"]: row["version"] for row in bumped}

    async def positions(self, affiliates: Sequence[str], versions: dict[str, int] | None = None) -> list[Position]:
        """Positions of these affiliates; an affiliate with no entry yet has an empty version-0 position."""
        wanted = list(affiliates)
        if versions is None:
            versions = {
                row["affiliate"]: row["version"] for row in await rows(_Q.versions_of(self._conn, affiliates=wanted))
            }
        periods: dict[str, list[PeriodBalance]] = defaultdict(list)
        for row in await rows(_Q.balances_of(self._conn, affiliates=wanted)):
            lines = {c: Line(due=row[f"{c}_due"], paid=row[f"{c}_paid"]) for c in CATEGORIES}
            periods[row["affiliate"]].append(PeriodBalance(row["period"], lines))
        arrangements = {
            row["affiliate"]: Arrangement(
                row["arrangement_id"], row["perception_code"], row["perception_name"], row["opened_on"]
            )
            for row in await rows(_Q.active_arrangements_of(self._conn, affiliates=wanted))
        }
        return [Position.of(a, versions.get(a, 0), periods.get(a, ()), arrangements.get(a)) for a in wanted]

    async def save_views(self, views: dict[str, str], cutoff: str) -> None:
        """Store each affiliate's ready-to-serve debt document (JSON text)."""
        await _Q.save_views(self._conn, affiliates=list(views), views=list(views.values()), cutoff=cutoff)

    async def view_of(self, affiliate: str) -> str | None:
        view: str | None = await _Q.view_of(self._conn, affiliate=affiliate)
        return view

    async def stale_views(self, cutoff: str, limit: int) -> list[str]:
        return [row["affiliate"] for row in await rows(_Q.stale_views(self._conn, cutoff=cutoff, limit=limit))]

    async def lock(self, affiliates: Sequence[str]) -> None:
        """Until the caller's transaction ends, no batch changes these positions."""
        await rows(_Q.lock_positions(self._conn, affiliates=list(affiliates)))

    async def affiliates_after(self, after: str, limit: int) -> list[str]:
        return [row["affiliate"] for row in await rows(_Q.affiliates_page(self._conn, after=after, limit=limit))]
