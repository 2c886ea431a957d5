"""Token buckets in memory, one per key (an address, a login): refuse before any costly work.

Each replica keeps its own buckets: behind N replicas a key gets N times the rate, which is still
bounded, and no shared store has to answer before a login can be refused. Memory is bounded too:
past ``max_keys`` the least recently seen key is forgotten (a flood of made-up logins cannot grow
it), which at worst gives a forgotten key a fresh bucket.
"""

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Rate:
    """``burst`` attempts at once, then ``per_minute`` a minute."""

    burst: int
    per_minute: float

    def __post_init__(self) -> None:
        if self.burst < 1 or self.per_minute <= 0:
            raise ValueError("a rate allows at least one attempt and refills")


class RateLimiter:
    def __init__(self, rate: Rate, *, max_keys: int = 100_000, now: Callable[[], float] = time.monotonic) -> None:
        self._rate = rate
        self._max_keys = max_keys
        self._now = now
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key -> (tokens, at)

    def wait_for(self, key: str) -> int | None:
        """Takes a token for ``key``: ``None`` if one was there, else the whole seconds until one is
        (what a ``Retry-After`` says). A refused attempt takes nothing."""
        now = self._now()
        tokens, at = self._buckets.pop(key, (float(self._rate.burst), now))
        per_second = self._rate.per_minute / 60
        tokens = min(float(self._rate.burst), tokens + (now - at) * per_second)
        refused = tokens < 1
        self._buckets[key] = (tokens if refused else tokens - 1, now)
        while len(self._buckets) > self._max_keys:
            self._buckets.popitem(last=False)
        return max(1, math.ceil((1 - tokens) / per_second)) if refused else None

    def __len__(self) -> int:
        return len(self._buckets)
