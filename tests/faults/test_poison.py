"""Hostile records from a perception: none stalls the requests service, none is lost.

Raw records on ``perception.guarantees.v1`` (the perceptions' public door), all on the partition of
an affiliate whose request awaits its guarantees: a deposit dated 9999-12-31T23:30:00Z (out of range
once in Casablanca time), a refusal with a 495-character reason (the contract allows 500; the
service's own event around it once overflowed), a refusal for an unknown request, a header that is
not UTF-8, a null header value, a tombstone, invalid JSON, an unknown type. Each must reach
``perception.guarantees.v1.dlq`` with its reason (the 495-character refusal may instead be applied,
its reason bounded), the partition must move on, and another affiliate's ordinary FULL request must
still validate right after (its quote comes through the same consumer).
"""

import json
import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from contracts.debt import ChargeBooked
from contracts.perception import GuaranteeDeposited, GuaranteeRefused
from contracts.topics import DEBT_LEDGER, PERCEPTION_GUARANTEES
from services.stack.demo_data import generate
from tests.e2e.conftest import RunningStack
from tests.e2e.test_requests_flow import Employer
from tests.support import eventually, header, publish, read_topic

pytestmark = pytest.mark.faults

WAITING, WAITING_LOGIN = "1000100", "demo.affilie.001"  # nothing to remit in the demo data: given some below
ORDINARY, ORDINARY_LOGIN = "1000102", "demo.affilie.003"  # penalties to remit in the demo data
NOW = datetime.now(UTC)


def refused(request_id: uuid.UUID, reason: str, perception: str, at: datetime) -> GuaranteeRefused:
    return GuaranteeRefused.build(
        {
            "request_id": request_id,
            "affiliate": WAITING,
            "perception": perception,
            "reason": reason,
            "refused_at": at,
        },
        producer="perception-hostile",
        occurred_at=at,
    )


def deposited_in_year_9999(request_id: uuid.UUID, perception: str, at: datetime) -> bytes:
    """Written by hand, as a hostile perception would: the contract may refuse the year (then the
    record is invalid), or take it (then the service must not overflow on it)."""
    message = GuaranteeDeposited.build(
        {
            "request_id": request_id,
            "affiliate": WAITING,
            "perception": perception,
            "reference": "GAR-9999",
            "guarantee_type": "CAUTION_BANCAIRE",
            "deposited_at": at,
        },
        producer="perception-hostile",
        occurred_at=at,
    )
    body = json.loads(message.model_dump_json())
    body["payload"]["deposited_at"] = "9999-12-31T23:30:00Z"
    return json.dumps(body).encode()


async def give_penalties(stack: RunningStack) -> None:
    """The CNSS core books a contribution and its majoration for the waiting affiliate (its door: the ledger)."""
    entries = [
        ChargeBooked.build(
            {
                "entry_id": f"FAULTS-{category}-{uuid.uuid4().hex[:8]}",
                "affiliate": WAITING,
                "period": "2023-06",
                "category": category,
                "amount": amount,
                "booked_on": date(2023, 7, 31),
            },
            producer="cnss-core",
            occurred_at=NOW,
        )
        for category, amount in (("principal", "36000.00"), ("majorations", "3600.00"))
    ]
    await publish(stack.bootstrap, DEBT_LEDGER.name, [(WAITING, e) for e in entries])


async def test_hostile_perception_records_are_dead_lettered_and_nothing_stalls(faults_stack: RunningStack) -> None:
    await give_penalties(faults_stack)
    waiting = Employer(faults_stack, WAITING_LOGIN, WAITING)
    request_id = await waiting.draft("INSTALLMENTS")
    quote = await waiting.installment_quote()
    [profile] = [a for a in generate(20, 2024).export.affiliates if a.numero == WAITING]
    code = profile.perception.code  # the perception that holds the request, as a real answer names it
    the_request = uuid.UUID(request_id)
    long_reason = "Garantie refusée : " + "x" * (495 - len("Garantie refusée : "))
    assert len(long_reason) == 495
    producer = AIOKafkaProducer(bootstrap_servers=faults_stack.bootstrap, acks="all")
    await producer.start()  # before the validation: the records follow it as closely as possible
    try:
        validated = await waiting.validate(request_id, quote["quote_id"])
        assert validated.status_code == 200, validated.text
        assert validated.json()["state"] == "AWAITING_GUARANTEE"
        now = datetime.now(UTC)  # after the submission, as a real answer's date would be
        valid = refused(uuid.uuid4(), "demande inconnue de la perception", code, now).model_dump_json().encode()
        hostile: dict[str, tuple[bytes | None, list[tuple[str, Any]]]] = {
            "deposit-9999": (deposited_in_year_9999(the_request, code, now), []),
            "reason-495": (refused(the_request, long_reason, code, now).model_dump_json().encode(), []),
            "unknown-request": (valid, []),
            "non-utf8-header": (valid, [("x", b"\xff\xfe")]),
            "null-header": (valid, [("x", None)]),
            "tombstone": (None, []),
            "invalid-json": (b'{"type": "perception.guarantee_refused", "payload": {', []),
            "unknown-type": (json.dumps(json.loads(valid) | {"type": "perception.guarantee_lost"}).encode(), []),
        }
        sent = [
            await producer.send(PERCEPTION_GUARANTEES.name, value=value, key=WAITING.encode(), headers=headers)
            for value, headers in hostile.values()
        ]
        where = {name: await ack for name, ack in zip(hostile, sent, strict=True)}
    finally:
        await producer.stop()
    assert len({m.partition for m in where.values()}) == 1  # one partition: any stall would stall them all

    # Another affiliate's ordinary FULL request validates right after: the consumer did not stall.
    ordinary = Employer(faults_stack, ORDINARY_LOGIN, ORDINARY)
    full_request = await ordinary.draft("FULL")
    simulated = await ordinary.simulate("FULL")
    assert simulated.status_code == 201, simulated.text
    answer = await ordinary.validate(full_request, simulated.json()["quote_id"])
    assert answer.status_code == 200, answer.text
    assert answer.json()["state"] == "VALIDATED"

    # Each hostile record is on the .dlq with its reason (the long refusal may have been applied).
    expected = {name: (m.partition, m.offset) for name, m in where.items()}

    def position(record: Any) -> tuple[int, int]:
        return (
            int(header(record, "x-dlq-original-partition") or -1),
            int(header(record, "x-dlq-original-offset") or -1),
        )

    must = {k: v for k, v in expected.items() if k != "reason-495"}
    dead = await read_topic(
        faults_stack.bootstrap,
        PERCEPTION_GUARANTEES.dlq,
        lambda r: set(must.values()) <= {position(d) for d in r},
        key=WAITING,
        timeout=30,
    )
    reasons = {position(d): header(d, "x-dlq-reason") or "" for d in dead}
    by_name = {name: reasons.get(spot, "") for name, spot in expected.items()}
    assert all(by_name[name] for name in must), by_name
    assert "UTF-8" in by_name["non-utf8-header"] and "null" in by_name["null-header"]
    assert "tombstone" in by_name["tombstone"]
    assert "JSON" in by_name["invalid-json"] and "perception.guarantee_lost" in by_name["unknown-type"]
    assert by_name["unknown-request"].startswith("inapplicable")
    letters = {position(d): d for d in dead}
    assert letters[expected["non-utf8-header"]].headers[0] == ("x", b"\xff\xfe")  # as it came
    assert letters[expected["null-header"]].headers[0] == ("x", None)
    assert letters[expected["tombstone"]].value is None

    # The waiting request's partition moved on: the reference perception's own deposit (or the long
    # refusal) was applied; the year-9999 deposit never was.
    async def settled() -> dict[str, Any] | None:
        body = await waiting.request(request_id)
        return body if body["state"] != "AWAITING_GUARANTEE" else None

    final = await eventually(settled, timeout=30, interval=0.2)
    assert final["state"] in ("VALIDATED", "REJECTED"), final["state"]
    if final["state"] == "VALIDATED":
        assert final["guarantee"]["reference"] != "GAR-9999"
        assert date.fromisoformat(final["validation_date"]).year < 9999
    else:  # the long refusal applied, its reason bounded, and so not dead-lettered
        assert expected["reason-495"] not in reasons
        assert all(len(entry.get("reason") or "") <= 500 for entry in final["history"])
    if expected["reason-495"] in reasons:
        assert reasons[expected["reason-495"]]
