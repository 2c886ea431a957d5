"""The debit run, run periodically by the service for today's business date."""

import asyncio
import contextlib
import logging

import asyncpg

from services.debits.service.context import DebitsContext
from services.debits.service.run import run_debits
from services.runtime.clock import business_date

log = logging.getLogger(__name__)


class DebitRunner:
    def __init__(self, pool: asyncpg.Pool, ctx: DebitsContext, interval: float) -> None:
        self._pool = pool
        self._ctx = ctx
        self._interval = interval
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._interval > 0:
            self._task = asyncio.create_task(self._run(), name="debit-run")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            try:
                async with self._pool.acquire() as conn:
                    summary = await run_debits(conn, self._ctx, business_date(self._ctx.clock))
                if summary.orders:
                    log.info(
                        "debit run",
                        extra={
                            "on_date": summary.on_date.isoformat(),
                            "orders": summary.orders,
                            "amount": str(summary.amount),
                        },
                    )
            except Exception:  # the next pass orders what this one could not: due debits stay due
                log.exception("debit run failed")
            await asyncio.sleep(self._interval)
