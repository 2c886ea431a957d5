"""Bank debits on the running system: a validated request's plan, the debit run of a date
(``recouvrement debits run --date``), the reference bank's answers on Kafka, re-presentation,
completion and default, and the request following its plan at requests.

The reference bank (``partners/bank``) pays every debit but two demo affiliates' (``BANK_RULES`` in
conftest.py): ``REJECTED_ONCE_BY_BANK`` (AM04 on each debit's first attempt, then paid) and
``REJECTED_BY_BANK`` (AC04 on every attempt: no re-presentation).
"""

import json
import time
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from contracts.banks import BANKS, orders_topic
from contracts.identifiers import bank_code
from contracts.topics import BANK_ORDERS, BANK_RESULTS, DEBITS_EVENTS
from services.debits.config import DebitsSettings
from services.debt.domain.position import CATEGORIES
from tests.e2e.conftest import REJECTED_BY_BANK, REJECTED_ONCE_BY_BANK, RunningStack, operator_command
from tests.e2e.otlp_receiver import OtlpReceiver
from tests.e2e.test_requests_flow import Employer
from tests.support import eventually, header, read_topic

pytestmark = pytest.mark.e2e

# The machine is shared and the whole stack runs on it: generous waits.
SLOW = 120.0
FINAL_STATES = {"SETTLED", "CANCELLED"}


# --- helpers --------------------------------------------------------------------------------------


def debit_run(stack: RunningStack, on: date) -> str:
    """``recouvrement debits run --date`` as an operator runs it, on debits' database."""
    return operator_command(stack, "debits", "debits", "run", "--date", on.isoformat())


async def debits_of(employer: Employer, request_id: str) -> list[dict[str, Any]]:
    answer = await employer.call("GET", f"{employer.stack.debits}/v1/requests/{request_id}/debits")
    assert answer.status_code == 200, answer.text
    return sorted(answer.json(), key=lambda d: d["sequence"])


async def plan_of(employer: Employer, request_id: str) -> list[dict[str, Any]]:
    """The plan debits scheduled from the VALIDATED event (it arrives by Kafka)."""

    async def scheduled() -> Any:
        answer = await employer.call("GET", f"{employer.stack.debits}/v1/requests/{request_id}/debits")
        return answer.json() if answer.status_code == 200 and answer.json() else None

    await eventually(scheduled, timeout=SLOW, interval=0.5)
    return await debits_of(employer, request_id)


async def answered(employer: Employer, request_id: str) -> list[dict[str, Any]]:
    """Waits until the bank answered every order sent (no debit left ORDERED)."""

    async def no_order_in_flight() -> Any:
        debits = await debits_of(employer, request_id)
        return debits if not any(d["state"] == "ORDERED" for d in debits) else None

    result: list[dict[str, Any]] = await eventually(no_order_in_flight, timeout=SLOW, interval=0.5)
    return result


async def run_until_done(stack: RunningStack, employer: Employer, request_id: str) -> tuple[list[Any], list[date]]:
    """Runs the debit run on each date a debit of the plan is (again) due, waiting each time for the
    bank's answers, until nothing is left to present. Returns the debits and the run dates."""
    runs: list[date] = []
    while True:
        debits = await answered(employer, request_id)
        due = [date.fromisoformat(d["next_attempt_on"]) for d in debits if d["next_attempt_on"]]
        if not due:
            return debits, runs
        assert len(runs) < 3 * len(debits), f"the plan does not conclude: {debits}"
        runs.append(min(due))
        summary = debit_run(stack, runs[-1])
        assert "total" in summary, summary


async def request_reaches(employer: Employer, request_id: str, state: str) -> dict[str, Any]:
    async def check() -> Any:
        body = await employer.request(request_id)
        return body if body["state"] == state else None

    result: dict[str, Any] = await eventually(check, timeout=SLOW, interval=0.5)
    return result


async def validated_installments(
    employer: Employer, installments: int, advance: str = "0.00"
) -> tuple[str, dict[str, Any]]:
    """An INSTALLMENTS request validated through the reference perception (guarantee deposited),
    and the quote it is bound to."""
    request_id = await employer.draft("INSTALLMENTS")
    quote = await employer.simulate("INSTALLMENTS", advance=advance, installments=installments)
    assert quote.status_code == 201, quote.text
    waiting = await employer.validate(request_id, quote.json()["quote_id"])
    assert waiting.status_code == 200, waiting.text
    assert waiting.json()["state"] == "AWAITING_GUARANTEE"
    await request_reaches(employer, request_id, "VALIDATED")
    return request_id, dict(quote.json())


async def debt_of(employer: Employer) -> dict[str, Any]:
    """The affiliate's consolidated debt at debt, as the portal reads it."""
    answer = await employer.call("GET", f"{employer.stack.debt}/v1/affiliates/{employer.affiliate}/debt")
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


async def remission_reaches(employer: Employer, request_id: str, state: str) -> dict[str, Any]:
    """The debt once its remission for this request is in ``state`` (debt learns of plans by Kafka)."""

    async def check() -> Any:
        debt = await debt_of(employer)
        remission = debt["remission"]
        return debt if remission and (remission["request_id"], remission["state"]) == (request_id, state) else None

    result: dict[str, Any] = await eventually(check, timeout=SLOW, interval=0.5)
    return result


def summed(debt: dict[str, Any], periods: list[str], column: str) -> dict[str, Decimal]:
    """Per category, one column (due, paid, outstanding) summed over the given periods."""
    lines = [p for p in debt["periods"] if p["period"] in periods]
    return {c: sum((Decimal(p[c][column]) for p in lines), Decimal(0)) for c in CATEGORIES}


def amounts(section: dict[str, str]) -> dict[str, Decimal]:
    return {k: Decimal(v) for k, v in section.items()}


def debits_events(records: list[ConsumerRecord[Any, Any]], request_id: str) -> list[dict[str, Any]]:
    events = [json.loads(r.value) for r in records]
    return [e for e in events if e["payload"].get("request_id") == request_id]


async def events_until(stack: RunningStack, affiliate: str, request_id: str, event_type: str) -> list[dict[str, Any]]:
    records = await read_topic(
        stack.bootstrap,
        DEBITS_EVENTS.name,
        lambda r: any(e["type"] == event_type for e in debits_events(r, request_id)),
        key=affiliate,
        timeout=SLOW,
    )
    return debits_events(records, request_id)


async def orders_on_every_bank_topic(stack: RunningStack) -> dict[str, list[ConsumerRecord[Any, Any]]]:
    """Every record of every bank's order topic, from the beginning to the current end."""
    consumer = AIOKafkaConsumer(bootstrap_servers=stack.bootstrap, enable_auto_commit=False, fetch_max_wait_ms=10)
    await consumer.start()
    try:
        partitions = [
            TopicPartition(topic.name, p)
            for topic in BANK_ORDERS
            for p in sorted(consumer.partitions_for_topic(topic.name) or {0})
        ]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        records: dict[str, list[ConsumerRecord[Any, Any]]] = {topic.name: [] for topic in BANK_ORDERS}
        deadline = time.monotonic() + SLOW

        async def behind() -> bool:
            return any([await consumer.position(tp) < end for tp, end in ends.items()])

        while await behind():
            assert time.monotonic() < deadline, "the order topics could not be read to their end"
            for tp, batch in (await consumer.getmany(timeout_ms=200)).items():
                records[tp.topic] += batch
        return records
    finally:
        await consumer.stop()


async def orders_of(stack: RunningStack, request_id: str) -> dict[str, list[dict[str, Any]]]:
    """The orders of one request, by the topic they were read from (every order topic is checked)."""
    found: dict[str, list[dict[str, Any]]] = {}
    for topic, records in (await orders_on_every_bank_topic(stack)).items():
        for record in records:
            order = json.loads(record.value) | {"_traceparent": header(record, "traceparent")}
            # whatever the request: an order is only ever on the topic of its debtor's bank
            assert topic == orders_topic(bank_code(order["payload"]["debtor_account"])), (topic, order["payload"])
            if order["payload"]["request_id"] == request_id:
                found.setdefault(topic, []).append(order)
    return found


def calendar() -> Any:
    settings = DebitsSettings()
    return settings.business_calendar(settings.load_programme())


# --- scenarios -------------------------------------------------------------------------------------


async def test_a_full_payment_is_ordered_on_its_date_paid_by_the_bank_and_completes_in_one_trace(
    stack: RunningStack, otlp: OtlpReceiver
) -> None:
    employer = Employer(stack, "demo.affilie.007", "1000106")
    request_id = await employer.draft("FULL")
    before = await debt_of(employer)
    quote = (await employer.simulate("FULL")).json()
    eligible_periods = quote["eligible_periods"]
    assert before["version"] == quote["debt_version"], (before["version"], quote)
    assert Decimal(quote["remise"]["total"]) > 0  # penalties to remit: the DEFINITIVE check below bites
    assert summed(before, eligible_periods, "outstanding") == amounts(quote["eligible"])
    validated = await employer.validate(request_id, quote["quote_id"])
    assert validated.status_code == 200, validated.text
    assert validated.json()["state"] == "VALIDATED"
    account = await employer.bank_account()

    [debit] = await plan_of(employer, request_id)
    assert (debit["kind"], debit["state"], debit["attempts"]) == ("FULL", "SCHEDULED", 0)
    assert debit["amount"] == quote["to_pay"]
    collection = date.fromisoformat(debit["collection_date"])
    assert calendar().is_business_day(collection)

    debit_run(stack, collection - timedelta(days=1))
    assert (await debits_of(employer, request_id))[0]["state"] == "SCHEDULED"  # not due before its date

    summary = debit_run(stack, collection)
    assert f"Tournée du {collection.isoformat()}" in summary and account["bank_code"] in summary, summary
    [settled] = await answered(employer, request_id)
    assert (settled["state"], settled["attempts"]) == ("SETTLED", 1), settled
    assert [h["to_state"] for h in settled["history"]] == ["SCHEDULED", "ORDERED", "SETTLED"]

    events = await events_until(stack, "1000106", request_id, "debits.plan_completed")
    [completed] = [e for e in events if e["type"] == "debits.plan_completed"]
    assert Decimal(completed["payload"]["total_paid"]) == Decimal(quote["to_pay"])
    assert completed["payload"]["completed_on"] == collection.isoformat()
    assert (await request_reaches(employer, request_id, "COMPLETED"))["state"] == "COMPLETED"

    # debt: the payment booked and the remission DEFINITIVE, the eligible periods owe nothing more
    after = await remission_reaches(employer, request_id, "DEFINITIVE")
    remission = after["remission"]
    assert remission["eligible_periods"] == eligible_periods
    assert amounts(remission["remise"]) == amounts(quote["remise"])
    assert (remission["to_pay"], remission["paid"], remission["unapplied"]) == (
        quote["to_pay"],
        quote["to_pay"],
        "0.00",
    )
    written_off = {c: sum((Decimal(p[c]) for p in remission["periods"]), Decimal(0)) for c in CATEGORIES}
    assert written_off == {c: Decimal(quote["remise"][c]) for c in CATEGORIES}
    assert summed(after, eligible_periods, "outstanding") == dict.fromkeys(CATEGORIES, Decimal(0))
    paid_now, paid_before = summed(after, eligible_periods, "paid"), summed(before, eligible_periods, "paid")
    assert {c: paid_now[c] - paid_before[c] for c in CATEGORIES} == {
        c: Decimal(quote["eligible"][c]) - Decimal(quote["remise"][c]) for c in CATEGORIES
    }
    assert [(p["period"], {c: p[c]["due"] for c in CATEGORIES}) for p in after["periods"]] == [
        (p["period"], {c: p[c]["due"] for c in CATEGORIES}) for p in before["periods"]
    ]
    assert {c: Decimal(v) for c, v in after["totals"]["eligible"].items() if c != "total"} == {
        c: Decimal(before["totals"]["eligible"][c]) - Decimal(quote["eligible"][c]) for c in CATEGORIES
    }
    assert after["totals"]["non_eligible"] == before["totals"]["non_eligible"]

    # the order went to the debtor's bank's topic only, and the run again on that date sends nothing
    orders = await orders_of(stack, request_id)
    [(topic, [order])] = orders.items()
    assert topic == orders_topic(account["bank_code"])
    assert order["payload"]["instructed_amount"] == quote["to_pay"]
    assert order["payload"]["requested_collection_date"] == collection.isoformat()
    assert order["payload"]["installments_total"] == 1 and order["payload"]["attempt"] == 1
    debit_run(stack, collection)
    assert sum(len(o) for o in (await orders_of(stack, request_id)).values()) == 1

    # one trace: the operator's run's page (the CLI traces as the service does), the order sent by
    # debits' relay, read by the bank, its result read by debits, the plan's events published by
    # debits, read by requests and by debt
    traceparent = order["_traceparent"]
    assert traceparent, "the order carries its trace context"
    trace_id = traceparent.split("-")[1]
    results = await read_topic(
        stack.bootstrap,
        BANK_RESULTS.name,
        lambda r: any(order["payload"]["end_to_end_id"].encode() in x.value for x in r),
        key="1000106",
        timeout=SLOW,
    )
    [result] = [r for r in results if order["payload"]["end_to_end_id"].encode() in r.value]
    assert json.loads(result.value)["type"] == "banks.debit_executed"
    assert (header(result, "traceparent") or "").split("-")[1:2] == [trace_id]

    def hops() -> set[tuple[str, str]]:
        return {(s.service, s.name) for s in otlp.trace(trace_id)}

    async def whole_trace() -> bool:
        names = hops()
        return (
            ("debits", "debit-run page") in names
            and ("debits", f"{topic} publish") in names
            and any(service == "bank" and topic in name and "publish" not in name for service, name in names)
            and any(service == "bank" and BANK_RESULTS.name in name for service, name in names)
            and any(service == "debits" and BANK_RESULTS.name in name for service, name in names)
            and ("debits", f"{DEBITS_EVENTS.name} publish") in names
            and ("debt", f"{DEBITS_EVENTS.name} apply") in names
        )

    await eventually(whole_trace, timeout=60, interval=0.5)


async def test_installments_rejected_am04_once_are_presented_again_five_business_days_later(
    stack: RunningStack,
) -> None:
    employer = Employer(stack, "demo.affilie.019", REJECTED_ONCE_BY_BANK)
    request_id, _quote = await validated_installments(employer, installments=3)
    plan = await plan_of(employer, request_id)
    assert len(plan) >= 3 and all(d["state"] == "SCHEDULED" for d in plan)
    first = plan[0]
    collection = date.fromisoformat(first["collection_date"])

    debit_run(stack, collection)
    failed = (await answered(employer, request_id))[0]
    assert (failed["state"], failed["attempts"]) == ("FAILED", 1), failed
    again = date.fromisoformat(failed["next_attempt_on"])
    assert again == calendar().add_business_days(collection, 5)
    assert failed["history"][-1]["reason_code"] == "AM04" and not failed["history"][-1]["final"]
    assert (await employer.request(request_id))["state"] == "VALIDATED"  # nothing paid yet

    debit_run(stack, again)
    settled = (await answered(employer, request_id))[0]
    assert (settled["state"], settled["attempts"]) == ("SETTLED", 2), settled
    assert [h["to_state"] for h in settled["history"]] == ["SCHEDULED", "ORDERED", "FAILED", "ORDERED", "SETTLED"]
    assert (await request_reaches(employer, request_id, "IN_PROGRESS"))["state"] == "IN_PROGRESS"

    # the rest of the plan: each debit rejected once, then paid
    debits, _runs = await run_until_done(stack, employer, request_id)
    assert [(d["state"], d["attempts"]) for d in debits] == [("SETTLED", 2)] * len(debits)
    events = await events_until(stack, REJECTED_ONCE_BY_BANK, request_id, "debits.plan_completed")
    [completed] = [e for e in events if e["type"] == "debits.plan_completed"]
    assert Decimal(completed["payload"]["total_paid"]) == sum(Decimal(d["amount"]) for d in plan)
    assert (await request_reaches(employer, request_id, "COMPLETED"))["state"] == "COMPLETED"

    # two orders per debit (two attempts, two end-to-end ids), all on the debtor's bank's topic
    orders = await orders_of(stack, request_id)
    [(_topic, sent)] = orders.items()
    assert sorted((o["payload"]["sequence"], o["payload"]["attempt"]) for o in sent) == [
        (d["sequence"], attempt) for d in debits for attempt in (1, 2)
    ]
    assert len({o["payload"]["end_to_end_id"] for o in sent}) == len(sent)


async def test_an_ac04_rejection_defaults_the_plan_and_cancels_its_pending_debits(stack: RunningStack) -> None:
    employer = Employer(stack, "demo.groupe", REJECTED_BY_BANK)
    await employer.eligible()
    probe = await employer.simulate("INSTALLMENTS", installments=1)
    assert probe.status_code == 201, probe.text
    to_pay = Decimal(probe.json()["to_pay"])
    before = await debt_of(employer)  # what the affiliate owes before asking for anything
    # at least two debits, so that one is still pending when the first fails
    if to_pay >= 6000:
        request_id, quote = await validated_installments(employer, installments=2)
    else:
        request_id, quote = await validated_installments(employer, installments=1, advance=f"{to_pay - 3000:.2f}")
    eligible_periods = quote["eligible_periods"]
    assert summed(before, eligible_periods, "outstanding") == amounts(quote["eligible"])
    assert Decimal(quote["remise"]["total"]) > 0
    plan = await plan_of(employer, request_id)
    assert len(plan) >= 2

    # while the plan runs, debt shows the remission PENDING and deducts nothing yet
    pending = await remission_reaches(employer, request_id, "PENDING")
    assert amounts(pending["remission"]["remise"]) == amounts(quote["remise"])
    assert (pending["periods"], pending["totals"]) == (before["periods"], before["totals"])

    debit_run(stack, date.fromisoformat(plan[0]["collection_date"]))
    debits = await answered(employer, request_id)
    first, rest = debits[0], debits[1:]
    assert (first["state"], first["attempts"], first["next_attempt_on"]) == ("FAILED", 1, None), first
    assert first["history"][-1]["reason_code"] == "AC04" and first["history"][-1]["final"]
    assert all(d["state"] == "CANCELLED" and d["attempts"] == 0 for d in rest), rest

    events = await events_until(stack, REJECTED_BY_BANK, request_id, "debits.plan_defaulted")
    [defaulted] = [e for e in events if e["type"] == "debits.plan_defaulted"]
    assert defaulted["payload"]["cancelled_sequences"] == [d["sequence"] for d in rest]
    assert Decimal(defaulted["payload"]["paid_so_far"]) == 0
    assert (await request_reaches(employer, request_id, "DEFAULTED"))["state"] == "DEFAULTED"

    # debt: the remission REINSTATED, every remitted amount owed again exactly as before the request
    # (nothing was paid: the first debit was rejected)
    after = await remission_reaches(employer, request_id, "REINSTATED")
    remission = after["remission"]
    assert amounts(remission["remise"]) == amounts(quote["remise"])
    assert (remission["to_pay"], remission["paid"], remission["unapplied"]) == (quote["to_pay"], "0.00", "0.00")
    assert summed(after, eligible_periods, "outstanding") == amounts(quote["eligible"])
    assert after["periods"] == before["periods"]  # per period and category: due, paid, outstanding
    assert after["totals"] == before["totals"]

    # the cancelled debits are never sent, whatever runs come later
    debit_run(stack, max(date.fromisoformat(d["collection_date"]) for d in plan))
    orders = await orders_of(stack, request_id)
    [(_topic, sent)] = orders.items()
    assert [(o["payload"]["sequence"], o["payload"]["attempt"]) for o in sent] == [(first["sequence"], 1)]
    assert all(d["state"] in FINAL_STATES | {"FAILED"} for d in await debits_of(employer, request_id))


def test_every_bank_of_the_registry_has_its_order_topic() -> None:
    assert {t.name for t in BANK_ORDERS} == {orders_topic(code) for code in BANKS}
