"""What requests keeps of the other services' facts, applied in the consumer's transaction."""

import logging
from typing import TypeVar

import asyncpg

from contracts.auth import AffiliateRegistered
from contracts.debits import BankAccountsChanged, DebitChanged, PlanCompleted, PlanDefaulted, PlanScheduled
from contracts.debt import PositionChanged
from contracts.perception import GuaranteeDeposited, GuaranteeRefused
from contracts.refusals import Refusal
from contracts.requests import Guarantee
from contracts.simulation import QuoteIssued
from services.requests.adapters.repository import Profile, ProjectionRepository, RequestRepository
from services.requests.domain.eligibility import ArrangementFact, remissible
from services.requests.service import lifecycle
from services.requests.service.context import RequestsContext
from services.runtime.consumer import Unapplicable

log = logging.getLogger(__name__)
Versioned = TypeVar("Versioned", PositionChanged, BankAccountsChanged)

# Projections apply a whole batch at once (a few statements per batch, see runtime.consumer.Bulk);
# where a batch holds several versions of one affiliate's fact, the newest wins here already.


def _newest(events: list[Versioned]) -> list[Versioned]:
    """The newest version of each affiliate's fact in a batch (one row per affiliate and statement)."""
    newest: dict[str, Versioned] = {}
    for event in events:
        known = newest.get(event.payload.affiliate)
        if known is None or known.payload.version < event.payload.version:
            newest[event.payload.affiliate] = event
    return list(newest.values())


async def on_positions(conn: asyncpg.Connection, ctx: RequestsContext, events: list[PositionChanged]) -> None:
    rows = []
    for event in _newest(events):
        position, arrangement = event.payload, event.payload.arrangement
        fact = ArrangementFact(arrangement.perception.code, arrangement.perception.name) if arrangement else None
        rows.append((position.affiliate, position.version, remissible(position.periods, ctx.programme), fact))
    await ProjectionRepository(conn).save_positions(rows)


async def on_profiles(conn: asyncpg.Connection, events: list[AffiliateRegistered]) -> None:
    profiles = {  # in topic order: the last announcement of an affiliate wins
        e.payload.affiliate: Profile(e.payload.raison_sociale, e.payload.perception.code, e.payload.perception.name)
        for e in events
    }
    await ProjectionRepository(conn).save_profiles(profiles)


async def on_bank_accounts(conn: asyncpg.Connection, events: list[BankAccountsChanged]) -> None:
    await ProjectionRepository(conn).save_bank_accounts(
        [(e.payload.affiliate, e.payload.version, e.payload.accounts) for e in _newest(events)]
    )


async def on_quotes(conn: asyncpg.Connection, events: list[QuoteIssued]) -> None:
    quotes = [event.payload for event in events]
    await ProjectionRepository(conn).save_quotes(quotes)
    await RequestRepository(conn).touch_drafts([(q.affiliate, q.issued_at) for q in quotes])


async def on_perception(
    conn: asyncpg.Connection, ctx: RequestsContext, event: GuaranteeDeposited | GuaranteeRefused
) -> None:
    p = event.payload
    try:
        if isinstance(event, GuaranteeDeposited):
            d = event.payload
            guarantee = Guarantee(
                reference=d.reference, type=d.guarantee_type, perception=d.perception, deposited_at=d.deposited_at
            )
            await lifecycle.guarantee_deposited(conn, ctx, p.request_id, p.affiliate, guarantee)
        else:
            r = event.payload
            await lifecycle.guarantee_refused(
                conn, ctx, r.request_id, r.affiliate, r.perception, r.reason, r.refused_at
            )
    except Refusal as refusal:
        # A late answer (the request expired or was withdrawn meanwhile), one for an unknown request
        # or another affiliate's, one from an office that was not asked or dated outside the request's
        # window: nothing changes, and the dead letter tells an operator, who may have to call the
        # perception (a guarantee deposited on the deadline day that arrived after the sweep).
        log.warning(
            "perception answer refused",
            extra={
                "request_id": str(p.request_id),
                "affiliate": p.affiliate,
                "perception": p.perception,
                "type": event.type,
                "code": refusal.code,
            },
        )
        raise Unapplicable(f"{refusal.code}: {refusal.message}") from None


async def on_debits(
    conn: asyncpg.Connection,
    ctx: RequestsContext,
    event: PlanScheduled | DebitChanged | PlanCompleted | PlanDefaulted,
) -> None:
    """The plan's life at debits moves the request: first payment, completion, default."""
    try:
        if isinstance(event, DebitChanged):
            if event.payload.debit.state == "SETTLED":
                await lifecycle.plan_progressed(
                    conn, ctx, event.payload.request_id, event.payload.affiliate, "settled", ""
                )
        elif isinstance(event, PlanCompleted):
            await lifecycle.plan_progressed(
                conn, ctx, event.payload.request_id, event.payload.affiliate, "completed", ""
            )
        elif isinstance(event, PlanDefaulted):
            p = event.payload
            await lifecycle.plan_progressed(conn, ctx, p.request_id, p.affiliate, "defaulted", p.reason)
    except Refusal as refusal:
        raise Unapplicable(f"{refusal.code}: {refusal.message}") from None
