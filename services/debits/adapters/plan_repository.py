"""Plans, debits, orders and their history in Postgres. Takes a connection: the caller owns the transaction."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg

from services.debits.domain.debits import Change, Debit
from services.runtime.db import load_queries, rows

_Q = load_queries(Path(__file__).parent / "sql")


@dataclass(frozen=True)
class NewPlan:
    """A plan as its validation creates it: the account's RIB, bank and holder copied, the mandate's
    id and date (the mandate names this RIB, whatever the account becomes)."""

    request_id: UUID
    affiliate: str
    programme: str
    modality: str
    bank_account_id: str
    rib: str
    bank_code: str
    holder: str
    mandate_id: str
    mandate_signed_on: date
    installments_total: int
    created_at: datetime


def debit_of(row: asyncpg.Record) -> Debit:
    return Debit(
        sequence=row["sequence"],
        kind=row["kind"],
        due_date=row["due_date"],
        collection_date=row["collection_date"],
        amount=row["amount"],
        state=row["state"],
        attempts=row["attempts"],
        next_attempt_on=row["next_attempt_on"],
    )


class PlanRepository:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def count_per_state(self) -> dict[str, int]:
        return {row["state"]: row["n"] for row in await rows(_Q.debits_per_state(self._conn))}

    async def save_profiles(self, profiles: dict[str, str]) -> None:
        if profiles:
            await _Q.upsert_profiles(self._conn, affiliates=list(profiles), raisons_sociales=list(profiles.values()))

    async def accounts(self, wanted: Sequence[tuple[str, str]]) -> dict[tuple[str, str], asyncpg.Record]:
        """The accounts named, by (account id, affiliate): one that is not that affiliate's is absent."""
        found = await rows(
            _Q.accounts_for_plans(self._conn, ids=[i for i, _ in wanted], affiliates=[a for _, a in wanted])
        )
        return {(row["id"], row["affiliate"]): row for row in found}

    async def insert_plans(self, plans: Sequence[NewPlan]) -> set[UUID]:
        """The request ids whose plan is new: a request that has its plan already keeps it as it is."""
        if not plans:
            return set()
        created = await rows(
            _Q.insert_plans(
                self._conn,
                request_ids=[p.request_id for p in plans],
                affiliates=[p.affiliate for p in plans],
                programmes=[p.programme for p in plans],
                modalities=[p.modality for p in plans],
                bank_account_ids=[p.bank_account_id for p in plans],
                ribs=[p.rib for p in plans],
                bank_codes=[p.bank_code for p in plans],
                holders=[p.holder for p in plans],
                mandate_ids=[p.mandate_id for p in plans],
                mandate_signed_ons=[p.mandate_signed_on for p in plans],
                installments_totals=[p.installments_total for p in plans],
                created_at=plans[0].created_at,
            )
        )
        return {row["request_id"] for row in created}

    async def insert_debits(self, plans: Sequence[tuple[UUID, Sequence[Debit]]]) -> None:
        debits = [(request_id, d) for request_id, ds in plans for d in ds]
        if not debits:
            return
        await _Q.insert_debits(
            self._conn,
            request_ids=[r for r, _ in debits],
            sequences=[d.sequence for _, d in debits],
            kinds=[d.kind for _, d in debits],
            due_dates=[d.due_date for _, d in debits],
            collection_dates=[d.collection_date for _, d in debits],
            amounts=[d.amount for _, d in debits],
            states=[d.state for _, d in debits],
            attempts=[d.attempts for _, d in debits],
            next_attempts=[d.next_attempt_on for _, d in debits],
        )

    async def update_debits(self, changed: Sequence[tuple[UUID, Debit]]) -> None:
        """State, attempts, next attempt and dates (a run moves a late plan's debits) of each debit."""
        if changed:
            await _Q.update_debits(
                self._conn,
                request_ids=[r for r, _ in changed],
                sequences=[d.sequence for _, d in changed],
                due_dates=[d.due_date for _, d in changed],
                collection_dates=[d.collection_date for _, d in changed],
                states=[d.state for _, d in changed],
                attempts=[d.attempts for _, d in changed],
                next_attempts=[d.next_attempt_on for _, d in changed],
            )

    async def add_history(self, changes: Sequence[tuple[UUID, Change]], at: datetime) -> None:
        if changes:
            await _Q.insert_history(
                self._conn,
                request_ids=[r for r, _ in changes],
                sequences=[c.sequence for _, c in changes],
                at=at,
                from_states=[c.from_state for _, c in changes],
                to_states=[c.to_state for _, c in changes],
                attempts=[c.attempt for _, c in changes],
                reasons=[c.reason[:500] for _, c in changes],
                end_to_end_ids=[c.end_to_end_id for _, c in changes],
                reason_codes=[c.reason_code for _, c in changes],
                finals=[c.final for _, c in changes],
                next_attempts=[c.next_attempt_on for _, c in changes],
            )

    async def plan(self, request_id: UUID, *, lock: bool = False) -> asyncpg.Record | None:
        query = _Q.lock_plan if lock else _Q.plan_of
        record: asyncpg.Record | None = await query(self._conn, request_id=request_id)
        return record

    async def close_plan(self, request_id: UUID, state: str, closed_on: date) -> None:
        await _Q.close_plan(self._conn, request_id=request_id, state=state, closed_on=closed_on)

    async def debits(self, request_id: UUID) -> list[Debit]:
        return [debit_of(r) for r in await rows(_Q.debits_of(self._conn, request_id=request_id))]

    async def history(self, request_id: UUID) -> list[asyncpg.Record]:
        return await rows(_Q.history_of(self._conn, request_id=request_id))

    async def count_due(self, on_date: date) -> int:
        count: int = await _Q.count_due(self._conn, on_date=on_date)
        return count

    async def claim_due(self, on_date: date, page: int) -> list[asyncpg.Record]:
        return await rows(_Q.claim_due(self._conn, on_date=on_date, page=page))

    async def claim_due_of_plan(self, request_id: UUID, on_date: date) -> list[asyncpg.Record]:
        return await rows(_Q.claim_due_of_plan(self._conn, request_id=request_id, on_date=on_date))

    async def hold(self, request_id: UUID, reason: str, at: datetime) -> None:
        await _Q.hold_plan(self._conn, request_id=request_id, reason=reason, at=at)

    async def held(self) -> list[asyncpg.Record]:
        return await rows(_Q.held_plans(self._conn))

    async def count_held(self) -> dict[str, int]:
        """For the ``debit_plans_held`` gauge."""
        return {"held": await _Q.count_held(self._conn)}

    async def release(self, request_ids: Sequence[UUID]) -> list[UUID]:
        return [row["request_id"] for row in await rows(_Q.release_plans(self._conn, request_ids=list(request_ids)))]

    async def pending_debits(self, request_ids: Sequence[UUID]) -> dict[UUID, list[Debit]]:
        """The debits still to be sent of each plan, by sequence (the caller holds the plans' locks)."""
        found: dict[UUID, list[Debit]] = {}
        for row in await rows(_Q.pending_debits_of(self._conn, request_ids=list(request_ids))):
            found.setdefault(row["request_id"], []).append(debit_of(row))
        return found

    async def drop_replayed_orders_moved_on(self) -> int:
        """In a replay's transaction, after a broker loss: ``run_orders.sql`` says which orders go."""
        count: int = await _Q.drop_replayed_orders_moved_on(self._conn)
        return count

    async def insert_orders(self, orders: Sequence[dict[str, Any]], run_date: date, ordered_at: datetime) -> None:
        if orders:
            await _Q.insert_orders(
                self._conn,
                end_to_end_ids=[o["end_to_end_id"] for o in orders],
                request_ids=[o["request_id"] for o in orders],
                sequences=[o["sequence"] for o in orders],
                attempts=[o["attempt"] for o in orders],
                bank_codes=[o["bank_code"] for o in orders],
                amounts=[o["amount"] for o in orders],
                collection_dates=[o["requested_collection_date"] for o in orders],
                run_date=run_date,
                ordered_at=ordered_at,
            )

    async def order(self, end_to_end_id: str, *, lock: bool = False) -> asyncpg.Record | None:
        query = _Q.lock_order if lock else _Q.order_by_id
        record: asyncpg.Record | None = await query(self._conn, end_to_end_id=end_to_end_id)
        return record

    async def record_result(self, end_to_end_id: str, outcome: str, reason_code: str | None, result_on: date) -> None:
        await _Q.record_result(
            self._conn, end_to_end_id=end_to_end_id, outcome=outcome, reason_code=reason_code, result_on=result_on
        )
