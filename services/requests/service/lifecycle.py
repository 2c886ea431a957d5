"""Use cases of the request lifecycle. Each runs in one transaction with the events it emits."""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID, uuid4

import asyncpg

from contracts.programme import Modality
from contracts.refusals import Refusal
from contracts.requests import Actor, Guarantee
from contracts.simulation import Quote
from services.requests.adapters.repository import ProjectionRepository, RequestRepository
from services.requests.domain import guarantees
from services.requests.domain import request as lifecycle
from services.requests.domain.eligibility import (
    EligibilityFacts,
    refusals,
    request_in_progress,
    validation_refusals,
)
from services.requests.domain.request import QuoteCheck, RemissionRequest
from services.requests.service.context import RequestsContext
from services.requests.service.events import (
    AffiliateOffice,
    announcements,
    office_of,
    reannounce_guarantee_request,
    reannounce_validation,
    record,
)
from services.requests.service.obligations import watch_contributions
from services.runtime.clock import BUSINESS_TZ, business_date
from services.runtime.outbox import outbox_rows

log = logging.getLogger(__name__)


class NotFound(Refusal):
    """No such request, or not one of the caller's affiliates: the same answer either way."""

    def __init__(self) -> None:
        super().__init__("demande-introuvable", "Demande introuvable pour ce compte.", kind="not-found")


@dataclass(frozen=True, slots=True)
class Eligibility:
    refusals: list[Refusal]
    """Every reason the affiliate may not file a request now (empty: it may)."""
    debt_version: int | None
    """The version of the affiliate's debt known here (None: none announced yet)."""


async def eligibility(conn: asyncpg.Connection, ctx: RequestsContext, affiliate: str) -> Eligibility:
    known = await RequestRepository(conn).eligibility_facts(affiliate, ctx.programme.code)
    position = known.position
    facts = EligibilityFacts(
        request_in_progress=known.request_in_progress,
        arrangement=position.arrangement if position else None,
        remissible=position.remissible if position else None,
        defaulted_before=known.defaulted_before,
        today=business_date(ctx.clock),
    )
    return Eligibility(refusals(ctx.programme, facts), position.version if position else None)


async def create_request(
    conn: asyncpg.Connection, ctx: RequestsContext, affiliate: str, actor: Actor
) -> RemissionRequest:
    # No transaction: the eligibility read takes no lock (inside one, at READ COMMITTED, it would see
    # no more), and the request, its history line and its event are one statement, which the unique
    # index refuses when a request is in progress.
    found = (await eligibility(conn, ctx, affiliate)).refusals
    if found:
        raise found[0]
    request, entry = lifecycle.open_request(uuid4(), affiliate, ctx.programme, ctx.clock.now(), actor)
    events = outbox_rows(await announcements(conn, ctx, (request, entry)))
    if not await RequestRepository(conn).open(request, entry, events):  # another creation won the race
        raise request_in_progress(await RequestRepository(conn).in_progress_of(affiliate))
    return request


async def _locked(conn: asyncpg.Connection, request_id: UUID, affiliates: frozenset[str] | None) -> RemissionRequest:
    request = await RequestRepository(conn).get(request_id, for_update=True)
    if request is None or (affiliates is not None and request.affiliate not in affiliates):
        raise NotFound()
    return request


async def choose_modality(
    conn: asyncpg.Connection,
    ctx: RequestsContext,
    request_id: UUID,
    affiliates: frozenset[str],
    modality: Modality,
    obligation_accepted: bool,
    actor: Actor,
) -> RemissionRequest:
    async with conn.transaction():
        request = await _locked(conn, request_id, affiliates)
        change = lifecycle.choose_modality(request, modality, obligation_accepted, ctx.clock.now(), actor)
        await record(conn, ctx, change)
    return change[0]


async def choose_bank_account(
    conn: asyncpg.Connection,
    ctx: RequestsContext,
    request_id: UUID,
    affiliates: frozenset[str],
    account_id: str,
    actor: Actor,
) -> RemissionRequest:
    async with conn.transaction():
        found = await RequestRepository(conn).locked_with_accounts(request_id)
        if found is None or found[0].affiliate not in affiliates:
            raise NotFound()
        request, accounts = found
        registered = {a.id for a in accounts}
        change = lifecycle.choose_bank_account(request, account_id, registered, ctx.clock.now(), actor)
        await record(conn, ctx, change)
    return change[0]


async def validate(
    conn: asyncpg.Connection,
    ctx: RequestsContext,
    request_id: UUID,
    affiliates: frozenset[str],
    quote: Quote,
    cg_version: str,
    actor: Actor,
) -> RemissionRequest:
    async with conn.transaction():
        request = await _locked(conn, request_id, affiliates)
        facts = await ProjectionRepository(conn).validation_facts(request.affiliate, quote)
        if request.bank_account_id is not None and request.bank_account_id not in {a.id for a in facts.bank_accounts}:
            raise Refusal(
                "compte-bancaire-inconnu",
                "Le compte bancaire choisi n'est plus enregistré : choisissez-en un autre.",
                kind="invalid",
            )
        position = facts.position
        today = business_date(ctx.clock)
        if found := validation_refusals(ctx.programme, position.arrangement if position else None, today):
            raise found[0]
        check = QuoteCheck(
            known_debt_version=position.version if position else None,
            newer_quote_exists=facts.newer_quote_exists,
        )
        perception, raison_sociale = office_of(facts.profile)
        try:
            change = lifecycle.validate(
                request,
                quote,
                check,
                cg_version,
                ctx.programme,
                ctx.calendar,
                at=ctx.clock.now(),
                today=today,
                actor=actor,
                perception=perception,
            )
        except Refusal as refusal:
            if refusal.code == "perception-inconnue" and refusal.details.get("perception"):
                # Not the affiliate's doing: an office auth names that has no topic (contracts/perceptions.csv).
                log.warning(
                    "installment plan refused: the affiliate's office is not in the perception registry",
                    extra={"request_id": str(request_id), "perception": refusal.details["perception"]},
                )
            raise
        await record(conn, ctx, change, profile=(perception, raison_sociale))
    return change[0]


async def withdraw(
    conn: asyncpg.Connection, ctx: RequestsContext, request_id: UUID, affiliates: frozenset[str], actor: Actor
) -> RemissionRequest:
    async with conn.transaction():
        request = await _locked(conn, request_id, affiliates)
        change = lifecycle.withdraw(request, ctx.clock.now(), actor)
        await record(conn, ctx, change)
    return change[0]


async def _answered(conn: asyncpg.Connection, request_id: UUID, affiliate: str) -> RemissionRequest:
    request = await RequestRepository(conn).get(request_id, for_update=True)
    if request is None or request.affiliate != affiliate:
        raise _no_such_request(request_id, affiliate)
    return request


async def _answered_by_office(
    conn: asyncpg.Connection, request_id: UUID, affiliate: str
) -> tuple[RemissionRequest, AffiliateOffice]:
    """As ``_answered``, with the affiliate's office read in the same statement (a perception's answer
    is checked against it)."""
    found = await RequestRepository(conn).locked_with_profile(request_id)
    if found is None or found[0].affiliate != affiliate:
        raise _no_such_request(request_id, affiliate)
    return found[0], office_of(found[1])


def _no_such_request(request_id: UUID, affiliate: str) -> Refusal:
    return Refusal("demande-introuvable", f"Aucune demande {request_id} pour l'affilié {affiliate}.")


async def guarantee_deposited(
    conn: asyncpg.Connection, ctx: RequestsContext, request_id: UUID, affiliate: str, guarantee: Guarantee
) -> None:
    """In the consumer's transaction. A late, stray, misdated answer or another office's changes
    nothing and raises a Refusal."""
    request, profile = await _answered_by_office(conn, request_id, affiliate)
    office = profile[0]
    deposit_date = guarantee.deposited_at.astimezone(BUSINESS_TZ).date()
    actor = Actor(kind="perception", id=guarantee.perception)
    if request.state == "EXPIRED":  # after the sweep: kept for an operator (``reopen``)
        late = guarantees.deposit_after_expiry(
            request,
            guarantee,
            deposit_date,
            ctx.programme,
            actor,
            today=business_date(ctx.clock),
            affiliate_office=office.code,
        )
        await record(conn, ctx, late, profile=profile)
        log.warning("guarantees deposited after expiry: kept for an operator", extra={"request_id": str(request_id)})
        return
    change = guarantees.deposit_guarantee(
        request,
        guarantee,
        deposit_date,
        ctx.programme,
        ctx.calendar,
        actor,
        today=business_date(ctx.clock),
        affiliate_office=office.code,
    )
    await record(conn, ctx, change, profile=profile)


async def reopen(
    conn: asyncpg.Connection, ctx: RequestsContext, request_id: UUID, operator_name: str, why: str
) -> RemissionRequest:
    """``recouvrement requests reopen``: an expired request whose guarantees were deposited within the
    deadline is validated, its plan announced as any validation's. A new request the affiliate opened
    since stands in the way (one request in progress per affiliate)."""
    async with conn.transaction():
        request = await RequestRepository(conn).get(request_id, for_update=True)
        if request is None:
            raise NotFound()
        deposited = request.guarantee.deposited_at if request.guarantee else None
        deposit_date = deposited.astimezone(BUSINESS_TZ).date() if deposited else None
        change = guarantees.reopen(
            request, deposit_date, ctx.programme, ctx.calendar, ctx.clock.now(), guarantees.operator(operator_name), why
        )
        try:
            async with conn.transaction():  # a savepoint: the unique index decides
                await record(conn, ctx, change)
        except asyncpg.UniqueViolationError:
            raise Refusal(
                "demande-en-cours",
                "Une autre demande est en cours pour cet affilié : celle-ci ne peut pas être rouverte.",
                request_id=await RequestRepository(conn).in_progress_of(request.affiliate),
            ) from None
    return change[0]


async def guarantee_request_received(
    conn: asyncpg.Connection, ctx: RequestsContext, request_id: UUID, affiliate: str, perception: str, at: datetime
) -> None:
    """In the consumer's transaction: the office has the guarantee request, the sweep will not send
    it again; the first acknowledgement is a line in the history."""
    request, (office, _) = await _answered_by_office(conn, request_id, affiliate)
    actor = Actor(kind="perception", id=perception)
    entry = guarantees.receive_guarantee_request(request, actor, at, affiliate_office=office.code)
    if entry is None:
        return
    await RequestRepository(conn).mark_guarantee_received(request.id, entry)


async def guarantee_refused(
    conn: asyncpg.Connection,
    ctx: RequestsContext,
    request_id: UUID,
    affiliate: str,
    perception: str,
    reason: str,
    at: datetime,
) -> None:
    request, profile = await _answered_by_office(conn, request_id, affiliate)
    office = profile[0]
    change = guarantees.refuse_guarantee(
        request,
        reason,
        at,
        Actor(kind="perception", id=perception),
        refused_on=at.astimezone(BUSINESS_TZ).date(),
        today=business_date(ctx.clock),
        programme=ctx.programme,
        affiliate_office=office.code,
    )
    await record(conn, ctx, change, profile=profile)


async def sweep(conn: asyncpg.Connection, ctx: RequestsContext, at: datetime, page: int = 200) -> dict[str, int]:
    """Expire requests whose guarantee deadline passed, cancel drafts idle too long, as of ``at``;
    then announce again what a partner never took up (a validation without a plan, a guarantee
    request without an acknowledgement); then watch the running plans' current contributions
    (article 2: notice, cure, default).

    Pages of rows locked with SKIP LOCKED, one transaction each: replicas sweeping at the same time
    share the work, and a long sweep does not hold every row it will touch.
    """
    today = at.astimezone(BUSINESS_TZ).date()
    idle_before = at - timedelta(hours=ctx.programme.draft_inactivity_hours)
    done = {"expired": 0, "cancelled": 0, "reannounced": 0, "guarantees_reannounced": 0, "failed": 0}
    repo = RequestRepository(conn)
    skipped: set[UUID] = set()

    def close(request: RemissionRequest) -> lifecycle.Change:
        if request.state == "DRAFT":
            return lifecycle.cancel_inactive(request, ctx.programme, at)
        return guarantees.expire(request, today, at)

    while True:
        async with conn.transaction():
            expired = [r for r in await repo.expired_awaiting(today, page) if r.id not in skipped]
            drafts = [r for r in await repo.idle_drafts(idle_before, page) if r.id not in skipped]
            for kind, requests in (("expired", expired), ("cancelled", drafts)):
                for request in requests:
                    try:
                        async with conn.transaction():  # a savepoint: one bad row must not stop the sweep
                            await record(conn, ctx, close(request))
                        done[kind] += 1
                    except Exception:
                        log.exception("sweep could not close a request", extra={"request_id": str(request.id)})
                        skipped.add(request.id)
                        done["failed"] += 1
        if not expired and not drafts:
            break
    done["reannounced"] = await _reannounce_unplanned(conn, ctx, at, page)
    done["guarantees_reannounced"] = await _reannounce_unacknowledged(conn, ctx, at, page)
    watched = await watch_contributions(conn, ctx, at, page)
    done |= {f"contributions_{kind}": count for kind, count in watched.items() if kind != "failed"}
    done["failed"] += watched["failed"]
    return done


async def _reannounce_unplanned(conn: asyncpg.Connection, ctx: RequestsContext, at: datetime, page: int) -> int:
    """Validations debits has not answered with a plan (lost on the way, or refused: its .dlq says
    which) are announced again; each is a line in the request's history."""
    repo = RequestRepository(conn)
    count = 0
    while True:
        async with conn.transaction():
            waiting = await repo.validated_without_plan(at - ctx.reannounce_after, ctx.reannounce_most, page)
            for request in waiting:
                await reannounce_validation(conn, ctx, request, lifecycle.reannounce(request, at, ctx.reannounce_after))
                await repo.mark_reannounced(request.id, at)
                log.warning("validation announced again: no plan from debits", extra={"request_id": str(request.id)})
            count += len(waiting)
        if len(waiting) < page:
            return count


async def _reannounce_unacknowledged(conn: asyncpg.Connection, ctx: RequestsContext, at: datetime, page: int) -> int:
    """Guarantee requests their office has not acknowledged (lost on the way, or refused: the office
    and its .dlq would say) are sent to it again; each is a line in the request's history."""
    repo = RequestRepository(conn)
    count = 0
    while True:
        async with conn.transaction():
            waiting = await repo.awaiting_unacknowledged(at - ctx.guarantee_receipt_wait, ctx.reannounce_most, page)
            for request in waiting:
                entry = guarantees.reannounce_guarantee_request(request, at, ctx.guarantee_receipt_wait)
                await reannounce_guarantee_request(conn, ctx, request, entry)
                await repo.mark_guarantee_reannounced(request.id, at)
                log.warning("guarantee request sent again: no acknowledgement", extra={"request_id": str(request.id)})
            count += len(waiting)
        if len(waiting) < page:
            return count


async def plan_scheduled(conn: asyncpg.Connection, ctx: RequestsContext, request_id: UUID) -> None:
    """debits has the plan: the sweep will not announce the validation again."""
    await RequestRepository(conn).plan_scheduled(request_id, ctx.clock.now())


async def plan_progressed(
    conn: asyncpg.Connection, ctx: RequestsContext, request_id: UUID, affiliate: str, outcome: str, reason: str
) -> None:
    """What debits says of the plan: a debit settled, the plan completed or defaulted (in the
    consumer's transaction). ``outcome`` is ``settled``, ``completed`` or ``defaulted``."""
    request = await _answered(conn, request_id, affiliate)
    at = ctx.clock.now()
    if outcome == "settled":
        change = lifecycle.first_debit_settled(request, at)
        if change is not None:
            await record(conn, ctx, change)
        return
    if outcome == "defaulted" and request.state == "DEFAULTED":
        return  # the sweep defaulted it (article 2) and debits answered by closing the plan: nothing new
    if outcome == "completed":
        # A one-debit plan may complete before requests heard of its first payment: same end.
        await record(conn, ctx, lifecycle.complete(request, at))
        return
    await record(conn, ctx, lifecycle.default(request, reason, at))
