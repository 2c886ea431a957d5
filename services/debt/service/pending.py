"""Plan events that arrive before their request's VALIDATED wait instead of dying.

debt learns a plan from ``requests.events.v1`` (VALIDATED) and its payments, completion or default
from ``debits.events.v1``. Each topic keeps its order per affiliate, but nothing orders one topic
against the other: a debt that was down reads both backlogs at once, in whatever order its fetches
return them, and a settled debit may come before the VALIDATED that opened its plan. Such an event
is not an error: it waits in ``pending_plan_event`` (in the consumer's transaction, its inbox claim
beside it), and the VALIDATED applies it, in arrival order, in the transaction that creates the plan.

The periodic sweep (``PENDING_SWEEP_INTERVAL_SECONDS``) sends to ``debits.events.v1.dlq``, with the
reason, an event that waited longer than ``PLAN_EVENT_MAX_WAIT_SECONDS`` (its VALIDATED never came:
dead-lettered itself, or lost) and one that its VALIDATED could still not apply (a completion after
a default); it also applies what waits for a plan that exists (a safety net), and logs the count of
waiting events while there are any. ``GET /health/pending`` gives the same count.
"""

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

import asyncpg
from aiokafka import ConsumerRecord
from opentelemetry import propagate, trace
from opentelemetry.trace import Link, SpanKind
from pydantic import ValidationError

from contracts.debits import DebitChanged, PlanCompleted, PlanDefaulted
from contracts.languages import in_french
from contracts.topics import DEBITS_EVENTS
from services.debt.adapters.pending import PendingRepository, PendingSummary, WaitingEvent
from services.runtime.clock import Clock
from services.runtime.consumer import DATA_ERRORS, Unapplicable
from services.runtime.periodic import Periodic

log = logging.getLogger(__name__)
tracer = trace.get_tracer(__name__)
DEBITS = DEBITS_EVENTS.adapter()

PlanEvent = DebitChanged | PlanCompleted | PlanDefaulted
Apply = Callable[[asyncpg.Connection, Any], Awaitable[None]]
"""Applies one plan event whose plan exists, in the caller's transaction."""
DeadLetter = Callable[[ConsumerRecord[Any, Any], str], Awaitable[None]]
INBOX_CONSUMER = "debt"
"""The inbox name debt's plan consumer claims events under (``entrypoints/subscribers.py``)."""


async def wait_for_validation(conn: asyncpg.Connection, event: PlanEvent, clock: Clock) -> None:
    """Keeps ``event`` until its request's VALIDATED comes. In the consumer's transaction, under the
    request's lock (``PendingRepository.lock_request``), after finding no plan."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)  # the consumer's span for this message: the wait and its end link to it
    p = event.payload
    added = await PendingRepository(conn).add(
        event_id=event.event_id,
        request_id=p.request_id,
        affiliate=p.affiliate,
        event_type=event.type,
        message=event.model_dump_json(),
        traceparent=carrier.get("traceparent"),
        tracestate=carrier.get("tracestate"),
        received_at=clock.now(),
    )
    if added:
        log.info(
            "plan event waits for its request's validation",
            extra={
                "request_id": str(p.request_id),
                "affiliate": p.affiliate,
                "event_type": event.type,
                "event_id": str(event.event_id),
            },
        )


def _refusal(exc: Exception) -> str:
    if isinstance(exc, Unapplicable):
        return f"inapplicable : {exc}"
    if isinstance(exc, ValidationError):
        return f"illisible : {in_french(exc.error_count(), 'erreur', 'erreurs')} de validation"
    return f"refusé par la base : {type(exc).__name__}: {exc}"


async def release(conn: asyncpg.Connection, request_id: UUID, apply: Apply) -> int:
    """Applies what waits for ``request_id``, in arrival order, each in a savepoint: in the caller's
    transaction, under the request's lock, once its plan exists. One that can still not be applied
    is marked refused (the sweep dead-letters it) and the others go on. Returns how many applied."""
    repo = PendingRepository(conn)
    applied = 0
    for waiting in await repo.waiting_for(request_id):
        context = propagate.extract(dict(_trace_headers(waiting)))
        links = [Link(trace.get_current_span(context).get_span_context())] if waiting.traceparent else []
        with tracer.start_as_current_span(
            f"{DEBITS_EVENTS.name} apply after waiting", kind=SpanKind.CONSUMER, links=links
        ) as span:
            span.set_attribute("messaging.message.id", str(waiting.event_id))
            try:
                event = DEBITS.validate_json(waiting.message)
                async with conn.transaction():
                    await apply(conn, event)
            except (Unapplicable, ValidationError, *DATA_ERRORS) as exc:
                refusal = _refusal(exc)
                await repo.refuse(waiting.seq, refusal)
                log.warning(
                    "waiting plan event refused once its request came",
                    extra={"request_id": str(request_id), "event_id": str(waiting.event_id), "reason": refusal},
                )
                continue
        await repo.delete(waiting.seq)
        applied += 1
    if applied:
        log.info("waiting plan events applied", extra={"request_id": str(request_id), "events": applied})
    return applied


def _trace_headers(waiting: WaitingEvent) -> list[tuple[str, str]]:
    return [(k, v) for k, v in (("traceparent", waiting.traceparent), ("tracestate", waiting.tracestate)) if v]


def dead_letter_record(waiting: WaitingEvent) -> ConsumerRecord[Any, Any]:
    """The event as a record of ``debits.events.v1``, for the dead letters: its key and envelope as
    received, its trace headers. Where it was on the topic (partition, offset) is not kept: -1."""
    key, value = waiting.affiliate.encode(), waiting.message.encode()
    headers = [(k, v.encode()) for k, v in _trace_headers(waiting)]
    headers.append(("x-debt-waited-since", waiting.received_at.isoformat().encode()))
    return ConsumerRecord(
        topic=DEBITS_EVENTS.name,
        partition=-1,
        offset=-1,
        timestamp=int(waiting.received_at.timestamp() * 1000),
        timestamp_type=0,
        key=key,
        value=value,
        checksum=None,
        serialized_key_size=len(key),
        serialized_value_size=len(value),
        headers=headers,
    )


def expiry_reason(waiting: WaitingEvent, first: WaitingEvent, max_wait: timedelta) -> str:
    return (
        f"inapplicable : plan {waiting.request_id} inconnu de debt : sa demande n'a pas été vue VALIDATED "
        f"(requests.events.v1) dans les {int(max_wait.total_seconds())} s d'attente de son premier événement "
        f"(reçu le {first.received_at.isoformat(timespec='seconds')} ; celui-ci le "
        f"{waiting.received_at.isoformat(timespec='seconds')}) ; rejouer les événements du plan, dans leur "
        "ordre, une fois la demande VALIDATED appliquée par debt"
    )


@dataclass(frozen=True)
class SweepOutcome:
    applied: int
    dead_lettered: int
    pending: PendingSummary


async def sweep(
    conn: asyncpg.Connection,
    apply: Apply,
    dead_letter: DeadLetter,
    clock: Clock,
    max_wait: timedelta,
    page: int = 500,
) -> SweepOutcome:
    """One pass; each request in a transaction of its own, under its lock. A dead letter is sent
    before the delete commits: sent twice if that commit fails, never lost."""
    repo = PendingRepository(conn)
    applied = dead = 0
    for request_id in await repo.waiting_with_plan(page):
        async with conn.transaction():
            await repo.lock_request(request_id)
            applied += await release(conn, request_id, apply)
    deadline = clock.now() - max_wait
    for seq, request_id in await repo.due_for_dead_letter(deadline, page):
        async with conn.transaction():
            await repo.lock_request(request_id)
            due = await repo.for_update(seq)
            if due is None:
                continue  # applied meanwhile (its VALIDATED came), swept with its plan's first, or by a replica
            if due.refusal is not None:
                letters = [(due, due.refusal)]
            elif await repo.plan_known(request_id):
                applied += await release(conn, request_id, apply)
                continue
            else:
                # The plan's later events go with its first, in order: none may be applied without it.
                letters = [(w, expiry_reason(w, due, max_wait)) for w in await repo.waiting_for(request_id)]
            for waiting, reason in letters:
                await dead_letter(dead_letter_record(waiting), reason)
                await repo.delete(waiting.seq)
                await repo.forget_claim(INBOX_CONSUMER, waiting.event_id)  # a replay applies, or waits again
                dead += 1
    return SweepOutcome(applied, dead, await repo.summary())


def pending_sweeper(
    pool: asyncpg.Pool,
    apply: Apply,
    dead_letter: DeadLetter,
    clock: Clock,
    max_wait: timedelta,
    interval: float,
) -> Periodic:
    async def one_pass() -> None:
        async with pool.acquire() as conn:
            outcome = await sweep(conn, apply, dead_letter, clock, max_wait)
        if outcome.applied or outcome.dead_lettered:
            log.info(
                "pending plan events swept",
                extra={"applied": outcome.applied, "dead_lettered": outcome.dead_lettered},
            )
        pending = outcome.pending
        if pending.waiting or pending.refused:
            oldest = pending.oldest_received_at
            log.warning(
                "plan events wait for their request's validation",
                extra={
                    "waiting": pending.waiting,
                    "refused": pending.refused,
                    "oldest_received_at": oldest.isoformat() if oldest else None,
                    "oldest_age_s": round((clock.now() - oldest).total_seconds()) if oldest else None,
                    "max_wait_s": int(max_wait.total_seconds()),
                },
            )

    return Periodic("debt-pending-plan-events", one_pass, interval)
