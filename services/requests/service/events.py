"""The events a change of a request implies, written to the outbox with the change itself."""

from datetime import datetime

import asyncpg

from contracts.debt import Perception
from contracts.envelope import Envelope
from contracts.requests import (
    GuaranteeClosedPayload,
    GuaranteeDeadlinePassed,
    GuaranteeRequired,
    GuaranteeRequiredPayload,
    GuaranteeWithdrawn,
    RequestStateChanged,
    RequestStateChangedPayload,
)
from contracts.topics import REQUESTS_EVENTS, REQUESTS_GUARANTEES
from services.requests.adapters.repository import ProjectionRepository, RequestRepository
from services.requests.domain.request import UNKNOWN_PERCEPTION, Change, HistoryEntry, RemissionRequest
from services.requests.service.context import PRODUCER, RequestsContext
from services.runtime.outbox import OutgoingMessage, enqueue_many


async def record(conn: asyncpg.Connection, ctx: RequestsContext, change: Change) -> None:
    """Save the request, its history entry and, for a transition, the events it implies."""
    request, entry = change
    repo = RequestRepository(conn)
    await repo.save(request)
    await repo.append_history(request.id, entry)
    if entry.from_state == entry.to_state:
        return  # a choice inside DRAFT: history only, not a lifecycle event
    now = ctx.clock.now()
    messages = [_state_changed(request, entry, now)]
    guarantee_event = await _guarantee_event(conn, change, now)
    if guarantee_event is not None:
        messages.append(OutgoingMessage.of(REQUESTS_GUARANTEES.name, request.affiliate, guarantee_event))
    await enqueue_many(conn, messages)


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
    perception, raison_sociale = await perception_of(conn, request.affiliate)
    required = _guarantee_required(request, request.guarantee_perception or perception, raison_sociale, ctx.clock.now())
    await RequestRepository(conn).append_history(request.id, entry)
    await enqueue_many(conn, [OutgoingMessage.of(REQUESTS_GUARANTEES.name, request.affiliate, required)])


def _state_changed(request: RemissionRequest, entry: HistoryEntry, now: datetime) -> OutgoingMessage:
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
                plan=request.plan() if entry.to_state == "VALIDATED" else None,
            ),
            producer=PRODUCER,
            occurred_at=now,
            correlation_id=str(request.id),
        ),
    )


async def _guarantee_event(conn: asyncpg.Connection, change: Change, now: datetime) -> Envelope | None:
    """What the perception must hear: a guarantee is due, or no longer (withdrawn, deadline passed).
    Only for a request that reached AWAITING_GUARANTEE: a draft never asked for one."""
    request, entry = change
    asked = entry.to_state == "AWAITING_GUARANTEE"
    closed = entry.from_state == "AWAITING_GUARANTEE" and entry.to_state in ("CANCELLED", "EXPIRED")
    if not (asked or closed):
        return None
    assert request.quote is not None and request.guarantee_deadline is not None
    # The office asked, recorded on the request: the one told to stop waiting, the only one whose
    # answer counts. (A request left waiting by a version that did not record it: auth's office now.)
    perception, raison_sociale = await perception_of(conn, request.affiliate)
    perception = request.guarantee_perception or perception
    cid = str(request.id)
    if asked:
        return _guarantee_required(request, perception, raison_sociale, now)
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


async def perception_of(conn: asyncpg.Connection, affiliate: str) -> tuple[Perception, str | None]:
    """The affiliate's office and raison sociale as auth announced them (``INCONNUE`` and None before)."""
    profile = await ProjectionRepository(conn).profile(affiliate)
    if profile is None:
        return UNKNOWN_PERCEPTION, None
    return Perception(code=profile.perception_code, name=profile.perception_name), profile.raison_sociale
