"""One-shot actions on debt's own database: what the CLI runs."""

from services.debt.service.apply_ledger import republish_positions
from services.runtime.clock import SystemClock
from services.runtime.db import create_pool


async def republish(database_url: str) -> int:
    """Puts every position in the outbox again (the service sends them); how many."""
    pool = await create_pool(database_url, size=1)
    try:
        async with pool.acquire() as conn:
            return await republish_positions(conn, SystemClock())
    finally:
        await pool.close()
