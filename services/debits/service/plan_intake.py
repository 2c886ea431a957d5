"""Requests' announcements, applied a batch at a time: a validated request gets its plan and debits,
once; a request DEFAULTED by requests itself (article 2) forfeits its plan here too; other states
change nothing.

Why a batch at a time: at ten statements per plan (a savepoint, the inbox claim, the account, the
plan, its debits, their history, the outbox) the intake took about 210 plans a second, when a
campaign validates tens of thousands in days and a replay or a new replica reads them all again. A
run of validations is written in a few statements whatever its size. The runtime's consumer keeps the
guarantees: one refused (an unknown account, an impossible schedule, a value the database refuses)
makes it apply the batch's messages one by one, so that one alone is dead-lettered.
"""

from datetime import datetime
from uuid import UUID

import asyncpg
from opentelemetry import context as otel_context
from opentelemetry.context import Context

from contracts.debits import PlanScheduled, PlanScheduledPayload
from contracts.requests import Plan, RequestStateChanged
from contracts.topics import DEBITS_EVENTS
from services.debits.adapters.plan_repository import NewPlan, PlanRepository
from services.debits.domain import debits as domain
from services.debits.domain.debits import Debit
from services.debits.service.context import PRODUCER, DebitsContext
from services.debits.service.plan_lifecycle import debit_view, request_defaulted
from services.runtime.consumer import Unapplicable
from services.runtime.outbox import OutgoingMessage, enqueue_many

Validation = tuple[RequestStateChanged, Context]


async def on_request_events(
    conn: asyncpg.Connection, ctx: DebitsContext, events: list[RequestStateChanged], contexts: list[Context]
) -> None:
    """In topic order: the validations before a DEFAULTED are scheduled before it is applied."""
    run: list[Validation] = []
    for event, context in zip(events, contexts, strict=True):
        p = event.payload
        if p.state == "VALIDATED" and p.plan is not None:
            run.append((event, context))
        elif p.state == "DEFAULTED":
            await schedule_plans(conn, ctx, run)
            run = []
            token = otel_context.attach(context)  # what it writes continues its own trace
            try:
                await request_defaulted(conn, ctx, event)
            finally:
                otel_context.detach(token)
    await schedule_plans(conn, ctx, run)


async def schedule_plans(conn: asyncpg.Connection, ctx: DebitsContext, validations: list[Validation]) -> None:
    """Each validation's plan and debits, the history line of each debit and one ``PlanScheduled``
    per new plan (continuing its validation's trace). A request announced validated twice (a replay,
    an announcement again) keeps the plan it has."""
    validations = _first_of_each_request(validations)
    if not validations:
        return
    repo = PlanRepository(conn)
    accounts = await repo.accounts([(_plan(e).bank_account_id, e.payload.affiliate) for e, _ in validations])
    now = ctx.clock.now()
    plans: list[NewPlan] = []
    schedules: dict[UUID, list[Debit]] = {}
    for event, _ in validations:
        p, plan = event.payload, _plan(event)
        account = accounts.get((plan.bank_account_id, p.affiliate))
        if account is None:
            raise Unapplicable(f"compte bancaire {plan.bank_account_id} inconnu pour l'affilié {p.affiliate}")
        try:
            debits = domain.schedule(
                [(s.sequence, s.kind, s.due_date, s.collection_date, s.amount) for s in plan.schedule],
                plan.validation_date,
            )
        except ValueError as exc:
            raise Unapplicable(f"échéancier inapplicable : {exc}") from None
        schedules[p.request_id] = debits
        plans.append(
            NewPlan(
                request_id=p.request_id,
                affiliate=p.affiliate,
                programme=p.programme,
                modality=plan.quote.modality,
                bank_account_id=account["id"],
                rib=account["rib"],
                bank_code=account["bank_code"],
                holder=account["holder"],
                mandate_id=domain.mandate_id(p.request_id),
                mandate_signed_on=plan.validation_date,
                installments_total=len(debits),
                created_at=now,
            )
        )
    created = await repo.insert_plans(plans)
    new = [(e, c) for e, c in validations if e.payload.request_id in created]
    await repo.insert_debits([(e.payload.request_id, schedules[e.payload.request_id]) for e, _ in new])
    await repo.add_history(
        [
            (e.payload.request_id, change)
            for e, _ in new
            for change in domain.scheduled_changes(schedules[e.payload.request_id], _plan(e).validation_date)
        ],
        now,
    )
    await enqueue_many(conn, [_scheduled(e, schedules[e.payload.request_id], c, now) for e, c in new])


def _first_of_each_request(validations: list[Validation]) -> list[Validation]:
    seen: set[UUID] = set()
    first = []
    for event, context in validations:
        if event.payload.request_id not in seen:
            seen.add(event.payload.request_id)
            first.append((event, context))
    return first


def _plan(event: RequestStateChanged) -> Plan:
    assert event.payload.plan is not None  # only validations with their plan are taken
    return event.payload.plan


def _scheduled(event: RequestStateChanged, debits: list[Debit], context: Context, now: datetime) -> OutgoingMessage:
    """``now``: the run's one instant, as the plans' ``created_at`` and their history say."""
    p = event.payload
    scheduled = PlanScheduled.build(
        PlanScheduledPayload(request_id=p.request_id, affiliate=p.affiliate, debits=[debit_view(d) for d in debits]),
        producer=PRODUCER,
        occurred_at=now,
    )
    return OutgoingMessage.of(DEBITS_EVENTS.name, p.affiliate, scheduled, trace_context=context)
