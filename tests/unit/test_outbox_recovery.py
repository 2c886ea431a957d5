"""The pieces of the relay's recovery that need no broker: reading an event id, counting crash points."""

import uuid

import pytest

from services.runtime.delivered import EVENT_ID_HEADER, event_id_of
from services.runtime.faults import CrashPoints


def test_the_event_id_comes_from_the_header_or_else_the_envelope() -> None:
    first, second = uuid.uuid4(), uuid.uuid4()
    body = f'{{"event_id": "{second}", "type": "x"}}'.encode()
    assert event_id_of([(EVENT_ID_HEADER, str(first).encode())], body) == first
    assert event_id_of([("traceparent", b"00-ab")], body) == second  # sent before the header existed
    assert event_id_of([(EVENT_ID_HEADER, b"\xff\xfe")], body) == second  # a garbled header
    assert event_id_of([(EVENT_ID_HEADER, None)], body) == second


@pytest.mark.parametrize("value", [None, b"", b"not json", b"[1, 2]", b'{"event_id": 12}', b'{"event_id": "x"}'])
def test_a_record_without_a_readable_event_id_is_no_match(value: bytes | None) -> None:
    assert event_id_of([], value) is None


def test_a_crash_point_fires_once_at_its_count_and_others_never() -> None:
    fired: list[str] = []
    points = CrashPoints("outbox.acknowledged:3, debit-run.page", fired.append)
    for _ in range(5):
        points.reached("outbox.acknowledged")
        points.reached("outbox.handed")
    points.reached("debit-run.page")
    assert fired == ["outbox.acknowledged", "debit-run.page"]


def test_no_spec_no_crash() -> None:
    fired: list[str] = []
    points = CrashPoints(None, fired.append)
    for name in ("outbox.handed", "outbox.sent", "outbox.acknowledged"):
        points.reached(name)
    assert fired == []
