"""The platform listens for ``BROKER_REPLACED`` while it runs, and ignores it again once stopped."""

import asyncio
import os
import signal

from services.runtime.broker_replaced import BROKER_REPLACED, listen


async def test_the_signal_reaches_the_handler_on_the_loop_then_is_ignored_not_deadly() -> None:
    before = signal.getsignal(BROKER_REPLACED)
    # ignored first: a handler that failed to install makes the wait below time out instead of the
    # signal's default action ending the whole test session
    signal.signal(BROKER_REPLACED, signal.SIG_IGN)
    told = asyncio.Event()
    try:
        listen(BROKER_REPLACED, told.set)
        os.kill(os.getpid(), BROKER_REPLACED)
        await asyncio.wait_for(told.wait(), 2)

        listen(BROKER_REPLACED, None)
        # asyncio's removal alone would leave SIG_DFL: a later signal would end the process
        assert signal.getsignal(BROKER_REPLACED) is signal.SIG_IGN
    finally:
        signal.signal(BROKER_REPLACED, before)
