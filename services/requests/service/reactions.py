"""What the other parties' answers do to a request: a perception's answer on its guarantees, the
plan's life at debits (first payment, completion, default). Each moves the request through the
lifecycle's use cases, in the consumer's transaction; one the lifecycle refuses is dead-lettered
with its refusal's code (a late or foreign answer changes nothing)."""

import logging

import asyncpg

from contracts.debits import DebitChanged, PlanCompleted, PlanDefaulted, PlanScheduled
from contracts.perception import GuaranteeDeposited, GuaranteeRefused, GuaranteeRequestReceived
from contracts.refusals import Refusal
from contracts.requests import Guarantee
from services.requests.service import lifecycle
from services.requests.service.context import RequestsContext
from services.runtime.consumer import Unapplicable

log = logging.getLogger(__name__)


async def on_perception(
    conn: asyncpg.Connection,
    ctx: RequestsContext,
    event: GuaranteeRequestReceived | GuaranteeDeposited | GuaranteeRefused,
) -> None:
    p = event.payload
    try:
        if isinstance(event, GuaranteeRequestReceived):
            await lifecycle.guarantee_request_received(
                conn, ctx, p.request_id, p.affiliate, p.perception, event.payload.received_at
            )
        elif isinstance(event, GuaranteeDeposited):
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
        # A late refusal (the request expired or was withdrawn meanwhile), one for an unknown request
        # or another affiliate's, one from an office that was not asked or dated outside the request's
        # window: nothing changes, and the dead letter tells an operator. (A deposit after expiry is
        # kept on the request by lifecycle.guarantee_deposited, for `recouvrement requests reopen`.)
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
        if isinstance(event, PlanScheduled):
            await lifecycle.plan_scheduled(conn, ctx, event.payload.request_id)
        elif isinstance(event, DebitChanged):
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
