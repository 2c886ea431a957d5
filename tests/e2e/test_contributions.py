"""Article 2 on the running system: a plan's current contributions booked on ``debt.ledger.v1``, the
sweep as of a date (``recouvrement requests sweep --date``), notice, cure, default, and the default's
consequences at debits (pending debits cancelled) and debt (remise reinstated).

With the stack's clock, V is the day of the validation (today). Worked
for V in December 2026 (the dates are computed from V the same way if the test runs another month):
  p1 = 2027-01: due 2027-02-10 (Wed), grace until 2027-02-25, notice 02-26, cure until 2027-03-27
  p2 = 2027-02: due 2027-03-11 (the 10th is Aïd al-Fitr), grace until 03-26, notice 03-27,
                cure until 2027-04-25, default 2027-04-26
"""

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from contracts.calendar import BusinessCalendar
from contracts.programme import CURRENT_PROGRAMME, shipped_programme
from contracts.topics import DEBT_LEDGER
from services.requests.domain.obligations import breach_on, due_on
from tests.e2e.conftest import RunningStack, operator_command
from tests.e2e.test_debits_flow import (
    SLOW,
    amounts,
    debits_of,
    debt_of,
    events_until,
    plan_of,
    remission_reaches,
    request_reaches,
    summed,
)
from tests.e2e.test_requests_flow import Employer
from tests.messages import charge, payment
from tests.support import eventually, publish

pytestmark = pytest.mark.e2e

PROGRAMME = shipped_programme(CURRENT_PROGRAMME)
TERMS = PROGRAMME.contributions
CALENDAR = BusinessCalendar(PROGRAMME.extra_holidays)
P1_AMOUNT, P2_AMOUNT = Decimal("5234.50"), Decimal("4100.00")


def sweep(stack: RunningStack, on: date) -> str:
    """``recouvrement requests sweep --date`` as an operator runs it, on requests' database."""
    return operator_command(stack, "requests", "requests", "sweep", "--date", on.isoformat(), timeout=120)


def next_period(period: str) -> str:
    year, month = int(period[:4]), int(period[5:])
    return f"{year + 1}-01" if month == 12 else f"{year}-{month + 1:02d}"


async def health(employer: Employer, request_id: str) -> dict[str, dict[str, Any]]:
    answer = await employer.call("GET", f"{employer.stack.requests}/v1/requests/{request_id}/contributions")
    assert answer.status_code == 200, answer.text
    return {c["period"]: c for c in answer.json()["contributions"]}


async def health_shows(employer: Employer, request_id: str, check: Any) -> dict[str, dict[str, Any]]:
    async def seen() -> Any:
        shown = await health(employer, request_id)
        return shown if check(shown) else None

    result: dict[str, dict[str, Any]] = await eventually(seen, timeout=SLOW, interval=0.5)
    return result


async def test_current_contributions_notice_cure_then_default_through_the_ledger_and_the_sweep(
    stack: RunningStack,
) -> None:
    # The demo affiliates whose debt allows installments are other tests' (and a default would end
    # them): a full payment, whose one debit is never run here, is a plan watched the same way.
    employer = Employer(stack, "demo.affilie.015", "1000114")
    request_id = await employer.draft("FULL")
    before = await debt_of(employer)
    quote = (await employer.simulate("FULL")).json()
    assert Decimal(quote["remise"]["total"]) > 0
    validated = (await employer.validate(request_id, quote["quote_id"])).json()
    assert validated["state"] == "VALIDATED", validated
    v = date.fromisoformat(validated["validation_date"])
    plan = await plan_of(employer, request_id)
    assert [d["state"] for d in plan] == ["SCHEDULED"] * len(plan)
    await remission_reaches(employer, request_id, "PENDING")

    p1 = next_period(f"{v.year}-{v.month:02d}")
    p2 = next_period(p1)
    breach1, breach2 = breach_on(p1, TERMS, CALENDAR), breach_on(p2, TERMS, CALENDAR)
    assert breach1 == due_on(p1, TERMS, CALENDAR) + timedelta(days=15)
    deadline1, deadline2 = breach1 + timedelta(days=30), breach2 + timedelta(days=30)

    # The core system books the two months' contributions (principal) on their due dates.
    await publish(
        stack.bootstrap,
        DEBT_LEDGER.name,
        [
            ("1000114", charge("1000114", p1, category="principal", amount=str(P1_AMOUNT), booked_on=breach1)),
            ("1000114", charge("1000114", p2, category="principal", amount=str(P2_AMOUNT), booked_on=breach2)),
        ],
    )
    shown = await health_shows(employer, request_id, lambda s: p1 in s and p2 in s)
    assert (shown[p1]["amount"], shown[p1]["outstanding"], shown[p1]["state"]) == ("5234.50", "5234.50", "upcoming")
    assert shown[p1]["grace_until"] == breach1.isoformat()

    # On the last day of grace nothing happens; the day after, a notice for p1 only.
    assert "0 mises en demeure" in sweep(stack, breach1)
    said = sweep(stack, breach1 + timedelta(days=1))
    assert "1 mises en demeure" in said and "0 plans déchus" in said, said
    request = await employer.request(request_id)
    assert request["state"] == "VALIDATED"
    notice = request["history"][-1]
    assert (notice["event"], notice["to_state"], notice["actor"]) == (
        "contributions_notice",
        "VALIDATED",
        {"kind": "system", "id": "sweep"},
    )
    assert f"période {p1}" in notice["reason"] and "5234.50 MAD" in notice["reason"]
    assert deadline1.isoformat() in notice["reason"]
    shown = await health(employer, request_id)
    assert (shown[p1]["state"], shown[p1]["cure_deadline"]) == ("noticed", deadline1.isoformat())
    # The same day swept again decides nothing new.
    assert "0 mises en demeure" in sweep(stack, breach1 + timedelta(days=1))

    # The affiliate is told, by e-mail and SMS (notifications), once however often the day is swept.
    url = f"{stack.urls['notifications']}/v1/affiliates/1000114/notifications"

    async def told() -> Any:
        listed = [n for n in (await employer.call("GET", url)).json() if n["kind"] == "contributions_notice"]
        return listed if len(listed) == 2 and {n["state"] for n in listed} == {"SENT"} else None

    told_once = await eventually(told, timeout=SLOW, interval=0.5)
    assert {n["channel"] for n in told_once} == {"email", "sms"} and {n["request_id"] for n in told_once} == {
        request_id
    }

    # p1 paid ten days into the cure window: the next sweep records the cure, the plan goes on.
    paid_on = breach1 + timedelta(days=10)
    await publish(
        stack.bootstrap,
        DEBT_LEDGER.name,
        [("1000114", payment("1000114", p1, category="principal", amount=str(P1_AMOUNT), received_on=paid_on))],
    )
    await health_shows(employer, request_id, lambda s: s[p1]["paid_on"] == paid_on.isoformat())
    said = sweep(stack, paid_on + timedelta(days=1))
    assert "1 régularisées" in said, said
    request = await employer.request(request_id)
    assert request["state"] == "VALIDATED"
    cured = request["history"][-1]
    assert cured["event"] == "contributions_cured" and f"réglées le {paid_on.isoformat()}" in cured["reason"]
    assert (await health(employer, request_id))[p1]["state"] == "cured"

    # p2 is never paid: notice the day after its grace, nothing on its cure deadline, default the day after.
    assert "1 mises en demeure" in sweep(stack, breach2 + timedelta(days=1))
    assert "0 plans déchus" in sweep(stack, deadline2)
    assert (await employer.request(request_id))["state"] == "VALIDATED"
    said = sweep(stack, deadline2 + timedelta(days=1))
    assert "1 plans déchus" in said, said

    defaulted = await request_reaches(employer, request_id, "DEFAULTED")
    last = defaulted["history"][-1]
    assert (last["event"], last["from_state"], last["to_state"]) == ("defaulted", "VALIDATED", "DEFAULTED")
    assert f"cotisations courantes impayées (période {p2})" in last["reason"]

    # debits: the plan forfeited, every debit (none was sent) cancelled, PlanDefaulted with the reason.
    events = await events_until(stack, "1000114", request_id, "debits.plan_defaulted")
    [plan_defaulted] = [e for e in events if e["type"] == "debits.plan_defaulted"]
    assert f"cotisations courantes impayées (période {p2})" in plan_defaulted["payload"]["reason"]
    assert plan_defaulted["payload"]["cancelled_sequences"] == [d["sequence"] for d in plan]
    assert Decimal(plan_defaulted["payload"]["paid_so_far"]) == 0
    debits = await debits_of(employer, request_id)
    assert [(d["state"], d["attempts"]) for d in debits] == [("CANCELLED", 0)] * len(plan)

    # debt: the remise reinstated to the centime, per category; the eligible periods owe exactly what
    # they owed before the request (nothing was paid on the plan); p1 paid, p2 still owed.
    after = await remission_reaches(employer, request_id, "REINSTATED")
    assert amounts(after["remission"]["remise"]) == amounts(quote["remise"])
    eligible = quote["eligible_periods"]
    assert summed(after, eligible, "outstanding") == summed(before, eligible, "outstanding")
    assert summed(after, eligible, "outstanding") == amounts(quote["eligible"])
    current = {p["period"]: p for p in after["periods"] if p["period"] in (p1, p2)}
    assert current[p1]["principal"]["outstanding"] == "0.00"
    assert current[p2]["principal"]["outstanding"] == "4100.00"

    # No new request under this programme after a default.
    refused = await employer.call("POST", f"{stack.requests}/v1/requests", {"affiliate": "1000114"})
    assert refused.status_code == 409, refused.text
