"""One-shot actions on notifications' own database: what the CLI runs (the sweep as of a day, the
sending of what is due, the failed notifications and their requeue)."""

from datetime import date
from typing import Any

import httpx

from services.notifications.adapters.repository import NotificationRepository
from services.notifications.config import NotificationsSettings
from services.notifications.entrypoints.dependencies import context_of
from services.notifications.service.delivery import deliver_due
from services.notifications.service.reminders import remind
from services.runtime.clock import Clock, SystemClock, business_date
from services.runtime.db import create_pool, one_connection


async def run_sweep(database_url: str, on: str | None = None, clock: Clock | None = None) -> dict[str, int]:
    """The reminders due as of ``on`` (AAAA-MM-JJ), or today in Casablanca; the service sends them."""
    ctx = context_of(NotificationsSettings(database_url=database_url), clock or SystemClock())
    today = date.fromisoformat(on) if on else business_date(ctx.clock)
    async with one_connection(database_url) as conn:
        return await remind(conn, ctx, today)


async def run_send(settings: NotificationsSettings, clock: Clock | None = None) -> dict[str, int]:
    """What is due, sent now with the service's channels (an operator who cannot wait for the sender)."""
    async with httpx.AsyncClient(timeout=10) as client:
        ctx = context_of(settings, clock or SystemClock(), client)
        pool = await create_pool(settings.database_url, size=2)
        try:
            return await deliver_due(pool, ctx)
        finally:
            await pool.close()


async def list_failed(database_url: str, limit: int) -> list[dict[str, Any]]:
    async with one_connection(database_url) as conn:
        return await NotificationRepository(conn).failed(limit)


async def requeue_failed(database_url: str, ids: list[str] | None) -> int:
    async with one_connection(database_url) as conn:
        return await NotificationRepository(conn).requeue_failed(ids)
