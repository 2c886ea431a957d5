"""What requests keeps of the other services' facts, applied in the consumer's transaction."""

import asyncpg

from contracts.auth import AffiliateRegistered
from contracts.debits import BankAccountsChanged
from contracts.debt import PositionChanged
from contracts.perception import GuaranteeDeposited, GuaranteeRefused
from contracts.requests import Guarantee
from contracts.simulation import QuoteIssued
from services.requests.adapters.repository import Profile, ProjectionRepository, RequestRepository
from services.requests.domain.eligibility import ArrangementFact, remissible
from services.requests.domain.refusals import Refusal
from services.requests.service import lifecycle
from services.requests.service.context import RequestsContext
from services.runtime.consumer import Unapplicable


async def on_position(conn: asyncpg.Connection, ctx: RequestsContext, event: PositionChanged) -> None:
    position = event.payload
    arrangement = position.arrangement
    await ProjectionRepository(conn).save_position(
        position.affiliate,
        position.version,
        remissible(position.periods, ctx.programme),
        ArrangementFact(arrangement.perception.code, arrangement.perception.name) if arrangement else None,
    )


async def on_profile(conn: asyncpg.Connection, event: AffiliateRegistered) -> None:
    p = event.payload
    await ProjectionRepository(conn).save_profile(
        p.affiliate, Profile(p.raison_sociale, p.perception.code, p.perception.name)
    )


async def on_bank_accounts(conn: asyncpg.Connection, event: BankAccountsChanged) -> None:
    p = event.payload
    await ProjectionRepository(conn).save_bank_accounts(p.affiliate, p.version, p.accounts)


async def on_quote(conn: asyncpg.Connection, event: QuoteIssued) -> None:
    quote = event.payload
    await ProjectionRepository(conn).save_quote(quote)
    await RequestRepository(conn).touch_draft(quote.affiliate, quote.issued_at)


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
        # or another affiliate's: nothing changes, and the dead letter tells an operator, who may have
        # to call the perception (a guarantee deposited on the deadline day that arrived after the sweep).
        raise Unapplicable(f"{refusal.code}: {refusal.message}") from None
