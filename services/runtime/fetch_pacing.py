"""How long a consumer's fetch may wait at the broker: short while messages flow, longer the longer idle.

Why: the embedded broker (Tansu) does not answer a waiting fetch when a message arrives; it looks again
at halves of the remaining wait (W/2, 3W/4, ...: ``tansu-storage/src/service/fetch.rs``), so a message
reaches a consumer up to W/2 after it was published; and each look reads every partition the fetch
asks for (requests' consumer: 6 topics of 12 partitions), so the broker's cost is in the looks of
fetches that find nothing. A short wait (10 ms) kept each hop fast, but an idle consumer then asked a
hundred times a second: the stack's consumers kept the broker at 66-80 % of a core and each service
at 5-16 % with no traffic at all (issue 14); and under load, when most fetches still find nothing,
the broker took 11.6-13.4 ms of CPU per flow of 63-69. The busy wait is 100 ms (``KAFKA_FETCH_MAX_WAIT_MS``):
a fetch that finds data returns at once, a hop waits at most 50 ms more, and the broker took 6.6 ms
per flow of 53 (``docs/architecture.md``, measured on 2026-12-07).

Paced, a consumer fetches at ``busy_ms`` until it has had nothing for ``idle_after_ms``; then its wait
is an eighth of its quiet time, up to ``idle_ms``: after 2 s of quiet 250 ms, after 8 s 1 s, after
16 s 2 s, after 32 s and more 4 s (the default bound). So a message after a silence arrives at most a sixteenth of
that silence later (W/2), never more than ``idle_ms``/2; from its fetch on the consumer is back to
the short wait. Under load nothing changes: a consumer with messages never idles.

FastStream's batch subscribers poll too: ``getmany(timeout=B)`` returns as soon as records are
there, but after an empty one the subscriber sleeps B before asking again (B = 5 ms here, a hundred
wake-ups a second per subscriber with nothing to do: most of an idle service's CPU). The pacer sets
an idle subscriber's B to a quarter of its fetch wait, so a message after a silence is read at most
W/2 + W/4 after it was published (750 ms after a silence of 8 s, 1.5 s after 16 s, 3 s after 32 s or
more). The bound was 2 s until the idle stack was measured again (2026-12-07, `make run`, 30 s, 20 s
after ready): at 2 s the broker's looks at idle fetches were 8.0-8.2 % of a core and the stack
11.3-11.9 %; at 4 s the broker 2.7 % and the stack 6.0 %.

An Apache Kafka broker answers a waiting fetch as soon as data arrives: there both waits can be the
usual 500 ms.

aiokafka's fetcher task also wakes every ``fetcher_timeout`` (200 ms) to look over its partitions,
although everything it waits for (the fetch in flight, records consumed, a partition resumed or
unassigned) wakes it by itself: with a fetch in flight for a second, those four wake-ups find nothing
to do. An idle consumer's task wakes once per fetch wait instead.

aiokafka has no hook for this: the pacer wraps each consumer's fetcher's ``_proc_fetch_request`` (it
returns whether the fetch brought records) and sets ``_fetch_max_wait_ms``, which the fetcher reads
each time it builds a request, ``_fetcher_timeout``, read at each turn of its loop, and the
subscriber's ``batch_timeout_ms``, read at each poll. aiokafka and FastStream are pinned;
``tests/unit/test_fetch_pacing.py`` holds them to these names.
"""

import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

_MARK = "_recouvrement_pace"
QUIET_SHARE = 8
"""an idle consumer's wait is its quiet time divided by this: a message after a silence comes at most
a sixteenth of it late (Tansu answers at W/2 at worst)"""


@dataclass
class Pace:
    """The wait one consumer asks for, from when it last got records (pure: a test drives ``now``)."""

    busy_ms: int
    idle_ms: int
    idle_after_ms: int
    last_records_at: float = field(default_factory=time.monotonic)

    def after_fetch(self, got_records: bool, now: float) -> int:
        if got_records:
            self.last_records_at = now
            return self.busy_ms
        quiet_ms = (now - self.last_records_at) * 1000
        if quiet_ms < self.idle_after_ms:
            return self.busy_ms
        return max(self.busy_ms, min(self.idle_ms, int(quiet_ms / QUIET_SHARE)))


BATCH_SHARE = 4
"""an idle batch subscriber sleeps a quarter of its fetch wait between empty polls"""


@dataclass(frozen=True)
class FetchPacer:
    busy_ms: int
    idle_ms: int
    idle_after_ms: int

    def pace(self, subscribers: Iterable[Any]) -> int:
        """Paces the started subscribers not paced yet (FastStream's: ``.consumer`` is their aiokafka
        consumer once started, ``.batch_timeout_ms`` a batch subscriber's poll); returns how many."""
        taken = 0
        for subscriber in subscribers:
            fetcher = getattr(getattr(subscriber, "consumer", None), "_fetcher", None)
            if fetcher is None or getattr(fetcher, _MARK, None) is not None:
                continue
            pace = Pace(self.busy_ms, max(self.idle_ms, self.busy_ms), self.idle_after_ms)
            fetcher._proc_fetch_request = _paced(subscriber, fetcher, pace)
            fetcher._fetch_max_wait_ms = self.busy_ms
            setattr(fetcher, _MARK, pace)
            taken += 1
        return taken


def _paced(subscriber: Any, fetcher: Any, pace: Pace) -> Callable[..., Awaitable[bool]]:
    fetch: Callable[..., Awaitable[bool]] = fetcher._proc_fetch_request
    batch_ms: int | None = getattr(subscriber, "batch_timeout_ms", None)
    loop_s: float = fetcher._fetcher_timeout

    async def paced_fetch(*args: Any) -> bool:
        got_records = await fetch(*args)
        wait_ms = pace.after_fetch(bool(got_records), time.monotonic())
        fetcher._fetch_max_wait_ms = wait_ms
        fetcher._fetcher_timeout = max(loop_s, wait_ms / 1000)
        if batch_ms is not None:
            subscriber.batch_timeout_ms = max(batch_ms, wait_ms // BATCH_SHARE)
        return got_records

    return paced_fetch
