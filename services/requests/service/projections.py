"""What requests keeps of the other services' facts, applied in the consumer's transaction."""

import logging
from typing import TypeVar

import asyncpg

from contracts.auth import AffiliateRegistered
from contracts.debits import BankAccountsChanged
from contracts.debt import PeriodPosition, PositionChanged
from contracts.programme import Programme
from contracts.simulation import QuoteIssued
from services.requests.adapters.repository import PositionRow, Profile, ProjectionRepository, RequestRepository
from services.requests.domain.eligibility import ArrangementFact, remissible
from services.requests.domain.obligations import Contribution, watched
from services.requests.service.context import RequestsContext

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
        rows.append(
            PositionRow(
                position.affiliate,
                position.version,
                remissible(position.periods, ctx.programme),
                fact,
                current_contributions(position.periods, ctx.programme),
            )
        )
    await ProjectionRepository(conn).save_positions(rows)


def current_contributions(periods: list[PeriodPosition], programme: Programme) -> list[Contribution]:
    """The contributions (principal) of the periods a plan of this programme can watch (article 2):
    after the month the programme opened, since no plan was validated before it."""
    opened = programme.window.opens_on
    return [
        Contribution(p.period, p.principal.due, p.principal.outstanding, p.principal_paid_on)
        for p in periods
        if p.principal.due > 0 and watched(p.period, opened)
    ]


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
