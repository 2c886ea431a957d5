"""One-shot actions on debits' own database: what the CLI and the demo seeding run."""

import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, date
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg

from services.debits.adapters.follow_up_repository import FollowUpRepository
from services.debits.adapters.pain.pain008 import render_pain008
from services.debits.adapters.pain.run_orders import run_orders
from services.debits.adapters.plan_repository import PlanRepository
from services.debits.config import DebitsSettings
from services.debits.entrypoints.dependencies import context_of
from services.debits.service.accounts import (
    FileRefused,
    Registration,
    parse_declarations,
    register_accounts,
    republish_accounts,
)
from services.debits.service.debit_run import RunSummary, count_due, run_debits
from services.debits.service.order_follow_up import FollowUpSummary, follow_up_orders
from services.runtime.clock import Clock, SystemClock, business_date
from services.runtime.db import migrate, one_connection

log = logging.getLogger(__name__)
MIGRATIONS = [("debits", Path(__file__).parents[1] / "migrations")]


@asynccontextmanager
async def _migrated(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """One connection to debits' database, its migrations applied first (idempotent): a one-shot
    run may come before the service's first start."""
    migrator = await asyncpg.connect(database_url)
    try:
        await migrate(migrator, MIGRATIONS)
    finally:
        await migrator.close()
    async with one_connection(database_url) as conn:
        yield conn


async def import_bank_accounts(
    database_url: str, records: bytes | Sequence[Mapping[str, Any]], clock: Clock | None = None
) -> Registration:
    """Registers a batch of accounts (a JSON file's bytes or decoded records) through the use case:
    all or nothing; raises ``FileRefused`` before touching the database when one is invalid.

    Applies debits' migrations first, so an import may run before the service's first start.
    """
    declarations = parse_declarations(records)
    async with _migrated(database_url) as conn:
        try:
            return await register_accounts(conn, declarations, clock or SystemClock())
        except asyncpg.UniqueViolationError:
            # The transaction rolled back: nothing of the batch was registered.
            raise FileRefused("un identifiant de compte du fichier est déjà celui d'un autre compte") from None


async def republish(database_url: str) -> int:
    """Puts every affiliate's list of bank accounts in the outbox again (the service sends them);
    how many affiliates."""
    async with _migrated(database_url) as conn:
        return await republish_accounts(conn, SystemClock())


async def run_debit_run(
    database_url: str,
    on: date | None = None,
    *,
    started: Callable[[int], None] | None = None,
    progress: Callable[[int], None] | None = None,
    clock: Clock | None = None,
    page_size: int | None = None,
) -> RunSummary:
    """A debit run for ``on`` (default: today's business date in Casablanca), as the service's own
    scheduled run does it: the orders go to the outbox, the service's relay sends them.
    ``started`` is told how many debits are due before the first page."""
    clock = clock or SystemClock()
    settings = DebitsSettings(database_url=database_url)
    if page_size is not None:
        settings = settings.model_copy(update={"debit_run_page_size": page_size})
    ctx = context_of(settings, clock)
    on_date = on or business_date(clock)
    async with _migrated(database_url) as conn:
        if started is not None:
            started(await count_due(conn, on_date))
        return await run_debits(conn, ctx, on_date, progress=progress)


async def follow_up(database_url: str, on: date | None = None, clock: Clock | None = None) -> FollowUpSummary:
    """The follow-up of unanswered orders as of ``on`` (default: today), as each debit run does it."""
    clock = clock or SystemClock()
    ctx = context_of(DebitsSettings(database_url=database_url), clock)
    async with _migrated(database_url) as conn:
        return await follow_up_orders(conn, ctx, on or business_date(clock))


async def held_plans(database_url: str) -> list[asyncpg.Record]:
    """The plans a debit run set aside (``debit_run._plan_by_plan``), with the error each met."""
    async with _migrated(database_url) as conn:
        return await PlanRepository(conn).held()


async def release_plans(database_url: str, request_ids: Sequence[UUID] | None, why: str) -> list[UUID]:
    """Gives held plans back to the debit run (``None``: every held plan); each is logged with the
    operator's reason. The next run orders them as any plan due."""
    async with _migrated(database_url) as conn, conn.transaction():
        repo = PlanRepository(conn)
        wanted = [row["request_id"] for row in await repo.held()] if request_ids is None else request_ids
        released = await repo.release(wanted)
    for request_id in released:
        log.warning("held plan released by an operator", extra={"request_id": str(request_id), "why": why})
    return released


async def flagged_orders(database_url: str) -> list[asyncpg.Record]:
    async with _migrated(database_url) as conn:
        return await FollowUpRepository(conn).flagged()


async def export_pain008(database_url: str, bank: str, on_date: date, clock: Clock | None = None) -> bytes | None:
    """The pain.008 file of the orders of ``on_date``'s run for ``bank``; ``None`` when it ordered none."""
    clock = clock or SystemClock()
    ctx = context_of(DebitsSettings(database_url=database_url), clock)
    conn = await asyncpg.connect(database_url)
    try:
        orders = await run_orders(conn, bank, on_date, ctx.creditor)
    finally:
        await conn.close()
    if not orders:
        return None
    return render_pain008(orders, bank=bank, on_date=on_date, created_at=clock.now().astimezone(UTC))
