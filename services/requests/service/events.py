"""The events a change of a request implies, written to the outbox with the change itself.

What an office hears of its affiliates' guarantees goes to its own topic,
``requests.guarantees.<office>.v1`` (``contracts/perceptions.py``): the guarantee request, then what
becomes of it. A request validated asks only an office of the registry (``validate`` refuses
``perception-inconnue`` otherwise); a message for an office without a topic (a request left waiting
on ``INCONNUE`` by an older version, an office since removed from the registry) is still written, to
the topic that office would have: the relay parks it (no such topic in the catalogue) for an operator,
it is never dropped.
"""

import logging
from datetime import datetime

import asyncpg

from contracts.debt import Perception
from contracts.perceptions import PERCEPTIONS, guarantees_topic_name
from contracts.requests import (
    ContributionsNotice,
    GuaranteeClosedPayload,
    GuaranteeDeadlinePassed,
    GuaranteeDue,
    GuaranteeEnforced,
    GuaranteeEnforcedPayload,
    GuaranteeReleased,
    GuaranteeReleasedPayload,
    GuaranteeRequestMessage,
    GuaranteeRequired,
    GuaranteeRequiredPayload,
    GuaranteeWithdrawn,
    RequestStateChanged,
    RequestStateChangedPayload,
)
from contracts.topics import REQUESTS_EVENTS
from services.requests.adapters.repository import Profile, ProjectionRepository, RequestRepository
from services.requests.domain.obligations import Notice
from services.requests.domain.request import UNKNOWN_PERCEPTION, Change, HistoryEntry, RemissionRequest
from services.requests.service.context import PRODUCER, RequestsContext
from services.runtime.outbox import OutgoingMessage, enqueue_many, outbox_rows

log = logging.getLogger(__name__)


AffiliateOffice = tuple[Perception, str | None]
"""The affiliate's office and raison sociale, as auth announced them."""


async def record(
    conn: asyncpg.Connection, ctx: RequestsContext, change: Change, profile: AffiliateOffice | None = None
) -> None:
    """Save the request, its history entry and, for a transition, the events it implies. ``profile``:
    the affiliate's office and raison sociale when the caller read them in this transaction already
    (``perception_of``), so they are not read twice."""
    request, entry = change
    if entry.from_state == entry.to_state:  # a choice inside DRAFT: history only, not a lifecycle event
        await RequestRepository(conn).save(request, entry)
        return
    await RequestRepository(conn).save(request, entry, outbox_rows(await announcements(conn, ctx, change, profile)))


async def announcements(
    conn: asyncpg.Connection, ctx: RequestsContext, change: Change, profile: AffiliateOffice | None = None
) -> list[OutgoingMessage]:
    """The events a transition implies: its state change, and what the office must hear (``profile``:
    as for ``record``)."""
    request, entry = change
    now = ctx.clock.now()
    guarantee_event = await _guarantee_event(conn, change, now, profile)
    due = None
    if isinstance(guarantee_event, GuaranteeRequired):  # the affiliate hears what its office hears
        asked = guarantee_event.payload
        due = GuaranteeDue(perception=asked.perception, amount=asked.amount, deadline=asked.deadline)
    messages = [_state_changed(request, entry, now, due)]
    if guarantee_event is not None:
        messages.append(_to_office(request, guarantee_event))
    return messages


def _to_office(request: RemissionRequest, event: GuaranteeRequestMessage) -> OutgoingMessage:
    """``event`` on the topic of the office its payload names."""
    office = event.payload.perception
    if office.code not in PERCEPTIONS:
        log.warning(
            "guarantee message for an office without a topic: the relay parks it for an operator",
            extra={"request_id": str(request.id), "perception": office.code, "type": event.type},
        )
    return OutgoingMessage.of(guarantees_topic_name(office.code), request.affiliate, event)


async def reannounce_validation(
    conn: asyncpg.Connection, ctx: RequestsContext, request: RemissionRequest, entry: HistoryEntry
) -> None:
    """The validation as it was announced (its transition, its plan), under a new event id, and the
    history line that says why; debits keeps one plan per request, so a second one changes nothing."""
    repo = RequestRepository(conn)
    validated = [e for e in await repo.history(request.id) if e.to_state == "VALIDATED" and e.event != "reannounced"]
    await repo.append_history(request.id, entry)
    await enqueue_many(conn, [_state_changed(request, validated[-1], ctx.clock.now())])


async def reannounce_guarantee_request(
    conn: asyncpg.Connection, ctx: RequestsContext, request: RemissionRequest, entry: HistoryEntry
) -> None:
    """The guarantee request as it was sent (same request, office, amount and deadline), under a new
    event id, to the office asked, and the history line that says why; no lifecycle event (the state
    is unchanged)."""
    office, raison_sociale = await _office_asked(conn, request)
    required = _guarantee_required(request, office, raison_sociale, ctx.clock.now())
    await RequestRepository(conn).append_history(request.id, entry)
    await enqueue_many(conn, [_to_office(request, required)])


async def _office_asked(
    conn: asyncpg.Connection, request: RemissionRequest, profile: AffiliateOffice | None = None
) -> AffiliateOffice:
    """The office the guarantee request named, recorded on the request: the one told what becomes of
    it, the only one whose answer counts. (Recorded ``INCONNUE`` by an older version, or not at all:
    the office auth names now, the one whose answer counts then.) And the raison sociale."""
    current, raison_sociale = profile or await perception_of(conn, request.affiliate)
    asked = request.guarantee_perception
    if asked is None or asked.code == UNKNOWN_PERCEPTION.code:
        return current, raison_sociale
    return asked, raison_sociale


async def announce_notice(
    conn: asyncpg.Connection, ctx: RequestsContext, request: RemissionRequest, entry: HistoryEntry, notice: Notice
) -> None:
    """An article-2 notice (a history line, ``record``ed first): the state does not change, but the
    affiliate must hear of it before the cure deadline (notifications). Its own event: the plan, the
    state and everything else stay as they are for debt and debits, which ignore it."""
    told = ContributionsNotice(
        period=notice.period, amount=notice.amount, due_on=notice.due_on, cure_deadline=notice.cure_deadline
    )
    await enqueue_many(conn, [_state_changed(request, entry, ctx.clock.now(), notice=told)])


def _state_changed(
    request: RemissionRequest,
    entry: HistoryEntry,
    now: datetime,
    due: GuaranteeDue | None = None,
    notice: ContributionsNotice | None = None,
) -> OutgoingMessage:
    return OutgoingMessage.of(
        REQUESTS_EVENTS.name,
        request.affiliate,
        RequestStateChanged.build(
            RequestStateChangedPayload(
                request_id=request.id,
                affiliate=request.affiliate,
                programme=request.programme,
                state=entry.to_state,
                previous_state=entry.from_state,
                at=entry.at,
                actor=entry.actor,
                reason=entry.reason,
                modality=request.modality,
                plan=request.plan() if entry.to_state == "VALIDATED" and notice is None else None,
                guarantee_due=due,
                notice=notice,
            ),
            producer=PRODUCER,
            occurred_at=now,
            correlation_id=str(request.id),
        ),
    )


async def _guarantee_event(
    conn: asyncpg.Connection, change: Change, now: datetime, profile: AffiliateOffice | None = None
) -> GuaranteeRequestMessage | None:
    """What the office must hear: a guarantee is due, or no longer (withdrawn, deadline passed); then,
    for an installment plan whose guarantees it holds, that they may be released (COMPLETED) or are to
    be enforced (DEFAULTED). Nothing for a draft (never asked) nor a full payment (no guarantee)."""
    request, entry = change
    asked = entry.to_state == "AWAITING_GUARANTEE"
    closed = entry.from_state == "AWAITING_GUARANTEE" and entry.to_state in ("CANCELLED", "EXPIRED")
    settled = (
        entry.to_state in ("COMPLETED", "DEFAULTED")
        and request.modality == "INSTALLMENTS"
        and request.guarantee is not None
    )
    if not (asked or closed or settled):
        return None
    assert request.quote is not None and request.guarantee_deadline is not None
    perception, raison_sociale = await _office_asked(conn, request, profile)
    cid = str(request.id)
    if asked:
        return _guarantee_required(request, perception, raison_sociale, now)
    if settled:
        return _guarantee_settled(request, entry, perception, now)
    kind = GuaranteeWithdrawn if entry.to_state == "CANCELLED" else GuaranteeDeadlinePassed
    closed_payload = GuaranteeClosedPayload(
        request_id=request.id,
        affiliate=request.affiliate,
        perception=perception,
        deadline=request.guarantee_deadline,
        reason=entry.reason,
    )
    return kind.build(
        closed_payload,
        producer=PRODUCER,
        occurred_at=now,
        correlation_id=cid,
    )


def _guarantee_settled(
    request: RemissionRequest, entry: HistoryEntry, asked: Perception, now: datetime
) -> GuaranteeReleased | GuaranteeEnforced:
    """To the office holding the guarantees (the one that recorded the deposit, which was the one
    asked): release them, or enforce them for the remise of the validated plan, owed again."""
    assert request.guarantee is not None and request.quote is not None
    guarantee = request.guarantee
    holder = asked
    if guarantee.perception != asked.code:
        holder = Perception(code=guarantee.perception, name=PERCEPTIONS.get(guarantee.perception, guarantee.perception))
    cid = str(request.id)
    if entry.to_state == "COMPLETED":
        released = GuaranteeReleasedPayload(
            request_id=request.id,
            affiliate=request.affiliate,
            perception=holder,
            guarantee=guarantee,
            at=entry.at,
            reason=entry.reason,
        )
        return GuaranteeReleased.build(released, producer=PRODUCER, occurred_at=now, correlation_id=cid)
    enforced = GuaranteeEnforcedPayload(
        request_id=request.id,
        affiliate=request.affiliate,
        perception=holder,
        guarantee=guarantee,
        reinstated=request.quote.remise,
        at=entry.at,
        reason=entry.reason,
    )
    return GuaranteeEnforced.build(enforced, producer=PRODUCER, occurred_at=now, correlation_id=cid)


def _guarantee_required(
    request: RemissionRequest, perception: Perception, raison_sociale: str | None, now: datetime
) -> GuaranteeRequired:
    assert request.quote is not None and request.guarantee_deadline is not None
    required = GuaranteeRequiredPayload(
        request_id=request.id,
        affiliate=request.affiliate,
        perception=perception,
        raison_sociale=raison_sociale,
        amount=request.quote.to_pay - request.quote.advance,
        installments=request.quote.installments,
        deadline=request.guarantee_deadline,
        quote_id=request.quote.quote_id,
    )
    return GuaranteeRequired.build(required, producer=PRODUCER, occurred_at=now, correlation_id=str(request.id))


async def perception_of(conn: asyncpg.Connection, affiliate: str) -> AffiliateOffice:
    """The affiliate's office and raison sociale as auth announced them (``INCONNUE`` and None before)."""
    return office_of(await ProjectionRepository(conn).profile(affiliate))


def office_of(profile: Profile | None) -> AffiliateOffice:
    """The office and raison sociale a profile says (``INCONNUE`` and None without one)."""
    if profile is None:
        return UNKNOWN_PERCEPTION, None
    return Perception(code=profile.perception_code, name=profile.perception_name), profile.raison_sociale
