"""One-shot actions on debits' own database: what the CLI and the demo seeding run."""

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import asyncpg

from services.debits.service.accounts import Enregistrement, FichierRefuse, parse_declarations, register_accounts
from services.runtime.clock import Clock, SystemClock
from services.runtime.db import create_pool, migrate

MIGRATIONS = [("debits", Path(__file__).parent / "migrations")]


async def import_bank_accounts(
    database_url: str, records: bytes | Sequence[Mapping[str, Any]], clock: Clock | None = None
) -> Enregistrement:
    """Registers a batch of accounts (a JSON file's bytes or decoded records) through the use case:
    all or nothing; raises ``FichierRefuse`` before touching the database when one is invalid.

    Applies debits' migrations first (idempotent), so an import may run before the service's first start.
    """
    declarations = parse_declarations(records)
    migrator = await asyncpg.connect(database_url)
    try:
        await migrate(migrator, MIGRATIONS)
    finally:
        await migrator.close()
    pool = await create_pool(database_url, size=1)
    try:
        async with pool.acquire() as conn:
            try:
                return await register_accounts(conn, declarations, clock or SystemClock())
            except asyncpg.UniqueViolationError:
                # The transaction rolled back: nothing of the batch was registered.
                raise FichierRefuse("un identifiant de compte du fichier est déjà celui d'un autre compte") from None
    finally:
        await pool.close()
