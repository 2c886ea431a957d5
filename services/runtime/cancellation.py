"""Loops that retry on any failure must still stop when asked.

In Python 3.11 ``asyncio.wait_for`` returns the awaited coroutine's own error when a cancel reaches it
as that coroutine fails (aiokafka's bootstrap failing as the service stops, for one): the cancel is
gone, and a loop that logs failures and tries again runs forever. Its process then never exits
(``asyncio.run`` waits for it), and a supervisor sees it alive but never ready. The task still
counts the cancel (``Task.cancelling``): such a loop asks after each failure, and after each wait.
The same ``wait_for`` also returns normally when the awaited coroutine finishes in the very step the
cancel arrives (the relay's wait for a NOTIFY, woken as the service stops): nothing failed, and
the loop would go round again (CI, 2026-12-07: a relay's stop waited ten minutes).
"""

import asyncio


def stop_requested() -> bool:
    """True when the current task was cancelled, even if the cancel was swallowed on its way."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0
