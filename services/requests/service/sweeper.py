"""The sweep, run periodically by the service (and on demand by ``recouvrement requests sweep``)."""

import logging

import asyncpg

from services.requests.service.context import RequestsContext
from services.requests.service.lifecycle import sweep
from services.runtime.periodic import Periodic

log = logging.getLogger(__name__)


def sweeper(pool: asyncpg.Pool, ctx: RequestsContext, interval: float) -> Periodic:
    async def one_pass() -> None:
        async with pool.acquire() as conn:
            done = await sweep(conn, ctx, ctx.clock.now())
        if any(done.values()):
            log.info("sweep", extra=done)

    return Periodic("requests-sweeper", one_pass, interval)
