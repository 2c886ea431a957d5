"""How debits reads a bank's answer: repeats and AM05 change nothing; dates a bank could not give."""

from datetime import date, timedelta

import pytest

from services.debits.domain.results import read_answer, result_date_refusal


@pytest.mark.parametrize(
    ("recorded", "outcome", "reason", "reading"),
    [
        (None, "EXECUTED", None, "apply"),
        (None, "REJECTED", "AM04", "apply"),
        (None, "REJECTED", "AM05", "duplicate-notice"),
        ("EXECUTED", "REJECTED", "AM05", "repeat"),
        ("REJECTED", "REJECTED", "AM05", "repeat"),
        ("EXECUTED", "EXECUTED", None, "repeat"),
        ("REJECTED", "REJECTED", "AM04", "repeat"),
        ("EXECUTED", "REJECTED", "AC04", "conflict"),
        ("REJECTED", "EXECUTED", None, "conflict"),
    ],
)
def test_reading_an_answer(recorded: str | None, outcome: str, reason: str | None, reading: str) -> None:
    assert read_answer(recorded, outcome, reason) == reading  # type: ignore[arg-type]


COLLECTION = date(2026, 12, 10)


@pytest.mark.parametrize(
    ("result_on", "today", "refused"),
    [
        (COLLECTION, date(2026, 12, 10), False),
        (COLLECTION + timedelta(days=1), date(2026, 12, 10), False),  # a day of clock skew
        (COLLECTION + timedelta(days=2), date(2026, 12, 10), True),
        (COLLECTION + timedelta(days=20), date(2027, 1, 5), False),  # a late rejection, already past
        (COLLECTION - timedelta(days=1), date(2026, 12, 10), True),  # before the collection date
        (date(9999, 12, 31), date(2026, 12, 10), True),
        (COLLECTION, date(2026, 12, 1), False),  # a run made ahead of time: its collection date is fine
    ],
)
def test_a_result_date_lies_between_the_collection_and_today(result_on: date, today: date, refused: bool) -> None:
    assert (result_date_refusal(result_on, COLLECTION, today) is not None) is refused
