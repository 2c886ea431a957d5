"""One-shot actions on auth's own database: what the CLI and the demo seeding run."""

from services.auth.service.import_accounts import DamancomExport, import_accounts, republish_affiliates
from services.auth.service.passwords import Passwords
from services.runtime.clock import SystemClock
from services.runtime.db import one_connection


async def import_export(database_url: str, export: DamancomExport) -> int:
    """Creates or updates the export's accounts and affiliates; how many accounts it holds."""
    async with one_connection(database_url) as conn:
        return await import_accounts(conn, export, Passwords(), SystemClock())


async def republish(database_url: str) -> int:
    """Puts every affiliate profile in the outbox again (the service sends them); how many."""
    async with one_connection(database_url) as conn:
        return await republish_affiliates(conn, SystemClock())
