"""After the broker was replaced, a consumer sends no commit until it joined its group again."""

from dataclasses import dataclass, field
from typing import Any

from aiokafka.consumer.group_coordinator import GroupCoordinator
from aiokafka.consumer.subscription_state import Assignment

from services.runtime.member_commits import guard_commits, hold_commits


@dataclass
class Coordinator:
    """What the guard wraps of aiokafka's ``GroupCoordinator``."""

    sent: list[Any] = field(default_factory=list)
    joins: int = 0

    async def _do_commit_offsets(self, assignment: Any, offsets: Any) -> None:
        self.sent.append(offsets)

    async def _on_join_complete(self, *args: Any) -> None:
        self.joins += 1


@dataclass
class Consumer:
    _coordinator: Coordinator = field(default_factory=Coordinator)
    _group_id: str = "bank-011"


@dataclass
class Given:
    active: bool = True


async def test_a_held_consumer_sends_no_commit_until_its_group_formed_again() -> None:
    consumer = Consumer()
    guard_commits(consumer)  # type: ignore[arg-type]
    coordinator = consumer._coordinator

    await coordinator._do_commit_offsets(Given(), {"p0": 1})
    hold_commits(consumer)  # type: ignore[arg-type]  # the broker was replaced
    await coordinator._do_commit_offsets(Given(), {"p0": 3})  # the lost broker's position
    assert coordinator.sent == [{"p0": 1}]

    await coordinator._on_join_complete(0, "member", "roundrobin", b"")
    assert coordinator.joins == 1
    await coordinator._do_commit_offsets(Given(), {"p0": 1})
    assert coordinator.sent == [{"p0": 1}, {"p0": 1}]


async def test_a_commit_computed_from_a_past_assignment_is_never_sent() -> None:
    consumer = Consumer()
    guard_commits(consumer)  # type: ignore[arg-type]
    await consumer._coordinator._do_commit_offsets(Given(active=False), {"p0": 3})
    assert consumer._coordinator.sent == []


def test_the_aiokafka_names_it_wraps_are_there() -> None:
    """aiokafka is pinned; an upgrade that renames these fails here."""
    assert callable(GroupCoordinator._do_commit_offsets)
    assert callable(GroupCoordinator._on_join_complete)
    assert isinstance(Assignment.active, property)
