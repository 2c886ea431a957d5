"""The order in which HTTP calls get a database connection when all are taken: a journey that is
ending goes before one that is beginning.

Under a campaign rush every connection of a service's HTTP pool is busy and calls queue for one.
In arrival order, a user who clicks "Valider" after four steps waits behind every newcomer who
clicked "Nouvelle demande" a moment before him, and the wait of the whole queue lands on his last
click. A call here has a **priority**, and each priority an **allowance**: how much longer than a
finishing call it may be kept waiting. Calls are served by the earliest *arrival + allowance*
(earliest deadline first): a validation passes every call that arrived within the allowances
before it, and a new request is served once it has waited its allowance, so nothing starves,
not even under browsing that never stops.

The wait does not vanish, it moves to the entrance: under load a new request waits longer, and
whoever has started is not kept waiting in the middle. That is what a waiting room does, and what
a user asks of one. Each waiter also has a bound (its allowance plus the pool's timeout): past it
the caller is told to come back (503, ``PoolExhausted``), as before.
"""

import asyncio
import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum
from time import monotonic


class Priority(IntEnum):
    FINISHING = 0
    """the click that completes what the user came for (a validation): never kept waiting for others"""
    ORDINARY = 1
    """a step in the middle, a read"""
    STARTING = 2
    """the first step of a journey (a new request): under load, where the waiting goes"""


ALLOWANCE_S = {Priority.FINISHING: 0.0, Priority.ORDINARY: 1.0, Priority.STARTING: 15.0}
"""How much longer than a finishing call each may wait. 15 s for a new request: at 300 callers in
flight on two cores a whole journey takes about 10 s, and the entrance must be able to hold that
wait for the steps after it to pass; a gateway's 30 s timeout still leaves room."""


Waited = Callable[[Priority, float, bool], None]
"""told of each wait for a place: the priority, the seconds waited, and whether a place came (the
metrics' ``recouvrement_http_connection_wait_seconds`` and ``recouvrement_http_turned_away``)"""


class NoTurn(Exception):
    """No place came free within the waiter's bound."""


@dataclass(order=True)
class _Waiter:
    deadline: float
    seq: int
    future: asyncio.Future[None] = field(compare=False)


class Turns:
    """``places`` holders at a time; the others wait, served by the earliest arrival + allowance."""

    def __init__(
        self, places: int, allowance_s: dict[Priority, float] | None = None, on_waited: Waited | None = None
    ) -> None:
        if places < 1:
            raise ValueError("at least one place")
        self._free = places
        self._waiting: list[_Waiter] = []
        self._allowance = ALLOWANCE_S if allowance_s is None else allowance_s
        self._seq = itertools.count()
        self._on_waited = on_waited

    @property
    def waiting(self) -> int:
        return sum(1 for w in self._waiting if not w.future.done())

    async def take(self, priority: Priority, timeout: float) -> None:
        """A place, waiting at most ``timeout`` seconds beyond the priority's allowance."""
        if self._free > 0:  # a place is free only while nobody waits (``give`` hands it over first)
            self._free -= 1
            self._tell(priority, 0.0, True)
            return
        allowance = self._allowance[priority]
        began = monotonic()
        waiter = _Waiter(began + allowance, next(self._seq), asyncio.get_running_loop().create_future())
        heapq.heappush(self._waiting, waiter)
        try:
            async with asyncio.timeout(allowance + timeout):  # not wait_for: it can swallow a cancel
                await waiter.future
        except (TimeoutError, asyncio.CancelledError) as left:
            if waiter.future.done() and not waiter.future.cancelled():
                self.give()  # handed a place just as it left: pass it on
            waiter.future.cancel()
            if isinstance(left, TimeoutError):
                self._tell(priority, monotonic() - began, False)
                raise NoTurn() from None
            raise
        self._tell(priority, monotonic() - began, True)

    def _tell(self, priority: Priority, waited_s: float, served: bool) -> None:
        if self._on_waited is not None:
            self._on_waited(priority, waited_s, served)

    def give(self) -> None:
        """A holder leaves: its place goes to the first waiter still there, or becomes free."""
        while self._waiting:
            waiter = heapq.heappop(self._waiting)
            if not waiter.future.done():
                waiter.future.set_result(None)
                return
        self._free += 1
