"""Records are validated one by one (the runtime's consumer, which debt's ledger goes through): no
record can borrow bytes from another."""

from datetime import UTC, date, datetime

from aiokafka import ConsumerRecord

from contracts.debt import ChargeBooked
from contracts.topics import DEBT_LEDGER
from services.runtime.consumer import validate_records

LEDGER = DEBT_LEDGER.adapter()


class Refused(str):
    """A record to dead-letter: the reason it would carry."""


def _validate(records: tuple[ConsumerRecord, ...]) -> list[object]:  # type: ignore[type-arg]
    """Each record's message, or why it is refused, in the records' order."""
    valid, unreadable = validate_records(records, lambda _: LEDGER)
    outcome = {id(r): m for r, m in valid} | {id(r): Refused(reason) for r, reason in unreadable}
    return [outcome[id(r)] for r in records]


def entry(period: str) -> bytes:
    message = ChargeBooked.build(
        {
            "entry_id": f"E-{period}",
            "affiliate": "1000001",
            "period": period,
            "category": "frais",
            "amount": "1.00",
            "booked_on": date(2025, 1, 1),
        },
        producer="test",
        occurred_at=datetime(2025, 1, 1, tzinfo=UTC),
    )
    return message.model_dump_json().encode()


def record(value: bytes, offset: int) -> ConsumerRecord:  # type: ignore[type-arg]
    return ConsumerRecord("debt.ledger.v1", 0, offset, 0, 0, b"1000001", value, None, 0, len(value), [])


def test_a_clean_batch_maps_one_entry_to_each_record() -> None:
    result = _validate((record(entry("2020-01"), 0), record(entry("2020-02"), 1)))
    assert [r.payload.period for r in result] == ["2020-01", "2020-02"]  # type: ignore[union-attr]


def test_a_record_holding_two_entries_cannot_pose_as_two_records() -> None:
    smuggled = entry("2020-02") + b"," + entry("2020-03")
    result = _validate((record(entry("2020-01"), 0), record(smuggled, 1)))
    assert len(result) == 2
    assert not isinstance(result[0], Refused) and result[0].payload.period == "2020-01"
    assert isinstance(result[1], Refused)


def test_one_bad_record_does_not_spoil_the_others() -> None:
    result = _validate((record(b"{oops", 0), record(entry("2020-05"), 1), record(b"", 2)))
    assert isinstance(result[0], Refused)
    assert not isinstance(result[1], Refused) and result[1].payload.period == "2020-05"
    assert isinstance(result[2], Refused)


def test_two_broken_halves_never_merge_into_one_entry() -> None:
    whole = entry("2020-06")
    cut = whole.index(b'"producer":"') + len(b'"producer":"') + 2
    smuggled = entry("2020-07") + b"," + entry("2020-08")
    result = _validate((record(whole[:cut], 0), record(whole[cut:], 1), record(smuggled, 2)))
    assert all(isinstance(r, Refused) for r in result)
