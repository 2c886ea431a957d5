"""Orders a bank has not answered, followed up as of a date (``domain/follow_up.py`` says why the
same message is sent again and never a new presentation). Run after each debit run, and on demand
by ``recouvrement debits follow-up --date``.

Pages of orders locked with SKIP LOCKED, one transaction each: a result being applied to an order
at that moment holds it, and the next pass looks at it again; two replicas share the work.
"""

import logging
from dataclasses import dataclass
from datetime import date
from uuid import UUID

import asyncpg

from contracts.banks import orders_topic
from services.debits.adapters.follow_up_repository import FollowUpRepository, unanswered_of
from services.debits.adapters.plan_repository import PlanRepository, debit_of
from services.debits.domain import follow_up
from services.debits.domain.debits import Change
from services.debits.service.context import DebitsContext
from services.debits.service.debit_run import order_message
from services.debits.service.plan_lifecycle import debit_changed
from services.runtime.outbox import OutgoingMessage, enqueue_many, send_again

log = logging.getLogger(__name__)


@dataclass
class FollowUpSummary:
    resent: int = 0
    flagged: int = 0


async def follow_up_orders(
    conn: asyncpg.Connection, ctx: DebitsContext, today: date, page: int = 200
) -> FollowUpSummary:
    summary = FollowUpSummary()
    repo, plans = FollowUpRepository(conn), PlanRepository(conn)
    after = ""
    while True:
        async with conn.transaction():
            found = await repo.unanswered(today, after, page)
            changes: list[tuple[UUID, Change]] = []
            resends: list[OutgoingMessage] = []
            events: list[OutgoingMessage] = []
            for row in found:
                order = unanswered_of(row)
                decision = follow_up.decide(order, today, ctx.calendar, ctx.follow_up)
                if decision == "wait":
                    continue
                context = {"end_to_end_id": order.end_to_end_id, "bank": row["bank_code"], "resends": order.resends}
                if decision == "resend":
                    change = follow_up.resent(order, today, ctx.follow_up)
                    message = order_message(
                        row,
                        row["request_id"],
                        sequence=order.sequence,
                        attempt=order.attempt,
                        end_to_end_id=order.end_to_end_id,
                        amount=row["amount"],
                        requested_collection_date=order.requested_collection_date,
                        creditor=ctx.creditor,
                        now=ctx.clock.now(),
                    )
                    resends.append(OutgoingMessage.of(orders_topic(row["bank_code"]), row["affiliate"], message))
                    await repo.mark_resent(order.end_to_end_id, today)
                    summary.resent += 1
                    log.warning("debit order unanswered: sent again as the same message", extra=context)
                else:
                    change = follow_up.flagged(order, ctx.follow_up)
                    await repo.mark_flagged(order.end_to_end_id, today)
                    summary.flagged += 1
                    log.error("debit order unanswered after its sendings again: flagged to operators", extra=context)
                changes.append((row["request_id"], change))
                events.append(debit_changed(ctx, row["request_id"], row["affiliate"], debit_of(row), change))
            await plans.add_history(changes, ctx.clock.now())
            await send_again(conn, resends)
            await enqueue_many(conn, events)
        if len(found) < page:
            return summary
        after = found[-1]["end_to_end_id"]
