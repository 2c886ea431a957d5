"""The debit run, run periodically by the service for today's business date."""

import logging

import asyncpg

from services.debits.service.context import DebitsContext
from services.debits.service.run import run_debits
from services.runtime.clock import business_date
from services.runtime.periodic import Periodic

log = logging.getLogger(__name__)


def debit_runner(pool: asyncpg.Pool, ctx: DebitsContext, interval: float) -> Periodic:
    """A failed pass leaves its debits due: the next one orders them."""

    async def one_pass() -> None:
        async with pool.acquire() as conn:
            summary = await run_debits(conn, ctx, business_date(ctx.clock))
        if summary.orders:
            log.info(
                "debit run",
                extra={"on_date": summary.on_date.isoformat(), "orders": summary.orders, "amount": str(summary.amount)},
            )

    return Periodic("debit-run", one_pass, interval)
