"""The debit run: every debit due by a date becomes an order on its bank's topic, exactly once.

Pages of ``page_size`` debits, each in ONE transaction: the orders (unique end-to-end id, unique
request/installment/attempt), the debits' new state and history, the ``DebitOrder`` for the bank and
the ``DebitChanged`` for the others, in the outbox. A crash loses at most the page in flight (rolled
back, ordered by the next run); two runs at once take different rows (``SKIP LOCKED``); and a debit
once ordered is no longer due, so nothing is ordered twice for the same attempt.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import asyncpg

from contracts.banks import orders_topic
from contracts.debits import DebitOrder
from services.debits.adapters.plans import PlanRepository, debit_of
from services.debits.domain import debits as domain
from services.debits.service.context import PRODUCER, DebitsContext
from services.debits.service.plans import debit_changed
from services.runtime.outbox import OutgoingMessage, enqueue_many

MAX_NAME = 140


@dataclass
class BankTotal:
    orders: int = 0
    amount: Decimal = Decimal("0.00")


@dataclass
class RunSummary:
    on_date: date
    banks: dict[str, BankTotal] = field(default_factory=dict)

    @property
    def orders(self) -> int:
        return sum(b.orders for b in self.banks.values())

    @property
    def amount(self) -> Decimal:
        return sum((b.amount for b in self.banks.values()), Decimal("0.00"))


async def count_due(conn: asyncpg.Connection, on_date: date) -> int:
    return await PlanRepository(conn).count_due(on_date)


async def run_debits(
    conn: asyncpg.Connection,
    ctx: DebitsContext,
    on_date: date,
    *,
    progress: Callable[[int], None] | None = None,
) -> RunSummary:
    """Order every debit due by ``on_date``; ``progress`` is told how many each page ordered."""
    summary = RunSummary(on_date)
    repo = PlanRepository(conn)
    while True:
        async with conn.transaction():
            page = await repo.claim_due(on_date, ctx.page_size)
            if not page:
                break
            ordered = await _order_page(conn, ctx, repo, page, on_date)
        for bank, amount in ordered:  # counted once committed
            total = summary.banks.setdefault(bank, BankTotal())
            total.orders += 1
            total.amount += amount
        if progress is not None:
            progress(len(page))
        if len(page) < ctx.page_size:
            break
    return summary


async def _order_page(
    conn: asyncpg.Connection,
    ctx: DebitsContext,
    repo: PlanRepository,
    page: list[asyncpg.Record],
    on_date: date,
) -> list[tuple[str, Decimal]]:
    now = ctx.clock.now()
    orders: list[dict[str, Any]] = []
    updates = []
    changes = []
    messages: list[OutgoingMessage] = []
    creditor = ctx.creditor.model_dump()
    for row in page:
        request_id = row["request_id"]
        ordering = domain.order(request_id, debit_of(row), on_date, ctx.calendar)
        debtor = (row["raison_sociale"] or row["holder"])[:MAX_NAME]
        orders.append(
            {
                "end_to_end_id": ordering.end_to_end_id,
                "request_id": request_id,
                "sequence": row["sequence"],
                "attempt": ordering.attempt,
                "bank_code": row["bank_code"],
                "amount": row["amount"],
                "requested_collection_date": ordering.requested_collection_date,
            }
        )
        updates.append((request_id, ordering.debit))
        changes.append((request_id, ordering.change))
        message = DebitOrder.build(
            {
                "end_to_end_id": ordering.end_to_end_id,
                "request_id": request_id,
                "affiliate": row["affiliate"],
                "sequence": row["sequence"],
                "installments_total": row["installments_total"],
                "attempt": ordering.attempt,
                "instructed_amount": row["amount"],
                "currency": "MAD",
                "requested_collection_date": ordering.requested_collection_date,
                "creditor": creditor,
                "debtor_name": debtor,
                "debtor_account": row["rib"],
                "mandate_id": row["mandate_id"],
                "mandate_signed_on": row["mandate_signed_on"],
                "remittance_information": domain.remittance_information(
                    request_id, row["sequence"], row["installments_total"]
                ),
            },
            producer=PRODUCER,
            occurred_at=now,
        )
        # The full RIB goes on the debtor's bank's topic only.
        messages.append(OutgoingMessage.of(orders_topic(row["bank_code"]), row["affiliate"], message))
        messages.append(debit_changed(ctx, request_id, row["affiliate"], ordering.debit, ordering.change))
    await repo.insert_orders(orders, on_date, now)
    await repo.update_debits(updates)
    await repo.add_history(changes, now)
    await enqueue_many(conn, messages)
    return [(o["bank_code"], o["amount"]) for o in orders]
