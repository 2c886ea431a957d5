"""What a perception may say is bounded (issue 13), through the public door of a real stack.

Seen: a deposit from office ``ZZZ`` validated a plan; a deposit dated 400 days back validated one with
V in the past, and the next debit run ordered every overdue installment on the same day; a refusal's
495-character reason made the request's own event invalid. Here real requests of demo affiliates are
taken to AWAITING_GUARANTEE over HTTP while the reference perception is stopped (SIGSTOP: it would
deposit at once), and raw records go on ``perception.guarantees.v1`` as any producer could write
them: a deposit from ``ZZZ``, one dated 400 days back, one dated in three days, and a refusal of 495
characters from the office asked. The first three reach ``perception.guarantees.v1.dlq`` with their
reason, requests logs each, and the request does not move; the refusal rejects its request with a
reason bounded to 500 characters, in an event valid on ``requests.events.v1``. Then the perception
resumes: the waiting request is validated by its real deposit, and another affiliate's ordinary
installment plan goes through the reference perception to VALIDATED.
"""

import json
import os
import signal
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer, ConsumerRecord

from contracts.debt import ChargeBooked
from contracts.envelope import Envelope
from contracts.perception import GuaranteeDeposited, GuaranteeRefused
from contracts.requests import REASON_MAX_LENGTH
from contracts.topics import DEBT_LEDGER, PERCEPTION_GUARANTEES, REQUESTS_EVENTS
from services.runtime.clock import BUSINESS_TZ
from services.stack.demo_data import generate
from tests.e2e.conftest import RunningStack
from tests.e2e.test_requests_flow import Employer
from tests.support import eventually, header, launcher_children, publish, read_topic

pytestmark = pytest.mark.faults

HOSTILE, HOSTILE_LOGIN = "1000105", "demo.affilie.006"  # penalties to remit in the demo data
REFUSED, REFUSED_LOGIN = "1000106", "demo.affilie.007"  # given more below: an installment plan needs 3,000 a month
ORDINARY, ORDINARY_LOGIN = "1000108", "demo.affilie.009"  # idem
SLOW = 120.0
EVENTS = REQUESTS_EVENTS.adapter()


def office_of(affiliate: str) -> str:
    """The perception auth names for a demo affiliate: the one requests asks for its guarantees."""
    [profile] = [a for a in generate(20, 2024).export.affiliates if a.numero == affiliate]
    return profile.perception.code


def deposited(request_id: str, affiliate: str, office: str, at: datetime, reference: str) -> bytes:
    message = GuaranteeDeposited.build(
        {
            "request_id": request_id,
            "affiliate": affiliate,
            "perception": office,
            "reference": reference,
            "guarantee_type": "CAUTION_BANCAIRE",
            "deposited_at": at,
        },
        producer="perception-hostile",
        occurred_at=datetime.now(UTC),
    )
    return message.model_dump_json().encode()


async def give_penalties(stack: RunningStack, *employers: Employer) -> None:
    """The CNSS core books a contribution and its majoration (its door: the ledger); returns once debt
    shows them (a newer version), so the simulations that follow are computed on them."""

    async def version(employer: Employer) -> int:
        answer = await employer.call("GET", f"{stack.debt}/v1/affiliates/{employer.affiliate}/debt")
        assert answer.status_code == 200, answer.text
        return int(answer.json()["version"])

    before = {employer.affiliate: await version(employer) for employer in employers}
    affiliates = list(before)
    entries: list[tuple[str, Envelope | bytes]] = [
        (
            affiliate,
            ChargeBooked.build(
                {
                    "entry_id": f"BOUNDS-{affiliate}-{category}-{uuid.uuid4().hex[:8]}",
                    "affiliate": affiliate,
                    "period": "2023-06",
                    "category": category,
                    "amount": amount,
                    "booked_on": date(2023, 7, 31),
                },
                producer="cnss-core",
                occurred_at=datetime.now(UTC),
            ),
        )
        for affiliate in affiliates
        for category, amount in (("principal", "36000.00"), ("majorations", "3600.00"))
    ]
    await publish(stack.bootstrap, DEBT_LEDGER.name, entries)
    for employer in employers:

        async def booked(employer: Employer = employer) -> bool:
            return await version(employer) > before[employer.affiliate]

        await eventually(booked, timeout=SLOW, interval=0.5)


def partner_pid(launcher: int, name: str) -> int:
    """The launcher starts each partner as its own child: ``python -m services.cli <name> serve``."""
    for pid, words in launcher_children(launcher).items():
        if words[-2:] == [name, "serve"]:
            return pid
    raise AssertionError(f"no process serves the partner {name} under the launcher {launcher}")


@contextmanager
def stopped(pid: int) -> Iterator[None]:
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


async def awaiting(employer: Employer) -> str:
    request_id = await employer.draft("INSTALLMENTS")
    quote = await employer.installment_quote()
    waiting = await employer.validate(request_id, quote["quote_id"])
    assert waiting.status_code == 200, waiting.text
    assert waiting.json()["state"] == "AWAITING_GUARANTEE", waiting.text
    return request_id


async def reaches(employer: Employer, request_id: str, state: str) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        body = await employer.request(request_id)
        return body if body["state"] == state else None

    found: dict[str, Any] = await eventually(check, timeout=SLOW, interval=0.5)
    return found


def logged(stack: RunningStack, message: str, request_id: str) -> list[dict[str, Any]]:
    """The JSON lines of requests' log with this message about this request."""
    lines = (stack.data_dir / "logs" / "requests.log").read_text(encoding="utf-8", errors="replace").splitlines()
    found = [json.loads(line) for line in lines if line.startswith("{") and request_id in line]
    return [line for line in found if line.get("msg") == message]


async def test_answers_from_another_office_or_out_of_their_window_move_nothing_and_long_reasons_are_bounded(
    faults_stack: RunningStack,
) -> None:
    stack = faults_stack
    hostile, refused = Employer(stack, HOSTILE_LOGIN, HOSTILE), Employer(stack, REFUSED_LOGIN, REFUSED)
    ordinary = Employer(stack, ORDINARY_LOGIN, ORDINARY)
    await give_penalties(stack, refused, ordinary)
    perception = partner_pid(stack.process.pid, "perception")
    now = datetime.now(UTC)
    long_reason = ("Garantie refusée : " + "caution insuffisante " * 30)[:495]
    producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap, acks="all")
    await producer.start()
    try:
        with stopped(perception):
            hostile_id, refused_id = await awaiting(hostile), await awaiting(refused)
            office = office_of(HOSTILE)
            bad = {
                "office ZZZ": deposited(hostile_id, HOSTILE, "ZZZ", now, "GAR-ZZZ"),
                "400 days back": deposited(hostile_id, HOSTILE, office, now - timedelta(days=400), "GAR-OLD"),
                "in three days": deposited(hostile_id, HOSTILE, office, now + timedelta(days=3), "GAR-SOON"),
            }
            refusal = GuaranteeRefused.build(
                {
                    "request_id": refused_id,
                    "affiliate": REFUSED,
                    "perception": office_of(REFUSED),
                    "reason": long_reason,
                    "refused_at": now,
                },
                producer="perception-hostile",
                occurred_at=now,
            )
            for value in bad.values():
                await producer.send_and_wait(PERCEPTION_GUARANTEES.name, value=value, key=HOSTILE.encode())
            await producer.send_and_wait(
                PERCEPTION_GUARANTEES.name, value=refusal.model_dump_json().encode(), key=REFUSED.encode()
            )

            # Each bad answer is on the .dlq with its reason, requests logged it, the request did not move.
            def all_dead(records: list[ConsumerRecord[Any, Any]]) -> bool:
                return {r.value for r in records} >= set(bad.values())

            letters = await read_topic(stack.bootstrap, PERCEPTION_GUARANTEES.dlq, all_dead, key=HOSTILE, timeout=60)
            reasons = {
                name: next(header(r, "x-dlq-reason") or "" for r in letters if r.value == value)
                for name, value in bad.items()
            }
            assert "perception-non-sollicitee" in reasons["office ZZZ"], reasons
            assert f"demandées à la perception {office}" in reasons["office ZZZ"]
            assert "reponse-avant-la-demande" in reasons["400 days back"], reasons
            assert "reponse-dans-le-futur" in reasons["in three days"], reasons
            body = await hostile.request(hostile_id)
            assert (body["state"], body["guarantee"], body["validation_date"]) == ("AWAITING_GUARANTEE", None, None)

            async def three_logged() -> list[dict[str, Any]] | None:
                found = logged(stack, "perception answer refused", hostile_id)
                return found if len(found) >= 3 else None

            refusals = await eventually(three_logged, timeout=30)
            assert sorted(line["code"] for line in refusals) == [
                "perception-non-sollicitee",
                "reponse-avant-la-demande",
                "reponse-dans-le-futur",
            ]

            # The long refusal is applied: REJECTED, its reason bounded, its event valid on requests.events.v1.
            rejected = await reaches(refused, refused_id, "REJECTED")
            written = rejected["history"][-1]["reason"]
            assert len(written) == REASON_MAX_LENGTH and written.endswith("…"), written
            assert written.startswith("garanties refusées : Garantie refusée : caution insuffisante")

            def rejection(records: list[ConsumerRecord[Any, Any]]) -> bool:
                return any(refused_id.encode() in r.value and b'"REJECTED"' in r.value for r in records)

            records = await read_topic(stack.bootstrap, REQUESTS_EVENTS.name, rejection, key=REFUSED, timeout=60)
            event = EVENTS.validate_json(next(r.value for r in records if b'"REJECTED"' in r.value))
            assert (event.payload.state, event.payload.reason) == ("REJECTED", written)
    finally:
        await producer.stop()

    # The perception resumes: its real deposit validates the waiting request, V today.
    validated = await reaches(hostile, hostile_id, "VALIDATED")
    assert validated["guarantee"]["perception"] == office_of(HOSTILE)
    deposited_on = date.fromisoformat(validated["validation_date"])
    assert now.astimezone(BUSINESS_TZ).date() <= deposited_on <= datetime.now(BUSINESS_TZ).date()
    # And an ordinary installment plan of another affiliate goes through it as before.
    ordinary_id = await awaiting(ordinary)
    body = await reaches(ordinary, ordinary_id, "VALIDATED")
    assert body["guarantee"]["perception"] == office_of(ORDINARY)
    assert [h["event"] for h in body["history"]][-3:] == [
        "awaiting_guarantee",
        "guarantee_request_received",
        "guarantee_deposited",
    ]
