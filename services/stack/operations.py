"""One-shot operator actions on a service's own database (what the CLI runs)."""

from services.auth.service.import_accounts import DamancomExport, import_accounts
from services.auth.service.passwords import Passwords
from services.debt.service.apply_ledger import republish_positions
from services.runtime.clock import SystemClock
from services.runtime.db import create_pool


async def import_export(auth_database_url: str, export: DamancomExport) -> int:
    pool = await create_pool(auth_database_url, size=1)
    try:
        async with pool.acquire() as conn:
            return await import_accounts(conn, export, Passwords(), SystemClock())
    finally:
        await pool.close()


async def republish(debt_database_url: str) -> int:
    pool = await create_pool(debt_database_url, size=1)
    try:
        async with pool.acquire() as conn:
            return await republish_positions(conn, SystemClock())
    finally:
        await pool.close()
