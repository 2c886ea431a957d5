"""Crash points: the process kills itself (SIGKILL) the n-th time it reaches a named point.

``FAULT_INJECTION=outbox.acknowledged:3`` kills the process the third time the outbox relay stands
between the broker's acknowledgement of a batch and the delete of its rows. A test cannot land a
kill in so narrow a window by timing it from outside; from inside it lands there every time, so the
crash tests are deterministic. Unset, as in production, a point costs a dictionary lookup.

The points: ``outbox.handed`` (rows marked as handed over, not yet given to the producer),
``outbox.sent`` (given to the producer, acknowledgements not awaited), ``outbox.acknowledged``
(every acknowledgement in, rows not yet deleted); in debits, ``debit-run.page`` (a page of the
debit run committed, its orders in the outbox).
"""

import logging
import os
import signal
from collections.abc import Callable

log = logging.getLogger(__name__)


def _kill_self(point: str) -> None:
    for handler in logging.getLogger().handlers:
        handler.flush()
    os.kill(os.getpid(), signal.SIGKILL)


class CrashPoints:
    def __init__(self, spec: str | None = None, crash: Callable[[str], None] = _kill_self) -> None:
        """``crash``: what reaching the point does; a test in one process raises instead of dying."""
        self._crash = crash
        self._at: dict[str, int] = {}
        self._seen: dict[str, int] = {}
        for part in filter(None, (p.strip() for p in (spec or "").split(","))):
            name, _, count = part.partition(":")
            self._at[name] = int(count or "1")

    def reached(self, name: str) -> None:
        if name not in self._at:
            return
        self._seen[name] = self._seen.get(name, 0) + 1
        if self._seen[name] == self._at[name]:
            log.critical("crash point reached", extra={"point": name, "time": self._seen[name]})
            self._crash(name)


NO_CRASH = CrashPoints()
