"""The debits' state machine: ordering, results, re-presentation, completion and default."""

import re
import uuid
from datetime import date
from decimal import Decimal

import pytest

from contracts.calendar import BusinessCalendar
from contracts.programme import Representation
from services.debits.domain import debits as domain
from services.debits.domain.debits import Completed, Debit, Defaulted, TransitionRefused

CALENDAR = BusinessCalendar()
POLICY = Representation()  # AM04, MS02, MS03; once; 5 business days later
REQUEST = uuid.UUID("3f2b8c1a-9d4e-4f6a-8b7c-1d2e3f4a5b6c")
V = date(2026, 11, 28)
# 2027-01-10 is a Sunday and 2027-01-11 a public holiday (Manifeste de l'indépendance): the plan
# already moved that collection to Tuesday the 12th; 2027-04-10 is a Saturday, moved to Monday.
SCHEDULE = [
    (1, "ADVANCE", date(2026, 12, 10), date(2026, 12, 10), Decimal("4150.00")),
    (2, "INSTALLMENT", date(2027, 1, 10), date(2027, 1, 12), Decimal("3000.00")),
    (3, "INSTALLMENT", date(2027, 4, 10), date(2027, 4, 12), Decimal("3000.00")),
]


def plan() -> list[Debit]:
    return domain.schedule(SCHEDULE, V)  # type: ignore[arg-type]


def ordered(debit: Debit, on: date) -> tuple[Debit, str]:
    o = domain.order(REQUEST, debit, on, CALENDAR)
    return o.debit, o.end_to_end_id


def test_a_validated_plan_schedules_each_debit_for_its_collection_date() -> None:
    debits = plan()
    assert [(d.sequence, d.state, d.attempts, d.next_attempt_on) for d in debits] == [
        (1, "SCHEDULED", 0, date(2026, 12, 10)),
        (2, "SCHEDULED", 0, date(2027, 1, 12)),
        (3, "SCHEDULED", 0, date(2027, 4, 12)),
    ]
    changes = domain.scheduled_changes(debits, V)
    assert [(c.from_state, c.to_state) for c in changes] == [(None, "SCHEDULED")] * 3


def test_a_schedule_with_gaps_or_no_amount_is_refused() -> None:
    with pytest.raises(ValueError, match="numérotées"):
        domain.schedule([SCHEDULE[0], SCHEDULE[2]], V)  # type: ignore[list-item]
    with pytest.raises(ValueError, match="montant"):
        domain.schedule([(1, "FULL", date(2026, 12, 10), date(2026, 12, 10), Decimal("0.00"))], V)
    with pytest.raises(ValueError, match="un plan sans"):
        domain.schedule([], V)


def test_collection_on_a_sunday_and_holiday_or_a_saturday_is_already_moved_by_the_plan() -> None:
    _, second, third = plan()
    assert not domain.is_due(second, date(2027, 1, 11))  # the holiday: nothing is sent
    o = domain.order(REQUEST, second, date(2027, 1, 12), CALENDAR)
    assert o.requested_collection_date == date(2027, 1, 12)
    assert not domain.is_due(third, date(2027, 4, 10))  # the Saturday
    assert domain.order(REQUEST, third, date(2027, 4, 12), CALENDAR).requested_collection_date == date(2027, 4, 12)


def test_a_late_run_never_asks_for_a_date_already_past() -> None:
    first = plan()[0]
    # The service was down on the 10th; run on Saturday the 12th → the first business day after.
    o = domain.order(REQUEST, first, date(2026, 12, 12), CALENDAR)
    assert o.requested_collection_date == date(2026, 12, 14)


def test_a_debit_not_due_or_already_ordered_cannot_be_ordered() -> None:
    first = plan()[0]
    with pytest.raises(TransitionRefused):
        domain.order(REQUEST, first, date(2026, 12, 9), CALENDAR)
    sent, _ = ordered(first, date(2026, 12, 10))
    assert (sent.state, sent.attempts, sent.next_attempt_on) == ("ORDERED", 1, None)
    with pytest.raises(TransitionRefused):
        domain.order(REQUEST, sent, date(2026, 12, 10), CALENDAR)


def test_am04_once_then_paid_is_settled_with_two_attempts() -> None:
    sent, e2e_1 = ordered(plan()[0], date(2026, 12, 10))
    failed, change = domain.reject(sent, e2e_1, "AM04", date(2026, 12, 11), POLICY, CALENDAR)
    assert (failed.state, failed.attempts, change.final) == ("FAILED", 1, False)
    assert failed.next_attempt_on == change.next_attempt_on == date(2026, 12, 18)  # 5 business days later
    assert not failed.finally_failed and failed.pending
    assert not domain.is_due(failed, date(2026, 12, 17))
    again, e2e_2 = ordered(failed, date(2026, 12, 18))
    assert (again.state, again.attempts) == ("ORDERED", 2)
    assert e2e_2 != e2e_1
    paid, change = domain.settle(again, e2e_2, date(2026, 12, 18))
    assert (paid.state, paid.attempts, change.to_state, change.attempt) == ("SETTLED", 2, "SETTLED", 2)


def test_am04_twice_is_a_final_failure_that_defaults_the_plan_and_cancels_the_pending() -> None:
    first, second, third = plan()
    sent, e2e = ordered(first, date(2026, 12, 10))
    failed, _ = domain.reject(sent, e2e, "AM04", date(2026, 12, 11), POLICY, CALENDAR)
    again, e2e = ordered(failed, date(2026, 12, 18))
    final, change = domain.reject(again, e2e, "AM04", date(2026, 12, 21), POLICY, CALENDAR)
    assert (final.state, final.attempts, final.next_attempt_on, change.final) == ("FAILED", 2, None, True)
    assert final.finally_failed
    outcome = domain.conclude("ACTIVE", [final, second, third], date(2026, 12, 21))
    assert isinstance(outcome, Defaulted)
    assert [(d.sequence, d.state, d.next_attempt_on) for d in outcome.cancelled] == [
        (2, "CANCELLED", None),
        (3, "CANCELLED", None),
    ]
    assert [(c.from_state, c.to_state) for c in outcome.changes] == [("SCHEDULED", "CANCELLED")] * 2
    assert outcome.paid_so_far == Decimal("0.00")
    assert not any(domain.is_due(d, date(2027, 12, 31)) for d in outcome.cancelled)  # never sent


def test_ac04_is_final_at_once_and_payments_made_stay() -> None:
    first, second, third = plan()
    sent, e2e = ordered(first, date(2026, 12, 10))
    paid, _ = domain.settle(sent, e2e, date(2026, 12, 10))
    sent, e2e = ordered(second, date(2027, 1, 12))
    final, change = domain.reject(sent, e2e, "AC04", date(2027, 1, 13), POLICY, CALENDAR)
    assert change.final and change.reason_code == "AC04" and final.attempts == 1
    outcome = domain.conclude("ACTIVE", [paid, final, third], date(2027, 1, 13))
    assert isinstance(outcome, Defaulted)
    assert outcome.paid_so_far == Decimal("4150.00")
    assert [d.sequence for d in outcome.cancelled] == [3]


def test_a_debit_waiting_for_representation_is_cancelled_by_a_default() -> None:
    first, second, _ = plan()
    sent, e2e = ordered(second, date(2027, 1, 12))
    waiting, _ = domain.reject(sent, e2e, "MS02", date(2027, 1, 13), POLICY, CALENDAR)
    sent, e2e = ordered(first, date(2026, 12, 10))
    final, _ = domain.reject(sent, e2e, "MD01", date(2026, 12, 11), POLICY, CALENDAR)
    outcome = domain.conclude("ACTIVE", [final, waiting], date(2027, 1, 14))
    assert isinstance(outcome, Defaulted)
    assert [(c.sequence, c.from_state) for c in outcome.changes] == [(2, "FAILED")]


def test_a_policy_of_two_representations() -> None:
    policy = Representation(times=2, business_days_later=3)
    sent, e2e = ordered(plan()[0], date(2026, 12, 10))
    for attempt in (1, 2):
        failed, change = domain.reject(sent, e2e, "AM04", date(2026, 12, 11), policy, CALENDAR)
        assert not change.final and failed.attempts == attempt
        assert failed.next_attempt_on is not None
        sent, e2e = ordered(failed, failed.next_attempt_on)
    _, change = domain.reject(sent, e2e, "AM04", date(2026, 12, 24), policy, CALENDAR)
    assert change.final and sent.attempts == 3


def test_every_debit_settled_completes_the_plan() -> None:
    debits = []
    for debit in plan():
        assert debit.next_attempt_on is not None
        sent, e2e = ordered(debit, debit.next_attempt_on)
        debits.append(domain.settle(sent, e2e, debit.next_attempt_on)[0])
        done = domain.conclude("ACTIVE", debits + plan()[len(debits) :], date(2027, 4, 12))
        assert done is None if len(debits) < 3 else done == Completed(Decimal("10150.00"))
    assert domain.conclude("COMPLETED", debits, date(2027, 4, 12)) is None  # over already


def test_a_result_for_a_debit_not_ordered_is_refused() -> None:
    first = plan()[0]
    with pytest.raises(TransitionRefused):
        domain.settle(first, "X", date(2026, 12, 10))
    with pytest.raises(TransitionRefused):
        domain.reject(first, "X", "AM04", date(2026, 12, 10), POLICY, CALENDAR)


def test_end_to_end_ids_are_unique_per_request_installment_and_attempt() -> None:
    ids = {
        domain.end_to_end_id(request, sequence, attempt)
        for request in [REQUEST, uuid.UUID(int=0), uuid.UUID(int=2**128 - 1), *(uuid.uuid4() for _ in range(50))]
        for sequence in (1, 2, 12, 121)
        for attempt in (1, 2, 3)
    }
    assert len(ids) == 53 * 4 * 3
    for e2e in ids:
        assert re.fullmatch(r"[A-Za-z0-9-]{1,35}", e2e), e2e
    # Two requests whose ids share their first 8 hex characters still get different ids.
    twin = uuid.UUID(str(REQUEST)[:8] + "-0000-4000-8000-000000000000")
    assert domain.end_to_end_id(REQUEST, 1, 1) != domain.end_to_end_id(twin, 1, 1)
    assert domain.end_to_end_id(REQUEST, 2, 1) == domain.end_to_end_id(REQUEST, 2, 1)  # deterministic
    assert len(domain.end_to_end_id(uuid.UUID(int=2**128 - 1), 999, 99)) <= 35
    assert re.fullmatch(r"MDT-[0-9A-Z]{25}", domain.mandate_id(REQUEST))
    with pytest.raises(ValueError):
        domain.end_to_end_id(REQUEST, 1000, 1)
