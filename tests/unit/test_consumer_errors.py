"""Poison or outage, without a broker or a database: which failures are retried, which records are
dead-lettered, what the dead letter keeps, and how tries are charged."""

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import pytest
from aiokafka import ConsumerRecord
from aiokafka.errors import (
    KafkaConnectionError,
    KafkaTimeoutError,
    MessageSizeTooLargeError,
    NotLeaderForPartitionError,
)
from faststream.exceptions import NackMessage
from faststream.kafka.message import KafkaAckableMessage
from faststream.kafka.parser import AioKafkaBatchParser, AioKafkaParser
from pydantic import ValidationError

from contracts.perception import GuaranteeRefused
from services.runtime import poison
from services.runtime.dlq import DeadLetters
from services.runtime.poison import (
    Retries,
    Unapplicable,
    describe,
    is_transient,
    record_problem,
    redact,
    text_headers,
    tolerant_parser,
)

TRANSIENT = [
    asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
    asyncpg.InterfaceError("cannot call Transaction.__aexit__(): the underlying connection is closed"),
    asyncpg.TooManyConnectionsError("sorry, too many clients already"),
    asyncpg.CannotConnectNowError("the database system is starting up"),
    asyncpg.AdminShutdownError("terminating connection due to administrator command"),
    asyncpg.QueryCanceledError("canceling statement due to statement timeout"),
    asyncpg.SerializationError("could not serialize access"),
    asyncpg.DeadlockDetectedError("deadlock detected"),
    asyncpg.LockNotAvailableError("could not obtain lock"),
    ConnectionRefusedError(111, "Connection refused"),
    ConnectionResetError("reset by peer"),
    OSError("No route to host"),
    TimeoutError(),
    KafkaConnectionError("Unable to bootstrap"),
    KafkaTimeoutError(),
    NotLeaderForPartitionError(),
]


def validation_error() -> ValidationError:
    try:
        GuaranteeRefused.build(
            {
                "request_id": "00000000-0000-0000-0000-000000000001",
                "affiliate": "1000001",
                "perception": "CAS-01",
                "reason": "x" * 501,
                "refused_at": datetime(2026, 1, 1, tzinfo=UTC),
            },
            producer="test",
            occurred_at=datetime(2026, 1, 1, tzinfo=UTC),
        )
    except ValidationError as exc:
        return exc
    raise AssertionError("the reason should be too long")


def overflow() -> OverflowError:
    try:
        datetime(9999, 12, 31, 23, 30, tzinfo=UTC).astimezone(ZoneInfo("Africa/Casablanca"))
    except OverflowError as exc:
        return exc
    raise AssertionError("year 10000 should overflow")


POISON = [
    RuntimeError("a bug"),
    overflow(),
    validation_error(),
    Unapplicable("demande inconnue"),
    asyncpg.NumericValueOutOfRangeError("numeric field overflow"),
    asyncpg.UniqueViolationError("duplicate key"),
    asyncpg.UndefinedColumnError("column does not exist"),
    KeyError("affiliate"),
    TypeError("'NoneType' object is not subscriptable"),
    ValueError("bad"),
]


@pytest.mark.parametrize("exc", TRANSIENT, ids=lambda e: type(e).__name__)
def test_an_outage_is_transient(exc: Exception) -> None:
    assert is_transient(exc)


@pytest.mark.parametrize("exc", POISON, ids=lambda e: type(e).__name__)
def test_anything_else_is_poison(exc: Exception) -> None:
    assert not is_transient(exc)


def test_an_error_raised_from_an_outage_is_transient_but_one_merely_during_it_is_not() -> None:
    try:
        try:
            raise ConnectionResetError("reset")
        except ConnectionResetError as cause:
            raise RuntimeError("wrapped") from cause
    except RuntimeError as wrapped:
        assert is_transient(wrapped)
    try:
        try:
            raise ConnectionResetError("reset")
        except ConnectionResetError:
            raise Unapplicable("refused while handling it") from None
    except Unapplicable as refusal:
        assert not is_transient(refusal)


def test_the_reason_is_the_type_and_the_text_never_the_input() -> None:
    assert describe(RuntimeError("a bug")) == "RuntimeError: a bug"
    assert describe(TimeoutError()) == "TimeoutError"
    assert describe(KafkaConnectionError("Unable to bootstrap")) == "KafkaConnectionError: Unable to bootstrap"
    assert describe(overflow()) == "OverflowError: date value out of range"
    assert describe(Unapplicable("demande inconnue")) == "inapplicable : demande inconnue"
    assert describe(asyncpg.NumericValueOutOfRangeError("numeric field overflow")) == (
        "refusé par la base : NumericValueOutOfRangeError: numeric field overflow"
    )
    reason = describe(validation_error())
    assert reason == "ValidationError: payload.reason: String should have at most 500 characters"
    assert "xxx" not in reason


def test_logs_mask_long_numbers_such_as_a_rib() -> None:
    rib = "011780000012345678901234"
    assert redact(f"compte {rib} refusé") == "compte ********************1234 refusé"
    assert redact("x" * 1000) == "x" * 300


def record(
    value: bytes | None = b"{}", headers: list[tuple[str, bytes | None]] | None = None, offset: int = 7
) -> ConsumerRecord[Any, Any]:
    size = len(value or b"")
    return ConsumerRecord("perception.guarantees.v1", 2, offset, 0, 0, b"1000001", value, None, 2, size, headers or [])


def test_records_that_cannot_be_read_are_named() -> None:
    assert record_problem(record(headers=[("traceparent", b"00-abc-def-01")])) is None
    assert "'x'" in (record_problem(record(headers=[("x", b"\xff\xfe")])) or "")
    assert "UTF-8" in (record_problem(record(headers=[("x", b"\xff\xfe")])) or "")
    assert "null" in (record_problem(record(headers=[("x", None)])) or "")
    assert "tombstone" in (record_problem(record(value=None)) or "")


def test_headers_read_as_text_never_raise() -> None:
    headers = [("traceparent", b"00-abc"), ("x", b"\xff\xfe"), ("n", None)]
    assert text_headers(record(headers=headers)) == {"traceparent": "00-abc", "x": "\ufffd\ufffd"}


async def test_faststreams_own_parser_raises_on_such_headers_and_the_tolerant_one_does_not() -> None:
    bad = (record(headers=[("x", b"\xff\xfe")], offset=1), record(headers=[("n", None)], offset=2), record(offset=3))
    batch = AioKafkaBatchParser(msg_class=KafkaAckableMessage, regex=None)
    with pytest.raises(UnicodeDecodeError):
        await batch.parse_batch(bad)

    parsed = await tolerant_parser(bad, batch.parse_batch)

    assert parsed.raw_message is bad  # the handler sees the records as they came, for the dead letter
    assert parsed.batch_headers == [{"x": "\ufffd\ufffd"}, {"n": ""}, {}]
    single = AioKafkaParser(msg_class=KafkaAckableMessage, regex=None)
    with pytest.raises(AttributeError):
        await single.parse_message(bad[1])
    one = await tolerant_parser(bad[1], single.parse_message)
    assert one.raw_message is bad[1] and one.headers == {"n": ""}
    clean = record(headers=[("traceparent", b"00-abc")])
    assert (await tolerant_parser(clean, single.parse_message)).raw_message is clean


class Probe:
    def __init__(self, up: bool = True) -> None:
        self.up = up

    async def __call__(self) -> bool:
        return self.up


class Pauses(list[float]):
    """Retries' sleep, recorded instead of waited."""

    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


async def test_a_record_is_charged_only_while_the_infrastructure_answers() -> None:
    probe = Probe(up=False)
    no_pause = Pauses()
    retries = Retries("test", 3, probe, sleep=no_pause)
    culprit = record()
    for _ in range(10):  # an outage, however long: nothing charged
        await retries.failed(ConnectionRefusedError("down"), culprit, [culprit])
    assert retries.spent(culprit) is None and not retries.careful
    assert no_pause == [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0, 10.0, 10.0]  # growing, bounded

    probe.up = True
    for _ in range(3):
        assert retries.spent(culprit) is None
        await retries.failed(TimeoutError("this record again"), culprit, [culprit])
    assert retries.spent(culprit) == "abandonné après 3 tentatives : TimeoutError: this record again"
    assert retries.spent(record(offset=8)) is None  # another record has all its tries

    retries.succeeded([culprit])
    assert retries.spent(culprit) is None and retries.failures == 0 and retries.delay() == 0.25


async def test_a_failure_no_record_can_be_blamed_for_makes_the_next_read_careful_until_one_succeeds() -> None:
    retries = Retries("test", 3, Probe(up=True), sleep=Pauses())
    batch = [record(offset=1), record(offset=2)]
    await retries.failed(TimeoutError("the bulk statement"), None, batch)
    assert retries.careful
    await retries.failed(TimeoutError("one record"), batch[1], batch)
    assert retries.careful  # still: the culprit is found, not yet set aside
    retries.succeeded(batch)
    assert not retries.careful
    outage = Retries("test", 3, Probe(up=False), sleep=Pauses())
    await outage.failed(ConnectionRefusedError("down"), None, batch)
    assert not outage.careful  # an outage blames nobody


class Letters:
    def __init__(self, fail: BaseException | None = None) -> None:
        self.sent: list[tuple[ConsumerRecord[Any, Any], str]] = []
        self.fail = fail

    async def __call__(self, rec: ConsumerRecord[Any, Any], reason: str) -> None:
        if self.fail is not None:
            raise self.fail
        self.sent.append((rec, reason))


async def test_one_record_at_a_time_poison_is_dead_lettered_and_transient_is_read_again() -> None:
    retries = Retries("partner", 2, Probe(up=True), sleep=Pauses())
    letters = Letters()
    calls: list[int] = []

    async def bug() -> None:
        calls.append(1)
        raise RuntimeError("a bug")

    await retries.one(record(offset=1), bug, letters)
    assert [(r.offset, reason) for r, reason in letters.sent] == [(1, "RuntimeError: a bug")]

    async def away() -> None:
        calls.append(2)
        raise KafkaConnectionError("broker away")

    flaky = record(offset=2)
    for _ in range(2):
        with pytest.raises(NackMessage):
            await retries.one(flaky, away, letters)
    await retries.one(flaky, away, letters)  # its tries are spent: dead-lettered, not called
    assert calls == [1, 2, 2]
    assert letters.sent[-1][1] == "abandonné après 2 tentatives : KafkaConnectionError: broker away"

    async def never() -> None:
        raise AssertionError("an unreadable record is not handled")

    await retries.one(record(value=None, offset=3), never, letters)
    await retries.one(record(headers=[("x", b"\xff")], offset=4), never, letters)
    assert [r.offset for r, _ in letters.sent[-2:]] == [3, 4]


async def test_a_dead_letter_that_cannot_be_sent_is_read_again_never_dropped() -> None:
    retries = Retries("partner", 2, Probe(up=True), sleep=Pauses())

    async def bug() -> None:
        raise RuntimeError("a bug")

    with pytest.raises(NackMessage):
        await retries.one(record(), bug, Letters(fail=KafkaTimeoutError()))


class Producer:
    def __init__(self, refuse_large: bool = False) -> None:
        self.sent: list[dict[str, Any]] = []
        self.refuse_large = refuse_large

    async def send_and_wait(self, topic: str, **kwargs: Any) -> None:
        if self.refuse_large and kwargs["value"] is not None:
            raise MessageSizeTooLargeError()
        self.sent.append({"topic": topic, **kwargs})


async def test_the_dead_letter_keeps_the_original_bytes_and_headers_as_they_came() -> None:
    producer = Producer()
    original = record(value=b"\x00not json", headers=[("x", b"\xff\xfe"), ("n", None)])
    await DeadLetters(producer, "requests").send(original, "illisible")
    [sent] = producer.sent
    assert sent["topic"] == "perception.guarantees.v1.dlq"
    assert (sent["value"], sent["key"]) == (b"\x00not json", b"1000001")
    assert sent["headers"][:2] == [("x", b"\xff\xfe"), ("n", None)]
    assert dict(sent["headers"][2:]) == {
        "x-dlq-reason": b"illisible",
        "x-dlq-consumer": b"requests",
        "x-dlq-original-topic": b"perception.guarantees.v1",
        "x-dlq-original-partition": b"2",
        "x-dlq-original-offset": b"7",
    }


async def test_a_copy_too_large_for_the_broker_goes_without_its_value_and_says_where_the_original_is() -> None:
    producer = Producer(refuse_large=True)
    await DeadLetters(producer, "debt").send(record(value=b"x" * 100), "a bug")
    [sent] = producer.sent
    assert sent["value"] is None
    headers = dict(sent["headers"])
    assert headers["x-dlq-reason"].decode().startswith("a bug ; copie trop grande")
    assert (headers["x-dlq-original-partition"], headers["x-dlq-original-offset"]) == (b"2", b"7")


def test_the_pause_never_exceeds_its_ceiling() -> None:
    retries = Retries("test", 3, Probe())
    retries.failures = 50
    assert retries.delay() == poison.RETRY_CEILING_S
