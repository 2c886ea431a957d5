"""Use cases of a plan's life after it is scheduled (``plan_intake``): each bank result, a default.

Each runs in the caller's transaction (the consumer's, one per batch with a savepoint per message)
and writes its events to the outbox in that same transaction.
"""

import logging
from datetime import date
from typing import Literal
from uuid import UUID

import asyncpg

from contracts.auth import AffiliateRegistered
from contracts.debits import (
    DebitChanged,
    DebitChangedPayload,
    DebitExecuted,
    DebitRejected,
    DebitView,
    PlanCompleted,
    PlanCompletedPayload,
    PlanDefaulted,
    PlanDefaultedPayload,
)
from contracts.requests import RequestStateChanged
from contracts.topics import DEBITS_EVENTS
from services.debits.adapters.plan_repository import PlanRepository
from services.debits.domain import debits as domain
from services.debits.domain import results
from services.debits.domain.debits import Change, Debit
from services.debits.service.context import PRODUCER, DebitsContext
from services.runtime.clock import BUSINESS_TZ, business_date
from services.runtime.consumer import Unapplicable
from services.runtime.outbox import OutgoingMessage, enqueue_many

log = logging.getLogger(__name__)


def debit_view(debit: Debit) -> DebitView:
    return DebitView(
        sequence=debit.sequence,
        kind=debit.kind,
        due_date=debit.due_date,
        collection_date=debit.collection_date,
        amount=debit.amount,
        state=debit.state,
        attempts=debit.attempts,
    )


def debit_changed(
    ctx: DebitsContext, request_id: UUID, affiliate: str, debit: Debit, change: Change
) -> OutgoingMessage:
    event = DebitChanged.build(
        DebitChangedPayload(
            request_id=request_id,
            affiliate=affiliate,
            debit=debit_view(debit),
            end_to_end_id=change.end_to_end_id,
            reason_code=change.reason_code,
            final=change.final,
            next_attempt_on=change.next_attempt_on,
            at=ctx.clock.now(),
        ),
        producer=PRODUCER,
        occurred_at=ctx.clock.now(),
    )
    return OutgoingMessage.of(DEBITS_EVENTS.name, affiliate, event)


def plan_defaulted(
    ctx: DebitsContext, request_id: UUID, affiliate: str, outcome: domain.Defaulted, on: date
) -> OutgoingMessage:
    """``debits.plan_defaulted``: debt reinstates the remise on it, requests learns why."""
    defaulted = PlanDefaulted.build(
        PlanDefaultedPayload(
            request_id=request_id,
            affiliate=affiliate,
            reason=outcome.reason,
            paid_so_far=outcome.paid_so_far,
            cancelled_sequences=[d.sequence for d in outcome.cancelled],
            defaulted_on=on,
        ),
        producer=PRODUCER,
        occurred_at=ctx.clock.now(),
    )
    return OutgoingMessage.of(DEBITS_EVENTS.name, affiliate, defaulted)


async def on_profiles(conn: asyncpg.Connection, events: list[AffiliateRegistered]) -> None:
    # In topic order: the last announcement of an affiliate in the batch wins.
    await PlanRepository(conn).save_profiles({e.payload.affiliate: e.payload.raison_sociale for e in events})


async def request_defaulted(conn: asyncpg.Connection, ctx: DebitsContext, event: RequestStateChanged) -> None:
    """requests' sweep forfeited the plan (article 2): the debits not yet sent are cancelled and the
    plan is DEFAULTED, announced as ``PlanDefaulted`` so debt reinstates the remise as for a debit
    default. A plan debits closed already (its own default, or every debit paid) stays as it is: this
    is then requests hearing the same end, or too late to change it (the runbook says what to do)."""
    p = event.payload
    repo = PlanRepository(conn)
    plan = await repo.plan(p.request_id, lock=True)
    if plan is None:
        log.warning("request defaulted without a plan here", extra={"request_id": str(p.request_id)})
        return
    on = p.at.astimezone(BUSINESS_TZ).date()
    debits = await repo.debits(p.request_id)
    reason = p.reason.removeprefix("déchéance : ")
    outcome = domain.forfeit(plan["state"], debits, on, reason)
    if outcome is None:
        if plan["state"] == "COMPLETED":
            log.error("request defaulted after its plan completed", extra={"request_id": str(p.request_id)})
        return
    await repo.close_plan(p.request_id, "DEFAULTED", on)
    updates = [(p.request_id, d) for d in outcome.cancelled]
    changes = list(zip(outcome.cancelled, outcome.changes, strict=True))
    await repo.update_debits(updates)
    await repo.add_history([(p.request_id, c) for _, c in changes], ctx.clock.now())
    messages = [debit_changed(ctx, p.request_id, p.affiliate, d, c) for d, c in changes]
    await enqueue_many(conn, [*messages, plan_defaulted(ctx, p.request_id, p.affiliate, outcome, on)])


async def on_result(conn: asyncpg.Connection, ctx: DebitsContext, event: DebitExecuted | DebitRejected) -> None:
    """A bank's answer to one order. The same message twice is stopped by the inbox; the same outcome
    again or a duplicate notice (AM05) changes nothing (``results.read_answer``); a contrary second
    answer, one for an unknown order, from another bank or dated where no bank could date it is
    dead-lettered."""
    r = event.payload
    repo = PlanRepository(conn)
    known = await repo.order(r.end_to_end_id)
    if known is None:
        raise Unapplicable(f"ordre {r.end_to_end_id} inconnu")
    if known["bank_code"] != r.bank_code:
        raise Unapplicable(f"ordre {r.end_to_end_id} envoyé à la banque {known['bank_code']}, réponse de {r.bank_code}")
    request_id: UUID = known["request_id"]
    plan = await repo.plan(request_id, lock=True)  # first the plan, then the order: one order of locks
    assert plan is not None
    order = await repo.order(r.end_to_end_id, lock=True)
    assert order is not None
    if not _answers_an_open_order(ctx, order, event):
        return
    debits = await repo.debits(request_id)
    current = next(d for d in debits if d.sequence == order["sequence"])
    if current.attempts != order["attempt"]:
        raise Unapplicable(f"ordre {r.end_to_end_id} : la tentative {order['attempt']} n'est plus en cours")
    try:
        if isinstance(event, DebitExecuted):
            changed, change = domain.settle(current, r.end_to_end_id, event.payload.settled_on)
            await repo.record_result(r.end_to_end_id, "EXECUTED", None, event.payload.settled_on)
            on: date = event.payload.settled_on
        else:
            rejected = event.payload
            changed, change = domain.reject(
                current,
                r.end_to_end_id,
                rejected.reason_code,
                rejected.rejected_on,
                ctx.programme.representation,
                ctx.calendar,
            )
            await repo.record_result(r.end_to_end_id, "REJECTED", rejected.reason_code, rejected.rejected_on)
            on = rejected.rejected_on
    except domain.TransitionRefused as exc:
        raise Unapplicable(str(exc)) from None
    affiliate: str = plan["affiliate"]
    debits = [changed if d.sequence == changed.sequence else d for d in debits]
    updates: list[tuple[UUID, Debit]] = [(request_id, changed)]
    changes: list[tuple[Debit, Change]] = [(changed, change)]
    plan_messages = await _conclude(repo, ctx, request_id, affiliate, plan["state"], debits, on, updates, changes)
    await repo.update_debits(updates)
    await repo.add_history([(request_id, c) for _, c in changes], ctx.clock.now())
    # Each debit's change first, then what it meant for the plan.
    messages = [debit_changed(ctx, request_id, affiliate, d, c) for d, c in changes] + plan_messages
    await enqueue_many(conn, messages)


def _answers_an_open_order(ctx: DebitsContext, order: asyncpg.Record, event: DebitExecuted | DebitRejected) -> bool:
    """True when ``event`` is the first result of ``order`` and may be applied; False when it changes
    nothing (a repeat, a duplicate notice); raises ``Unapplicable`` when it can never be applied."""
    r = event.payload
    outcome: Literal["EXECUTED", "REJECTED"] = "EXECUTED" if isinstance(event, DebitExecuted) else "REJECTED"
    reason_code = event.payload.reason_code if isinstance(event, DebitRejected) else None
    context = {"end_to_end_id": r.end_to_end_id, "bank": r.bank_code, "outcome": outcome, "reason_code": reason_code}
    reading = results.read_answer(order["outcome"], outcome, reason_code)
    if reading == "repeat":
        log.info("bank answer repeated for an order that has its result: nothing changes", extra=context)
        return False
    if reading == "duplicate-notice":
        log.warning("bank answered AM05 (duplicate) for an order awaiting its result: it stays ordered", extra=context)
        return False
    if reading == "conflict":
        raise Unapplicable(f"ordre {r.end_to_end_id} : déjà un résultat ({order['outcome']} le {order['result_on']})")
    result_on = event.payload.settled_on if isinstance(event, DebitExecuted) else event.payload.rejected_on
    today = business_date(ctx.clock)
    if refusal := results.result_date_refusal(result_on, order["requested_collection_date"], today):
        raise Unapplicable(f"ordre {r.end_to_end_id} : {refusal}")
    if isinstance(event, DebitExecuted) and event.payload.amount != order["amount"]:
        raise Unapplicable(f"ordre {r.end_to_end_id} : exécuté pour {event.payload.amount}, ordonné {order['amount']}")
    return True


async def _conclude(
    repo: PlanRepository,
    ctx: DebitsContext,
    request_id: UUID,
    affiliate: str,
    plan_state: domain.PlanState,
    debits: list[Debit],
    on: date,
    updates: list[tuple[UUID, Debit]],
    changes: list[tuple[Debit, Change]],
) -> list[OutgoingMessage]:
    """Completes or defaults the plan when its debits say so (adding the cancelled debits to
    ``updates`` and ``changes``); returns the plan's event, if any."""
    outcome = domain.conclude(plan_state, debits, on)
    if isinstance(outcome, domain.Completed):
        await repo.close_plan(request_id, "COMPLETED", on)
        completed = PlanCompleted.build(
            PlanCompletedPayload(
                request_id=request_id,
                affiliate=affiliate,
                total_paid=outcome.total_paid,
                completed_on=on,
            ),
            producer=PRODUCER,
            occurred_at=ctx.clock.now(),
        )
        return [OutgoingMessage.of(DEBITS_EVENTS.name, affiliate, completed)]
    if isinstance(outcome, domain.Defaulted):
        await repo.close_plan(request_id, "DEFAULTED", on)
        updates += [(request_id, d) for d in outcome.cancelled]
        changes += list(zip(outcome.cancelled, outcome.changes, strict=True))
        return [plan_defaulted(ctx, request_id, affiliate, outcome, on)]
    return []
