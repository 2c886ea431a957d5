"""Balances, positions and arrangements in Postgres. Takes a connection: the caller owns the transaction."""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg

from services.debt.domain.ledger import COLUMNS
from services.debt.domain.position import (
    CATEGORIES,
    Arrangement,
    Category,
    Line,
    PeriodBalance,
    Position,
    Remission,
)
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

    async def add_to_balances(
        self, deltas: dict[tuple[str, str], dict[str, Decimal]], paid_on: dict[tuple[str, str], date] | None = None
    ) -> None:
        """Add each period's sums; ``paid_on`` moves its latest principal payment's date forward."""
        if not deltas:
            return
        keys = list(deltas)
        columns = {name: [deltas[key][name] for key in keys] for name in COLUMNS}
        dates = paid_on or {}
        await _Q.add_to_balances(
            self._conn,
            affiliates=[a for a, _ in keys],
            periods=[p for _, p in keys],
            principal_paid_on=[dates.get(key) for key in keys],
            **columns,
        )

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

    async def without_position(self, affiliates: Sequence[str]) -> list[str]:
        """Those the ledger has never mentioned."""
        return [row["affiliate"] for row in await rows(_Q.without_position(self._conn, affiliates=list(affiliates)))]

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
            periods[row["affiliate"]].append(_balance(row))
        arrangements = {
            row["affiliate"]: Arrangement(
                row["arrangement_id"], row["perception_code"], row["perception_name"], row["opened_on"]
            )
            for row in await rows(_Q.active_arrangements_of(self._conn, affiliates=wanted))
        }
        remissions = await self.remissions(wanted)
        return [
            Position.of(a, versions.get(a, 0), periods.get(a, ()), arrangements.get(a), remissions.get(a))
            for a in wanted
        ]

    # --- remission plans (learnt from requests' and debits' events) ---------------------------

    async def balances_for_update(self, affiliate: str) -> list[PeriodBalance]:
        """The affiliate's balances, locked until the caller's transaction ends."""
        return [_balance(row) for row in await rows(_Q.balances_for_update(self._conn, affiliate=affiliate))]

    async def insert_plan(
        self,
        request_id: UUID,
        affiliate: str,
        eligible_periods: Sequence[str],
        remise: dict[Category, Decimal],
        to_pay: Decimal,
        validated_at: datetime,
    ) -> bool:
        """False when this request's plan is known already."""
        inserted = await rows(
            _Q.insert_plan(
                self._conn,
                request_id=request_id,
                affiliate=affiliate,
                eligible_periods=list(eligible_periods),
                remise_principal=remise["principal"],
                remise_majorations=remise["majorations"],
                remise_astreintes=remise["astreintes"],
                remise_frais=remise["frais"],
                to_pay=to_pay,
                validated_at=validated_at,
            )
        )
        return bool(inserted)

    async def insert_shares(self, request_id: UUID, shares: dict[str, dict[Category, Decimal]]) -> None:
        items = [(p, c, amount) for p, by_category in shares.items() for c, amount in by_category.items()]
        if not items:
            return
        await _Q.insert_shares(
            self._conn,
            request_ids=[request_id] * len(items),
            periods=[p for p, _, _ in items],
            categories=[c for _, c, _ in items],
            amounts=[a for _, _, a in items],
        )

    async def plan_for_update(self, request_id: UUID) -> Remission | None:
        row = await _Q.plan_for_update(self._conn, request_id=request_id)
        if row is None:
            return None
        shares = await self._shares([row["request_id"]])
        return _remission(row, shares.get(row["request_id"], {}))

    async def insert_payment(
        self, request_id: UUID, sequence: int, attempt: int, amount: Decimal, settled_at: datetime
    ) -> bool:
        """False when this debit's settlement was recorded before."""
        inserted = await rows(
            _Q.insert_payment(
                self._conn,
                request_id=request_id,
                sequence=sequence,
                attempt=attempt,
                amount=amount,
                settled_at=settled_at,
            )
        )
        return bool(inserted)

    async def record_imputation(self, request_id: UUID, sequence: int, imputed: Decimal, surplus: Decimal) -> None:
        await _Q.record_surplus(self._conn, request_id=request_id, sequence=sequence, surplus=surplus)
        await _Q.add_paid(self._conn, request_id=request_id, imputed=imputed, surplus=surplus)

    async def close_plan(self, request_id: UUID, state: str, closed_on: date) -> None:
        await _Q.close_plan(self._conn, request_id=request_id, state=state, closed_on=closed_on)

    async def remissions(self, affiliates: Sequence[str]) -> dict[str, Remission]:
        """Each affiliate's latest validated plan, with its shares."""
        plans = await rows(_Q.remissions_of(self._conn, affiliates=list(affiliates)))
        if not plans:
            return {}
        shares = await self._shares([row["request_id"] for row in plans])
        return {row["affiliate"]: _remission(row, shares.get(row["request_id"], {})) for row in plans}

    async def _shares(self, request_ids: list[UUID]) -> dict[UUID, dict[str, dict[Category, Decimal]]]:
        out: dict[UUID, dict[str, dict[Category, Decimal]]] = defaultdict(dict)
        for row in await rows(_Q.shares_of(self._conn, request_ids=request_ids)):
            out[row["request_id"]].setdefault(row["period"], {})[row["category"]] = row["amount"]
        return out

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


def _balance(row: Any) -> PeriodBalance:
    lines = {
        c: Line(due=row[f"{c}_due"], paid=row[f"{c}_paid"], written_off=row[f"{c}_written_off"]) for c in CATEGORIES
    }
    return PeriodBalance(row["period"], lines, row["principal_paid_on"])


def _remission(row: Any, shares: dict[str, dict[Category, Decimal]]) -> Remission:
    return Remission(
        request_id=str(row["request_id"]),
        state=row["state"],
        eligible_periods=tuple(row["eligible_periods"]),
        remise={c: row[f"remise_{c}"] for c in CATEGORIES},
        to_pay=row["to_pay"],
        paid=row["paid"],
        unapplied=row["unapplied"],
        shares=shares,
    )
