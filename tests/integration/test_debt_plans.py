"""debt learns of remission plans and their payments through events only (issue 4, points 4 to 6):
pending while the plan runs, payments booked in its ledger, definitive on completion, reinstated on
default; redelivery changes nothing."""

import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from contracts.debits import DebitChanged, PlanCompleted, PlanDefaulted
from contracts.envelope import Envelope
from contracts.requests import RequestStateChanged
from contracts.topics import DEBITS_EVENTS, REQUESTS_EVENTS
from tests.conftest import Infra
from tests.integration.test_debt_ingestion import NOW, Debt, charge, debt, send
from tests.support import eventually, new_affiliate, publish, read_topic

pytestmark = pytest.mark.integration
__all__ = ["debt"]  # the fixture, reused

V = date(2026, 11, 2)
SCHEDULE = [  # advance and two installments: 2450.50 + 5000.00 + 5000.00 = to_pay
    (1, "ADVANCE", date(2026, 12, 10), "2450.50"),
    (2, "INSTALLMENT", date(2027, 1, 11), "5000.00"),
    (3, "INSTALLMENT", date(2027, 2, 10), "5000.00"),
]


async def seed(debt: Debt, infra: Infra, affiliate: str) -> dict[str, Any]:
    """Two eligible periods and one after the cut-off (2024-12)."""
    await send(
        infra,
        charge(affiliate, "2019-03", "principal", "10000.00"),
        charge(affiliate, "2019-03", "majorations", "300.00"),
        charge(affiliate, "2019-03", "astreintes", "500.00"),
        charge(affiliate, "2019-03", "frais", "150.55"),
        charge(affiliate, "2020-07", "principal", "2000.00"),
        charge(affiliate, "2020-07", "majorations", "201.00"),
        charge(affiliate, "2020-07", "frais", "49.45"),
        charge(affiliate, "2025-01", "principal", "2500.00"),
        charge(affiliate, "2025-01", "majorations", "75.00"),
    )

    async def seeded() -> dict[str, Any] | None:
        body: dict[str, Any] = (await debt.get(affiliate)).json()
        # Every entry in, the one after the cut-off too: a check on the eligible total alone passed
        # while 2025-01's majorations were still in the next batch (CI, 2026-12-06), and the
        # snapshot taken then differed from every later one.
        totals = body["totals"]
        whole = totals["eligible"]["total"] == "13201.00" and totals["non_eligible"]["total"] == "2575.00"
        return body if whole and len(body["periods"]) == 3 else None

    result: dict[str, Any] = await eventually(seeded)
    return result


def validated(request_id: uuid.UUID, affiliate: str) -> RequestStateChanged:
    # Rates 50 % majorations and frais, 80 % astreintes on the eligible outstanding amounts.
    debits = [{"sequence": s, "kind": k, "due_date": d, "collection_date": d, "amount": a} for s, k, d, a in SCHEDULE]
    quote = {
        "quote_id": uuid.uuid4(),
        "affiliate": affiliate,
        "debt_version": 1,
        "issued_at": NOW,
        "expires_at": NOW + timedelta(minutes=30),
        "programme": "DEC-05-2023",
        "modality": "INSTALLMENTS",
        "tier": "INSTALLMENTS_1_24",
        "rates": {"majorations": "0.50", "frais": "0.50", "astreintes": "0.80"},
        "advance": "2450.50",
        "installments": 2,
        "eligible_periods": ["2019-03", "2020-07"],
        "eligible": {"principal": "12000.00", "majorations": "501.00", "frais": "200.00", "astreintes": "500.00"},
        "remise": {
            "principal": "0.00",
            "majorations": "250.50",
            "frais": "100.00",
            "astreintes": "400.00",
            "total": "750.50",
        },
        "to_pay": "12450.50",
        "validation_date": V,
        "schedule": debits,
    }
    return RequestStateChanged.build(
        {
            "request_id": request_id,
            "affiliate": affiliate,
            "programme": "DEC-05-2023",
            "state": "VALIDATED",
            "previous_state": "AWAITING_GUARANTEE",
            "at": NOW,
            "actor": {"kind": "perception", "id": "FES-01"},
            "reason": "garanties déposées",
            "modality": "INSTALLMENTS",
            "plan": {
                "quote": quote,
                "bank_account_id": "acc-1",
                "cg_version": "CG-2023-1",
                "validation_date": V,
                "schedule": debits,
            },
        },
        producer="requests",
        occurred_at=NOW,
    )


def settled(request_id: uuid.UUID, affiliate: str, sequence: int, attempts: int = 1) -> DebitChanged:
    _, kind, due, amount = SCHEDULE[sequence - 1]
    return DebitChanged.build(
        {
            "request_id": request_id,
            "affiliate": affiliate,
            "debit": {
                "sequence": sequence,
                "kind": kind,
                "due_date": due,
                "collection_date": due,
                "amount": amount,
                "state": "SETTLED",
                "attempts": attempts,
            },
            "end_to_end_id": f"E2E-{sequence}-{attempts}",
            "at": NOW,
        },
        producer="debits",
        occurred_at=NOW,
    )


def completed(request_id: uuid.UUID, affiliate: str) -> PlanCompleted:
    return PlanCompleted.build(
        {"request_id": request_id, "affiliate": affiliate, "total_paid": "12450.50", "completed_on": date(2027, 2, 10)},
        producer="debits",
        occurred_at=NOW,
    )


def defaulted(request_id: uuid.UUID, affiliate: str) -> PlanDefaulted:
    return PlanDefaulted.build(
        {
            "request_id": request_id,
            "affiliate": affiliate,
            "reason": "prélèvement 2 rejeté (AC04)",
            "paid_so_far": "2450.50",
            "cancelled_sequences": [3],
            "defaulted_on": date(2027, 1, 11),
        },
        producer="debits",
        occurred_at=NOW,
    )


async def emit(infra: Infra, topic: str, *messages: Envelope) -> None:
    await publish(infra.bootstrap, topic, [(m.payload.affiliate, m) for m in messages])  # type: ignore[attr-defined]


def period(body: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(p for p in body["periods"] if p["period"] == name)
    return found


async def until(debt: Debt, affiliate: str, check: Any) -> dict[str, Any]:
    async def reached() -> dict[str, Any] | None:
        body: dict[str, Any] = (await debt.get(affiliate)).json()
        return body if check(body) else None

    result: dict[str, Any] = await eventually(reached)
    return result


def state(body: dict[str, Any]) -> str | None:
    return None if body.get("remission") is None else body["remission"]["state"]


async def settle_marker(infra: Infra, affiliate: str) -> None:
    """Every debits event before it on the affiliate's partition was applied: a record that fits no
    contract, dead-lettered once the valid records of its batch are applied and committed (the
    runtime's consumer sends unreadable records after the batch's transaction). (A completion of an
    unknown plan no longer serves: it waits for its request's VALIDATED, test_debt_pending.py.)"""
    marker = f'{{"marker": "{uuid.uuid4()}"}}'.encode()
    await publish(infra.bootstrap, DEBITS_EVENTS.name, [(affiliate, marker)])
    await read_topic(
        infra.bootstrap,
        f"{DEBITS_EVENTS.name}.dlq",
        lambda records: any(r.value == marker for r in records),
        key=affiliate,
    )


async def test_pending_then_paid_then_definitive(debt: Debt, infra: Infra) -> None:
    a = new_affiliate()
    seeded = await seed(debt, infra, a)
    request_id = uuid.uuid4()
    plan = validated(request_id, a)
    await emit(infra, REQUESTS_EVENTS.name, plan)

    pending = await until(debt, a, lambda b: state(b) == "PENDING")
    assert pending["version"] > seeded["version"]
    remission = pending["remission"]
    assert remission["request_id"] == str(request_id)
    assert remission["eligible_periods"] == ["2019-03", "2020-07"]
    assert remission["remise"] == {
        "principal": "0.00",
        "majorations": "250.50",
        "astreintes": "400.00",
        "frais": "100.00",
        "total": "750.50",
    }
    assert (remission["to_pay"], remission["paid"], remission["unapplied"]) == ("12450.50", "0.00", "0.00")
    # Shared in proportion to each period's outstanding amount, the newest taking the remainder.
    assert remission["periods"] == [
        {"period": "2019-03", "principal": "0.00", "majorations": "150.00", "astreintes": "400.00", "frais": "75.28"},
        {"period": "2020-07", "principal": "0.00", "majorations": "100.50", "astreintes": "0.00", "frais": "24.72"},
    ]
    # Pending: nothing owed is reduced yet.
    assert pending["periods"] == seeded["periods"]
    assert pending["totals"] == seeded["totals"]

    # The advance pays the oldest period's principal first.
    await emit(infra, DEBITS_EVENTS.name, settled(request_id, a, 1))
    after_advance = await until(debt, a, lambda b: b["remission"]["paid"] == "2450.50")
    assert period(after_advance, "2019-03")["principal"] == {
        "due": "10000.00",
        "paid": "2450.50",
        "outstanding": "7549.50",
    }
    assert after_advance["totals"]["eligible"]["total"] == "10750.50"

    await emit(infra, DEBITS_EVENTS.name, settled(request_id, a, 2), settled(request_id, a, 3, attempts=2))
    paid = await until(debt, a, lambda b: b["remission"]["paid"] == "12450.50")
    # Everything the plan covers is paid; what remains is exactly the pending remise.
    assert paid["remission"]["state"] == "PENDING"
    assert paid["totals"]["eligible"] == {
        "principal": "0.00",
        "majorations": "250.50",
        "astreintes": "400.00",
        "frais": "100.00",
        "total": "750.50",
    }
    assert period(paid, "2019-03")["frais"] == {"due": "150.55", "paid": "75.27", "outstanding": "75.28"}

    await emit(infra, DEBITS_EVENTS.name, completed(request_id, a))
    done = await until(debt, a, lambda b: state(b) == "DEFINITIVE")
    for name in ("2019-03", "2020-07"):
        for category in ("principal", "majorations", "astreintes", "frais"):
            assert period(done, name)[category]["outstanding"] == "0.00", (name, category)
    assert period(done, "2019-03")["majorations"] == {"due": "300.00", "paid": "150.00", "outstanding": "0.00"}
    assert done["totals"]["eligible"]["total"] == "0.00"
    # The period after the cut-off is untouched.
    assert period(done, "2025-01") == period(seeded, "2025-01")
    assert done["totals"]["non_eligible"]["total"] == "2575.00"

    # Redelivery: the same messages, and the same facts under new event ids, change nothing.
    await emit(infra, REQUESTS_EVENTS.name, plan, validated(request_id, a))
    await emit(
        infra,
        DEBITS_EVENTS.name,
        settled(request_id, a, 1),
        settled(request_id, a, 2),
        settled(request_id, a, 3, attempts=2),
        completed(request_id, a),
    )
    await settle_marker(infra, a)
    again = (await debt.get(a)).json()
    assert again == done


async def test_default_reinstates_the_remission_and_keeps_the_payment(debt: Debt, infra: Infra) -> None:
    b = new_affiliate()
    seeded = await seed(debt, infra, b)
    request_id = uuid.uuid4()
    await emit(infra, REQUESTS_EVENTS.name, validated(request_id, b))
    await until(debt, b, lambda body: state(body) == "PENDING")
    advance = settled(request_id, b, 1)
    await emit(infra, DEBITS_EVENTS.name, advance)
    await until(debt, b, lambda body: body["remission"]["paid"] == "2450.50")
    failed = defaulted(request_id, b)
    await emit(infra, DEBITS_EVENTS.name, failed)

    reinstated = await until(debt, b, lambda body: state(body) == "REINSTATED")
    assert reinstated["remission"]["paid"] == "2450.50"
    # The payment stays applied; every remitted amount is owed again, to the centime.
    march = period(reinstated, "2019-03")
    assert march["principal"] == {"due": "10000.00", "paid": "2450.50", "outstanding": "7549.50"}
    assert march["majorations"] == {"due": "300.00", "paid": "0.00", "outstanding": "300.00"}
    assert march["astreintes"] == {"due": "500.00", "paid": "0.00", "outstanding": "500.00"}
    assert march["frais"] == {"due": "150.55", "paid": "0.00", "outstanding": "150.55"}
    assert period(reinstated, "2020-07") == period(seeded, "2020-07")
    assert reinstated["totals"]["eligible"] == {
        "principal": "9549.50",
        "majorations": "501.00",
        "astreintes": "500.00",
        "frais": "200.00",
        "total": "10750.50",
    }
    assert Decimal(reinstated["totals"]["eligible"]["total"]) == Decimal("13201.00") - Decimal("2450.50")

    # Redelivered, or a completion after the default: nothing changes (the latter is dead-lettered).
    await emit(
        infra,
        DEBITS_EVENTS.name,
        advance,
        failed,
        settled(request_id, b, 1),
        defaulted(request_id, b),
        completed(request_id, b),
    )
    await settle_marker(infra, b)
    assert (await debt.get(b)).json() == reinstated
