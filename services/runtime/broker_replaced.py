"""The embedded stack's word that its memory-only broker was restarted, and how a process hears it."""

import asyncio
import contextlib
import signal
from collections.abc import Callable

BROKER_REPLACED = signal.SIGUSR1
"""Sent by the embedded stack's launcher to each child once it restarted the memory-only broker and
provisioned it again. A service's relay looks for its mark at once (``OutboxRelay.look_at_broker_now``)
instead of within ``BROKER_CHECK_INTERVAL_SECONDS``, and every process's consumers and producer ask
for the topics' metadata again (``kafka.on_broker_replaced``). The launcher ignores it before spawning,
and an ignored signal stays ignored across exec, so a process still starting is not killed by it (its
default action)."""


def listen(signum: signal.Signals, handler: Callable[[], None] | None) -> None:
    """``handler`` called on the event loop when the process gets ``signum``; None: ignored again
    (not asyncio's removal, which restores the default action: for SIGUSR1, death). Only the main
    thread may set handlers: elsewhere (an app run in a test's thread) the signal is not listened to."""
    with contextlib.suppress(ValueError, RuntimeError, NotImplementedError):
        loop = asyncio.get_running_loop()
        if handler is None:
            loop.remove_signal_handler(signum)
            signal.signal(signum, signal.SIG_IGN)
        else:
            loop.add_signal_handler(signum, handler)
