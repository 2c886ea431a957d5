"""Remission plans in the debt, learnt from events only: a VALIDATED request (``requests.events.v1``)
opens a pending remission; each settled debit (``debits.events.v1``) is a payment on it, booked in
debt's ledger like a ``PaymentReceived``; ``PlanCompleted`` makes the remission definitive (the
shares written off); ``PlanDefaulted`` reinstates it (nothing written off, payments stay).

Each handler runs in the consumer's transaction (``subscribe_all``: inbox claim, one savepoint per
message) and, when it changed anything, bumps the affiliate's version, stores its debt document and
announces its whole position, as the ledger path does.

Nothing orders the two topics against each other: a plan event whose request debt has not seen
VALIDATED yet waits (``service/pending.py``) and the VALIDATED applies it, in the same transaction
that creates the plan. Both take the request's lock first, so neither misses the other.
"""

from datetime import date
from decimal import Decimal
from typing import TypeGuard
from uuid import UUID

import asyncpg

from contracts.debits import DebitChanged, PlanCompleted, PlanDefaulted, PlanScheduled
from contracts.requests import RequestStateChanged
from services.debt.adapters.pending import PendingRepository
from services.debt.adapters.repository import EntryRow, PositionRepository
from services.debt.domain import remission as domain
from services.debt.domain.ledger import Booking, Side
from services.debt.domain.position import Category, Remission
from services.debt.service import pending
from services.debt.service.apply_ledger import announce, book
from services.runtime.clock import Clock
from services.runtime.consumer import Unapplicable

PAYMENT_KIND = "plan.payment"
WRITE_OFF_KIND = "plan.write_off"


async def on_request_event(conn: asyncpg.Connection, event: RequestStateChanged, clock: Clock, cutoff: str) -> None:
    """A VALIDATED request opens its pending remission, once, then applies the plan events that came
    before it; other transitions change nothing here (completion and default come from debits, which
    knows the payments)."""
    p = event.payload
    if p.state != "VALIDATED" or p.plan is None:
        return
    quote = p.plan.quote
    await PendingRepository(conn).lock_request(p.request_id)
    repo = PositionRepository(conn)
    balances = await repo.balances_for_update(p.affiliate)
    remise: dict[Category, Decimal] = {
        "principal": quote.remise.principal,
        "majorations": quote.remise.majorations,
        "astreintes": quote.remise.astreintes,
        "frais": quote.remise.frais,
    }
    created = await repo.insert_plan(p.request_id, p.affiliate, quote.eligible_periods, remise, quote.to_pay, p.at)
    if created:  # else the same validation announced again: the plan stands as it was
        sharing = domain.plan_shares(remise, quote.eligible_periods, balances)
        await repo.insert_shares(p.request_id, {period: dict(s) for period, s in sharing.shares.items()})
        await announce(conn, [p.affiliate], clock, cutoff)
    # The plan's events that came first (debt read debits.events.v1 ahead of requests.events.v1): now.
    await pending.release(conn, p.request_id, lambda c, e: apply_plan_event(c, e, clock, cutoff))


def _needs_plan(
    event: PlanScheduled | DebitChanged | PlanCompleted | PlanDefaulted,
) -> TypeGuard[DebitChanged | PlanCompleted | PlanDefaulted]:
    """Scheduled, ordered, failed, cancelled: nothing owed changes, whatever debt knows of the plan."""
    match event:
        case DebitChanged():
            return event.payload.debit.state == "SETTLED"
        case PlanCompleted() | PlanDefaulted():
            return True
        case _:
            return False


async def on_debits_event(
    conn: asyncpg.Connection,
    event: PlanScheduled | DebitChanged | PlanCompleted | PlanDefaulted,
    clock: Clock,
    cutoff: str,
) -> None:
    if not _needs_plan(event):
        return
    waiting = PendingRepository(conn)
    await waiting.lock_request(event.payload.request_id)
    if not await waiting.plan_known(event.payload.request_id):
        await pending.wait_for_validation(conn, event, clock)  # its VALIDATED applies it
        return
    await apply_plan_event(conn, event, clock, cutoff)


async def apply_plan_event(
    conn: asyncpg.Connection, event: DebitChanged | PlanCompleted | PlanDefaulted, clock: Clock, cutoff: str
) -> None:
    """A plan event whose plan exists (debt saw its request VALIDATED)."""
    match event:
        case DebitChanged() if event.payload.debit.state == "SETTLED":
            await _payment(conn, event, clock, cutoff)
        case PlanCompleted():
            await _completed(conn, event, clock, cutoff)
        case PlanDefaulted():
            await _defaulted(conn, event, clock, cutoff)
        case _:
            return


async def _plan(repo: PositionRepository, request_id: UUID) -> Remission:
    plan = await repo.plan_for_update(request_id)
    if plan is None:
        # Not reached through on_debits_event, which keeps such an event waiting for its VALIDATED.
        raise Unapplicable(f"plan {request_id} inconnu de debt (demande jamais vue VALIDATED)")
    return plan


def _entry(
    event_id: UUID,
    affiliate: str,
    entry_id: str,
    kind: str,
    side: Side,
    key: tuple[str, Category],
    amount: Decimal,
    on: date,
) -> tuple[EntryRow, Booking]:
    period, category = key
    return (
        EntryRow(entry_id, event_id, affiliate, kind, period, category, amount, on),
        Booking(affiliate, period, category, side, amount, on),
    )


async def _payment(conn: asyncpg.Connection, event: DebitChanged, clock: Clock, cutoff: str) -> None:
    p = event.payload
    debit = p.debit
    repo = PositionRepository(conn)
    balances = await repo.balances_for_update(p.affiliate)
    plan = await _plan(repo, p.request_id)
    if not await repo.insert_payment(p.request_id, debit.sequence, debit.attempts, debit.amount, p.at):
        return  # this debit's settlement was booked before
    # While the remission is pending, the plan pays what it covers: outstanding minus the shares.
    pending = plan.shares if plan.state == "PENDING" else {}
    imputation = domain.impute(debit.amount, domain.covered(plan.eligible_periods, balances, pending))
    prefix = f"plan:{p.request_id}:pay:{debit.sequence}:{debit.attempts}"
    on = p.at.date()
    entries = [
        _entry(event.event_id, p.affiliate, f"{prefix}:{key[0]}:{key[1]}", PAYMENT_KIND, "paid", key, amount, on)
        for key, amount in imputation.parts
    ]
    await book(conn, entries)
    await repo.record_imputation(p.request_id, debit.sequence, debit.amount - imputation.surplus, imputation.surplus)
    await announce(conn, [p.affiliate], clock, cutoff)


async def _completed(conn: asyncpg.Connection, event: PlanCompleted, clock: Clock, cutoff: str) -> None:
    p = event.payload
    repo = PositionRepository(conn)
    balances = await repo.balances_for_update(p.affiliate)
    plan = await _plan(repo, p.request_id)
    if plan.state == "DEFINITIVE":
        return
    if plan.state == "REINSTATED":
        raise Unapplicable(f"plan {p.request_id} : déjà en défaut, il ne peut être achevé")
    entries = [
        _entry(
            event.event_id,
            p.affiliate,
            f"plan:{p.request_id}:writeoff:{key[0]}:{key[1]}",
            WRITE_OFF_KIND,
            "written_off",
            key,
            amount,
            p.completed_on,
        )
        for key, amount in domain.write_offs(plan.shares, balances)
    ]
    await book(conn, entries)
    await repo.close_plan(p.request_id, "DEFINITIVE", p.completed_on)
    await announce(conn, [p.affiliate], clock, cutoff)


async def _defaulted(conn: asyncpg.Connection, event: PlanDefaulted, clock: Clock, cutoff: str) -> None:
    p = event.payload
    repo = PositionRepository(conn)
    await repo.balances_for_update(p.affiliate)
    plan = await _plan(repo, p.request_id)
    if plan.state == "REINSTATED":
        return
    if plan.state == "DEFINITIVE":
        raise Unapplicable(f"plan {p.request_id} : déjà achevé, il ne peut être en défaut")
    # Nothing to book: nothing was written off, so every remitted amount is owed again as it stands.
    await repo.close_plan(p.request_id, "REINSTATED", p.defaulted_on)
    await announce(conn, [p.affiliate], clock, cutoff)
