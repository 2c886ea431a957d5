"""The debit run, run periodically by the service for today's business date."""

import logging

import asyncpg

from services.debits.service.context import DebitsContext
from services.debits.service.debit_run import run_debits
from services.debits.service.order_follow_up import follow_up_orders
from services.runtime.clock import business_date
from services.runtime.faults import NO_CRASH, CrashPoints
from services.runtime.periodic import Periodic

log = logging.getLogger(__name__)


def debit_runner(
    pool: asyncpg.Pool, ctx: DebitsContext, interval: float, crash_points: CrashPoints = NO_CRASH
) -> Periodic:
    """A failed pass leaves its debits due: the next one orders them. ``debit-run.page`` is the
    crash tests' point after a page committed (its events in the outbox, maybe not yet sent).
    Each pass then follows up the orders the banks have not answered."""

    async def one_pass() -> None:
        today = business_date(ctx.clock)
        async with pool.acquire() as conn:
            summary = await run_debits(conn, ctx, today, progress=lambda _: crash_points.reached("debit-run.page"))
            followed = await follow_up_orders(conn, ctx, today)
        if followed.resent or followed.flagged:
            log.warning("orders unanswered", extra={"resent": followed.resent, "flagged": followed.flagged})
        if summary.orders:
            log.info(
                "debit run",
                extra={"on_date": summary.on_date.isoformat(), "orders": summary.orders, "amount": str(summary.amount)},
            )

    return Periodic("debit-run", one_pass, interval)
