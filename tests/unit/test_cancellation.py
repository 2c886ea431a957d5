"""Loops that retry on any failure stop when asked, even when the cancel reaches them as another error.

The chaos test once left requests alive and never ready: restarted as the broker died, its startup
failed, and ``asyncio.run`` waited forever for the outbox relay, which had caught aiokafka's
``KafkaConnectionError`` in place of its cancel (``asyncio.wait_for``, Python 3.11) and tried again.
"""

import asyncio
import time
from typing import Any, cast

from services.runtime.outbox import OutboxRelay
from services.runtime.periodic import Periodic


class TurnsItsCancelIntoAnError:
    """A step that, cancelled while it waits, raises its own error instead (as ``wait_for`` can).
    Called again (the loop took the error for a failure to retry), it ends the loop, so a
    regression fails the test on ``calls`` instead of hanging the session."""

    def __init__(self) -> None:
        self.entered = asyncio.Event()
        self.calls = 0

    async def __call__(self) -> Any:
        self.calls += 1
        if self.calls > 1:
            raise asyncio.CancelledError
        self.entered.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            raise ConnectionError("Unable to bootstrap") from None


async def test_a_relay_stops_when_its_cancel_comes_back_as_a_connection_error() -> None:
    step = TurnsItsCancelIntoAnError()
    relay = OutboxRelay(cast(Any, None), cast(Any, None), step, cast(Any, None))
    await relay.start()
    await step.entered.wait()

    await asyncio.wait_for(relay.stop(), 2)

    assert not relay.running
    assert step.calls == 1  # not tried again


async def test_scheduled_work_stops_when_its_cancel_comes_back_as_a_connection_error() -> None:
    step = TurnsItsCancelIntoAnError()
    job = Periodic("sweep", step, interval=0.01)
    job.start()
    await step.entered.wait()

    await asyncio.wait_for(job.stop(), 2)

    assert (step.calls, job.passes) == (1, 0)


async def test_scheduled_work_stops_when_wait_for_swallows_its_cancel() -> None:
    """Python 3.11's ``wait_for`` returns normally when what it awaits finishes in the very step the
    cancel arrives (the relay's wait for a NOTIFY, woken as the service stops): nothing failed, and
    before the fix the loop slept its interval and went round again (CI, 2026-12-07: a relay's stop
    waited ten minutes). ``stop`` is awaited directly, so its cancel lands in the step of the ``set``."""
    woken = asyncio.Event()
    waiting = asyncio.Event()

    async def work() -> None:
        waiting.set()
        await asyncio.wait_for(woken.wait(), 60)

    job = Periodic("sweep", work, interval=60)
    job.start()
    await waiting.wait()
    woken.set()
    started = time.monotonic()
    async with asyncio.timeout(3):  # a stop that hangs is cancelled here, and that cancel ends the job too
        await job.stop()
    assert time.monotonic() - started < 1  # before the fix: the 3 s of the timeout
    assert job._task is not None and job._task.done() and job.passes == 1
