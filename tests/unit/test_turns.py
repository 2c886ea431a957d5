"""Who gets the next database connection when all are taken (services/runtime/turns.py)."""

import asyncio

import pytest
from prometheus_client import CollectorRegistry

from services.runtime.metrics import Metrics
from services.runtime.turns import NoTurn, Priority, Turns

F, MID, S = Priority.FINISHING, Priority.ORDINARY, Priority.STARTING
QUICK = {F: 0.0, MID: 0.05, S: 0.2}


async def _queue(turns: Turns, order: list[str], name: str, priority: Priority, timeout: float = 5.0) -> None:
    await turns.take(priority, timeout)
    order.append(name)
    turns.give()


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_no_more_holders_than_places() -> None:
    turns = Turns(2, QUICK)
    await turns.take(MID, 1)
    await turns.take(MID, 1)
    third = asyncio.create_task(turns.take(MID, 1))
    await _settle()
    assert not third.done() and turns.waiting == 1
    turns.give()
    await asyncio.wait_for(third, 1)
    assert turns.waiting == 0


async def test_a_finishing_call_passes_the_newcomers_who_arrived_before_it() -> None:
    turns = Turns(1, QUICK)
    await turns.take(MID, 1)  # the one place, held
    order: list[str] = []
    tasks = [asyncio.create_task(_queue(turns, order, f"new{i}", S)) for i in range(3)]
    await _settle()
    tasks.append(asyncio.create_task(_queue(turns, order, "step", MID)))
    await _settle()
    tasks.append(asyncio.create_task(_queue(turns, order, "validate", F)))
    await _settle()
    turns.give()
    await asyncio.gather(*tasks)
    assert order == ["validate", "step", "new0", "new1", "new2"]


async def test_a_newcomer_who_waited_its_allowance_is_not_passed_any_more() -> None:
    turns = Turns(1, QUICK)
    await turns.take(MID, 1)
    order: list[str] = []
    early = asyncio.create_task(_queue(turns, order, "new", S))
    await asyncio.sleep(0.3)  # past its 0.2 s allowance
    late = asyncio.create_task(_queue(turns, order, "validate", F))
    await _settle()
    turns.give()
    await asyncio.gather(early, late)
    assert order == ["new", "validate"]  # nothing starves, however many finishing calls keep coming


async def test_a_wait_past_its_bound_gives_up_and_loses_no_place() -> None:
    turns = Turns(1, QUICK)
    await turns.take(MID, 1)
    with pytest.raises(NoTurn):
        await turns.take(S, 0.05)  # 0.2 s allowance + 0.05 s
    turns.give()
    await asyncio.wait_for(turns.take(F, 0.1), 1)  # the place is free again, not lost to the one who left
    turns.give()


async def test_a_cancelled_waiter_loses_no_place() -> None:
    turns = Turns(1, QUICK)
    await turns.take(MID, 1)
    gone = asyncio.create_task(turns.take(MID, 5))
    await _settle()
    gone.cancel()
    with pytest.raises(asyncio.CancelledError):
        await gone
    turns.give()
    await asyncio.wait_for(turns.take(MID, 0.1), 1)
    assert turns.waiting == 0


async def test_a_place_handed_to_a_waiter_cancelled_at_that_moment_passes_on() -> None:
    turns = Turns(1, QUICK)
    await turns.take(MID, 1)
    first = asyncio.create_task(turns.take(MID, 5))
    second = asyncio.create_task(turns.take(MID, 5))
    await _settle()
    turns.give()  # handed to the first ...
    first.cancel()  # ... who leaves before it runs
    with pytest.raises(asyncio.CancelledError):
        await first
    await asyncio.wait_for(second, 1)  # the place went on to the second


async def test_each_wait_is_told_to_the_metrics_with_its_priority() -> None:
    registry = CollectorRegistry()
    metrics = Metrics("requests", registry=registry)
    turns = Turns(1, QUICK, on_waited=metrics.waited_turn)
    await turns.take(MID, 1)  # at once
    waiting = asyncio.create_task(turns.take(F, 1))
    await asyncio.sleep(0.05)
    turns.give()
    await waiting
    with pytest.raises(NoTurn):
        await turns.take(S, 0.01)

    def sample(name: str, priority: str) -> float | None:
        return registry.get_sample_value(name, {"service": "requests", "priority": priority})

    assert sample("recouvrement_http_connection_wait_seconds_count", "ORDINARY") == 1
    assert sample("recouvrement_http_connection_wait_seconds_count", "FINISHING") == 1
    assert 0.04 <= (sample("recouvrement_http_connection_wait_seconds_sum", "FINISHING") or 0) < 1
    assert sample("recouvrement_http_turned_away_total", "STARTING") == 1
    assert sample("recouvrement_http_connection_wait_seconds_count", "STARTING") is None  # never served
