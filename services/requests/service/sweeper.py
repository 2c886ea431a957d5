"""The sweep, run periodically by the service (and on demand by ``recouvrement requests sweep``)."""

import asyncio
import contextlib
import logging

import asyncpg

from services.requests.service.context import RequestsContext
from services.requests.service.lifecycle import sweep

log = logging.getLogger(__name__)


class Sweeper:
    def __init__(self, pool: asyncpg.Pool, ctx: RequestsContext, interval: float) -> None:
        self._pool = pool
        self._ctx = ctx
        self._interval = interval
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._interval > 0:
            self._task = asyncio.create_task(self._run(), name="requests-sweeper")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            try:
                async with self._pool.acquire() as conn:
                    done = await sweep(conn, self._ctx, self._ctx.clock.now())
                if any(done.values()):
                    log.info("sweep", extra=done)
            except Exception:  # the next pass tries again; a sweep is never urgent to the second
                log.exception("sweep failed")
            await asyncio.sleep(self._interval)
