"""Position events are written straight to JSON; the contract must accept every one of them as is."""

import json
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from contracts.debt import PositionChanged
from contracts.topics import DEBT_POSITIONS
from services.debt.domain.position import CATEGORIES, Position
from services.debt.service.position_events import position_messages
from services.runtime.clock import FrozenClock
from tests.unit.positions_strategies import arrangements, period_lists

CLOCK = FrozenClock(datetime(2026, 11, 2, 9, 30, tzinfo=UTC))


@given(period_lists, arrangements, st.integers(1, 10**6))
def test_every_position_event_is_a_valid_contract_message_with_the_same_numbers(  # type: ignore[no-untyped-def]
    items, arrangement, version
) -> None:
    position = Position.of("1000001", version, items, arrangement)
    [message] = position_messages([position], CLOCK)
    event = DEBT_POSITIONS.adapter().validate_json(message.body)
    assert isinstance(event, PositionChanged)
    assert (message.event_id, message.event_type, message.key) == (event.event_id, event.type, "1000001")
    assert event.occurred_at == CLOCK.now()
    assert event.payload.version == version
    for sent, balance in zip(event.payload.periods, position.periods, strict=True):
        assert sent.period == balance.period
        assert sent.principal_paid_on == balance.principal_paid_on
        for category in CATEGORIES:
            line = getattr(sent, category)
            assert (line.due, line.paid, line.outstanding) == (
                balance.line(category).due,
                balance.line(category).paid,
                balance.line(category).outstanding,
            )
    if arrangement is not None:
        assert event.payload.arrangement is not None
        assert event.payload.arrangement.perception.name == arrangement.perception_name
    # What the wire carries is what the contract would have written, value for value.
    assert json.loads(message.body)["payload"] == json.loads(event.payload.model_dump_json())


def test_each_event_has_its_own_id() -> None:
    position = Position.of("1000001", 1, (), None)
    first, second = position_messages([position, position], CLOCK)
    assert first.event_id != second.event_id
