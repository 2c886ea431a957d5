"""One-shot actions on debt's own database: what the CLI runs."""

from services.debt.service.apply_ledger import republish_positions
from services.runtime.clock import SystemClock
from services.runtime.db import one_connection


async def republish(database_url: str) -> int:
    """Puts every position in the outbox again (the service sends them); how many."""
    async with one_connection(database_url) as conn:
        return await republish_positions(conn, SystemClock())
