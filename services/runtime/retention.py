"""Nothing grows forever: each service purges, on a schedule, what outlived its window.

Every service purges its inbox (``INBOX_RETENTION_DAYS``), its outbox's log
(``OUTBOX_RETENTION_DAYS``) and its idempotency keys (``IDEMPOTENCY_KEY_HOURS``); a service adds its
own (auth: login attempts, simulation and requests: quotes, the portal: expired sessions). Each purge
deletes a few thousand rows per statement, in its own short transaction, until nothing is left to
purge: a backlog of months never holds one long lock beside the traffic.
"""

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg

from services.runtime import idempotency, inbox, outbox_log
from services.runtime.periodic import Periodic
from services.runtime.settings import ServiceSettings

log = logging.getLogger(__name__)

Delete = Callable[[asyncpg.Connection, datetime], Awaitable[int]]
"""``(connection, before) -> rows deleted``: up to a batch of the rows older than ``before``."""


@dataclass(frozen=True)
class Purge:
    what: str
    """the table purged, as metrics and logs name it"""
    window: timedelta
    delete: Delete


def platform_purges(settings: ServiceSettings) -> list[Purge]:
    """What every service purges: its inbox, its outbox's log and its idempotency keys."""
    return [
        Purge("inbox", timedelta(days=settings.inbox_retention_days), inbox.purge),
        Purge("outbox_log", timedelta(days=settings.outbox_retention_days), outbox_log.purge),
        Purge("idempotency_key", timedelta(hours=settings.idempotency_key_hours), idempotency.purge),
    ]


class Retention:
    def __init__(
        self,
        pool: asyncpg.Pool,
        purges: Sequence[Purge],
        on_purged: Callable[[str, int], None] = lambda what, count: None,
    ) -> None:
        self._pool = pool
        self._purges = purges
        self._on_purged = on_purged

    async def run_once(self, now: datetime | None = None) -> dict[str, int]:
        """Purges everything older than each window as of ``now``; returns the rows deleted per table.

        Wall-clock time, not the service's business clock: storage ages by the hour whatever date a
        demo or a test makes the business live on (a clock moved months ahead must not empty the inbox)."""
        now = now or datetime.now(UTC)
        purged: dict[str, int] = {}
        for purge in self._purges:
            total = 0
            async with self._pool.acquire() as conn:
                while count := await purge.delete(conn, now - purge.window):
                    total += count
            purged[purge.what] = total
            if total:
                self._on_purged(purge.what, total)
        if any(purged.values()):
            log.info("retention: purged what outlived its window", extra={"purged": purged})
        return purged

    def schedule(self, interval: float) -> Periodic:
        async def once() -> None:
            await self.run_once()

        return Periodic("retention", once, interval)
