"""Fetches wait briefly while messages flow and long once idle (issue 14, item 2)."""

import asyncio
import inspect
from typing import Any

from aiokafka.consumer.fetcher import Fetcher
from faststream.kafka.subscriber.usecase import BatchSubscriber

from services.runtime.fetch_pacing import FetchPacer, Pace


def test_a_consumer_waits_briefly_until_idle_then_an_eighth_of_its_quiet_time_up_to_the_bound() -> None:
    pace = Pace(busy_ms=10, idle_ms=1000, idle_after_ms=2000, last_records_at=100.0)
    assert pace.after_fetch(False, now=101.0) == 10
    assert pace.after_fetch(False, now=101.999) == 10
    assert pace.after_fetch(False, now=102.0) == 250  # 2 s quiet: a message now waits at most 125 ms
    assert pace.after_fetch(False, now=104.0) == 500
    assert pace.after_fetch(False, now=108.0) == 1000
    assert pace.after_fetch(False, now=500.0) == 1000  # never more than the bound


def test_records_bring_the_short_wait_back_at_once_and_restart_the_quiet_clock() -> None:
    pace = Pace(busy_ms=10, idle_ms=1000, idle_after_ms=2000, last_records_at=0.0)
    assert pace.after_fetch(False, now=60.0) == 1000
    assert pace.after_fetch(True, now=61.0) == 10
    assert pace.after_fetch(False, now=62.5) == 10
    assert pace.after_fetch(False, now=63.0) == 250


class _Fetcher:
    """The names the pacer uses, as aiokafka's Fetcher has them."""

    def __init__(self, answers: list[bool]) -> None:
        self._fetch_max_wait_ms = 500
        self._fetcher_timeout = 0.2
        self._answers = answers

    async def _proc_fetch_request(self, assignment: Any, node_id: int, request: Any) -> bool:
        return self._answers.pop(0)


class _Consumer:
    def __init__(self, fetcher: _Fetcher | None) -> None:
        self._fetcher = fetcher


class _Subscriber:
    """FastStream's subscriber: its consumer once started; a batch one has ``batch_timeout_ms``."""

    def __init__(self, consumer: _Consumer | None) -> None:
        self.consumer = consumer


class _BatchSubscriber(_Subscriber):
    def __init__(self, consumer: _Consumer | None, batch_timeout_ms: int) -> None:
        super().__init__(consumer)
        self.batch_timeout_ms = batch_timeout_ms


def _fetch(fetcher: _Fetcher) -> bool:
    return asyncio.run(fetcher._proc_fetch_request(None, 0, None))


def test_the_pacer_sets_the_wait_after_each_fetch_and_takes_each_subscriber_once() -> None:
    fetcher = _Fetcher([True, False])
    pacer = FetchPacer(busy_ms=10, idle_ms=10_000, idle_after_ms=0)
    subscribers = [_Subscriber(_Consumer(fetcher)), _Subscriber(None), _Subscriber(_Consumer(None))]
    assert pacer.pace(subscribers) == 1  # not started yet: no consumer, or a consumer without fetcher
    assert pacer.pace(subscribers) == 0  # wrapped once, never twice
    assert fetcher._fetch_max_wait_ms == 10
    assert _fetch(fetcher) is True
    assert fetcher._fetch_max_wait_ms == 10
    assert _fetch(fetcher) is False
    assert 10 <= fetcher._fetch_max_wait_ms < 100  # idle, for a few microseconds: an eighth of that, at least 10


def test_an_idle_batch_subscriber_polls_at_a_quarter_of_its_fetch_wait_and_a_busy_one_as_configured() -> None:
    fetcher = _Fetcher([False, True])
    subscriber = _BatchSubscriber(_Consumer(fetcher), batch_timeout_ms=5)
    FetchPacer(busy_ms=10, idle_ms=1000, idle_after_ms=0).pace([subscriber])
    fetcher._recouvrement_pace.last_records_at -= 60  # a minute of quiet
    _fetch(fetcher)
    assert (fetcher._fetch_max_wait_ms, subscriber.batch_timeout_ms) == (1000, 250)
    assert fetcher._fetcher_timeout == 1.0  # its task wakes once per fetch wait, not five times a second
    _fetch(fetcher)  # records
    assert (fetcher._fetch_max_wait_ms, subscriber.batch_timeout_ms) == (10, 5)
    assert fetcher._fetcher_timeout == 0.2  # as aiokafka has it


def test_the_idle_wait_is_never_shorter_than_the_busy_one() -> None:
    fetcher = _Fetcher([False])
    FetchPacer(busy_ms=250, idle_ms=10, idle_after_ms=0).pace([_Subscriber(_Consumer(fetcher))])
    _fetch(fetcher)
    assert fetcher._fetch_max_wait_ms == 250


def test_aiokafka_and_faststream_still_have_what_the_pacer_relies_on() -> None:
    """Both are pinned: an upgrade that renames these fails here, not silently in production."""
    parameters = list(inspect.signature(Fetcher._proc_fetch_request).parameters)
    assert parameters == ["self", "assignment", "node_id", "request"]
    assert "self._fetch_max_wait_ms" in inspect.getsource(Fetcher._get_actions_per_node)
    assert "self._fetch_max_wait_ms = fetch_max_wait_ms" in inspect.getsource(Fetcher.__init__)
    assert "backoff = self._fetcher_timeout" in inspect.getsource(Fetcher._get_actions_per_node)
    routine = inspect.getsource(Fetcher._fetch_requests_routine)  # all it waits for wakes it by itself
    assert "other_futs = [self._wait_consume_future, assignment.unassign_future]" in routine
    poll = inspect.getsource(BatchSubscriber.get_msg)
    assert "timeout_ms=self.batch_timeout_ms" in poll
    assert "sleep(self.batch_timeout_ms / 1000)" in poll
