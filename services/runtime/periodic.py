"""Scheduled work inside a service (the requests sweep, the debit run): one pass every interval.

A pass that fails is logged and the next one tries again: scheduled work here is always safe to
repeat (rows locked with SKIP LOCKED, unique keys), and never urgent to the second.
"""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from services.runtime.cancellation import stop_requested

log = logging.getLogger(__name__)


class Periodic:
    def __init__(self, name: str, work: Callable[[], Awaitable[None]], interval: float) -> None:
        self._name = name
        self._work = work
        self._interval = interval
        self._task: asyncio.Task[None] | None = None
        self.passes = 0
        """passes finished since the start, failed ones included: an operator (and a test) sees
        the work is alive without reading the logs"""

    def start(self) -> None:
        """Interval 0 or less: never (tests and one-shot commands run the work themselves)."""
        if self._interval > 0:
            self._task = asyncio.create_task(self._run(), name=self._name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            try:
                await self._work()
            except Exception:
                if stop_requested():  # the cancel became this error on its way (``cancellation``)
                    raise asyncio.CancelledError from None
                log.exception("scheduled work failed; next pass in one interval", extra={"work": self._name})
            self.passes += 1
            if stop_requested():  # a cancel swallowed by a wait_for inside the pass (``cancellation``)
                raise asyncio.CancelledError
            await asyncio.sleep(self._interval)
