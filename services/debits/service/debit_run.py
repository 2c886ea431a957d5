"""The debit run: of each plan with a debit due by a date, one debit becomes an order on its bank's
topic, exactly once; the plan's other due debits, and the rest of the plan after them, slide forward
(``domain.debits.run_plan``: one debit per plan per run, a late plan never bunches).

Pages of ``page_size`` due debits, each in ONE transaction: for each plan of the page (its row locked,
so two runs at once never both order for one plan), its pending debits are read, the domain decides,
and the order (unique end-to-end id, unique request/installment/attempt), the debits' new state or
dates and history, the ``DebitOrder`` for the bank and the ``DebitChanged`` for the others go to the
outbox. A crash loses at most the page in flight (rolled back, ordered by the next run); two runs at
once take different plans (``SKIP LOCKED``); a debit once ordered or moved is no longer due, so
nothing is ordered twice for the same attempt and every page is new rows.
"""

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg
from opentelemetry import trace

from contracts.banks import orders_topic
from contracts.debits import Creditor, DebitOrder, DebitOrderPayload
from services.debits.adapters.plan_repository import PlanRepository
from services.debits.domain import debits as domain
from services.debits.service.context import PRODUCER, DebitsContext
from services.debits.service.plan_lifecycle import debit_changed
from services.runtime.outbox import OutgoingMessage, enqueue_many
from services.runtime.poison import describe, is_transient, redact

log = logging.getLogger(__name__)
MAX_NAME = 140
tracer = trace.get_tracer(__name__)

LOCKED_PLAN_PAUSES = (0.05, 0.2, 0.5, 1.0)  # seconds; about 2 s at most for plans held by an answer


@dataclass
class BankTotal:
    orders: int = 0
    amount: Decimal = Decimal("0.00")


@dataclass
class RunSummary:
    on_date: date
    banks: dict[str, BankTotal] = field(default_factory=dict)
    held: list[UUID] = field(default_factory=list)
    """plans this run could not order and set aside (``_plan_by_plan``)"""

    @property
    def orders(self) -> int:
        return sum(b.orders for b in self.banks.values())

    @property
    def amount(self) -> Decimal:
        return sum((b.amount for b in self.banks.values()), Decimal("0.00"))


async def count_due(conn: asyncpg.Connection, on_date: date) -> int:
    """How many orders the run of ``on_date`` will make: one per plan with a debit due."""
    return await PlanRepository(conn).count_due(on_date)


async def run_debits(
    conn: asyncpg.Connection,
    ctx: DebitsContext,
    on_date: date,
    *,
    progress: Callable[[int], None] | None = None,
) -> RunSummary:
    """Order, of every plan with a debit due by ``on_date``, its earliest (the rest of a late plan
    moved forward); ``progress`` is told how many each page ordered."""
    summary = RunSummary(on_date)
    repo = PlanRepository(conn)
    for pause in (*LOCKED_PLAN_PAUSES, None):
        await _run_pages(conn, ctx, repo, on_date, summary, progress)
        # A plan whose row a bank answer held at that instant was skipped (SKIP LOCKED), not ordered:
        # look again after a moment rather than leave its debit to the next run, a day late. The
        # pauses are bounded: a plan another run holds is that run's, and is no longer due once it
        # commits.
        if pause is None or await repo.count_due(on_date) == 0:
            break
        await asyncio.sleep(pause)
    return summary


async def _run_pages(
    conn: asyncpg.Connection,
    ctx: DebitsContext,
    repo: PlanRepository,
    on_date: date,
    summary: RunSummary,
    progress: Callable[[int], None] | None,
) -> None:
    while True:
        page: list[asyncpg.Record] = []
        try:
            async with conn.transaction():
                page = await repo.claim_due(on_date, ctx.page_size)
                if not page:
                    return
                # A page is a trace: its orders and events are published under it (one PRODUCER span
                # per topic, ``runtime/publish_spans.py``), and each bank's answer continues it.
                with tracer.start_as_current_span(
                    "debit-run page", attributes={"debits.run_date": on_date.isoformat()}
                ):
                    ordered = await _order_page(conn, ctx, repo, page, on_date)
        except Exception as exc:
            if not page or is_transient(exc):
                raise  # an outage: the run stops, its debits stay due for the next pass
            # Something in the page can never be ordered as it stands. Rolled back; every plan of
            # the page again in its own transaction, and the one that fails again is held.
            ordered = await _plan_by_plan(conn, ctx, repo, [row["request_id"] for row in page], on_date, summary)
        for bank, amount in ordered:  # counted once committed
            total = summary.banks.setdefault(bank, BankTotal())
            total.orders += 1
            total.amount += amount
        if progress is not None:
            progress(len(ordered))
        if len(page) < ctx.page_size:
            return


async def _plan_by_plan(
    conn: asyncpg.Connection,
    ctx: DebitsContext,
    repo: PlanRepository,
    request_ids: list[UUID],
    on_date: date,
    summary: RunSummary,
) -> list[tuple[str, Decimal]]:
    """The plans of a page that failed, one transaction each. A plan that fails alone while others
    of its page are ordered is held (``held_reason``): no run takes it again until an operator
    releases it, and the run goes on. When none is ordered the fault is not one plan's (a bug
    every plan meets, an error the runtime does not know as an outage): the run fails as before
    and holds nothing, rather than set every plan aside."""
    ordered: list[tuple[str, Decimal]] = []
    succeeded = 0
    failed: list[tuple[UUID, Exception]] = []
    for request_id in dict.fromkeys(request_ids):  # each plan once, in the page's order
        try:
            async with conn.transaction():
                rows = await repo.claim_due_of_plan(request_id, on_date)
                if not rows:  # another run took it meanwhile, or it is no longer due
                    continue
                with tracer.start_as_current_span(
                    "debit-run plan", attributes={"debits.run_date": on_date.isoformat()}
                ):
                    plan_orders = await _order_page(conn, ctx, repo, rows, on_date)
            ordered += plan_orders  # counted once committed
            succeeded += 1
        except Exception as exc:
            if is_transient(exc):
                raise
            failed.append((request_id, exc))
    if failed and not succeeded:
        raise failed[0][1]
    for request_id, error in failed:
        reason = redact(describe(error), 2000)  # never the RIB: a ValidationError's input may be one
        async with conn.transaction():
            await repo.hold(request_id, reason, ctx.clock.now())
        summary.held.append(request_id)
        log.error(
            "debit run: plan held, no run orders it until an operator releases it",
            extra={"request_id": str(request_id), "on_date": on_date.isoformat(), "reason": reason},
        )
    return ordered


async def _order_page(
    conn: asyncpg.Connection,
    ctx: DebitsContext,
    repo: PlanRepository,
    page: list[asyncpg.Record],
    on_date: date,
) -> list[tuple[str, Decimal]]:
    now = ctx.clock.now()
    orders: list[dict[str, Any]] = []
    updates: list[tuple[UUID, domain.Debit]] = []
    changes: list[tuple[UUID, domain.Change]] = []
    messages: list[OutgoingMessage] = []
    plans = {row["request_id"]: row for row in page}  # each row of a plan repeats the plan's fields
    pending = await repo.pending_debits(list(plans))
    for request_id, row in plans.items():
        step = domain.run_plan(request_id, pending.get(request_id, []), on_date, ctx.calendar)
        changed = step.moved if step.ordering is None else [(step.ordering.debit, step.ordering.change), *step.moved]
        if step.ordering is not None:
            ordering, debit = step.ordering, step.ordering.debit
            orders.append(
                {
                    "end_to_end_id": ordering.end_to_end_id,
                    "request_id": request_id,
                    "sequence": debit.sequence,
                    "attempt": ordering.attempt,
                    "bank_code": row["bank_code"],
                    "amount": debit.amount,
                    "requested_collection_date": ordering.requested_collection_date,
                }
            )
            # The full RIB goes on the debtor's bank's topic only.
            order = order_message(
                row,
                request_id,
                sequence=debit.sequence,
                attempt=ordering.attempt,
                end_to_end_id=ordering.end_to_end_id,
                amount=debit.amount,
                requested_collection_date=ordering.requested_collection_date,
                creditor=ctx.creditor,
                now=now,
            )
            messages.append(OutgoingMessage.of(orders_topic(row["bank_code"]), row["affiliate"], order))
        updates += [(request_id, debit) for debit, _ in changed]
        changes += [(request_id, change) for _, change in changed]
        messages += [debit_changed(ctx, request_id, row["affiliate"], debit, change) for debit, change in changed]
    await repo.insert_orders(orders, on_date, now)
    await repo.update_debits(updates)
    await repo.add_history(changes, now)
    await enqueue_many(conn, messages)
    return [(o["bank_code"], o["amount"]) for o in orders]


def order_message(
    row: asyncpg.Record,
    request_id: UUID,
    *,
    sequence: int,
    attempt: int,
    end_to_end_id: str,
    amount: Decimal,
    requested_collection_date: date,
    creditor: Creditor,
    now: datetime,
) -> DebitOrder:
    """What the debtor's bank receives; the plan's fields come from ``row``. Its event id follows
    from the end-to-end id: the same order built again (``order_follow_up``) is the same message."""
    return DebitOrder.build(
        DebitOrderPayload(
            end_to_end_id=end_to_end_id,
            request_id=request_id,
            affiliate=row["affiliate"],
            sequence=sequence,
            installments_total=row["installments_total"],
            attempt=attempt,
            instructed_amount=amount,
            currency="MAD",
            requested_collection_date=requested_collection_date,
            creditor=creditor,
            debtor_name=(row["raison_sociale"] or row["holder"])[:MAX_NAME],
            debtor_account=row["rib"],
            mandate_id=row["mandate_id"],
            mandate_signed_on=row["mandate_signed_on"],
            remittance_information=domain.remittance_information(request_id, sequence, row["installments_total"]),
        ),
        producer=PRODUCER,
        occurred_at=now,
        event_id=domain.order_event_id(end_to_end_id),
    )
