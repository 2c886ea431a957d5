"""Loops that retry on any failure stop when asked, even when the cancel reaches them as another error.

The chaos test once left requests alive and never ready: restarted as the broker died, its startup
failed, and ``asyncio.run`` waited forever for the outbox relay, which had caught aiokafka's
``KafkaConnectionError`` in place of its cancel (``asyncio.wait_for``, Python 3.11) and tried again.
"""

import asyncio
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
