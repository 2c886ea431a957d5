"""The follow-up of orders a bank has not answered: wait, send the same message again, then flag."""

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from contracts.calendar import BusinessCalendar
from services.debits.domain.debits import end_to_end_id, order_event_id
from services.debits.domain.follow_up import FollowUpPolicy, Unanswered, answer_expected_by, decide, flagged, resent

CALENDAR = BusinessCalendar()
POLICY = FollowUpPolicy(wait_business_days=3, resends=2)
THURSDAY = date(2026, 12, 10)


def order(resends: int = 0, resent_on: date | None = None, flagged_on: date | None = None) -> Unanswered:
    return Unanswered("E2E-1-1", 1, 1, THURSDAY, resends, resent_on, flagged_on)


def test_an_order_waits_three_business_days_after_its_collection_date() -> None:
    assert answer_expected_by(order(), CALENDAR, POLICY) == date(2026, 12, 15)  # Fri, Mon, Tue
    assert decide(order(), date(2026, 12, 15), CALENDAR, POLICY) == "wait"
    assert decide(order(), date(2026, 12, 16), CALENDAR, POLICY) == "resend"


def test_each_sending_again_restarts_the_wait_and_the_last_one_is_followed_by_a_flag() -> None:
    once = order(resends=1, resent_on=date(2026, 12, 16))
    assert decide(once, date(2026, 12, 21), CALENDAR, POLICY) == "wait"
    assert decide(once, date(2026, 12, 22), CALENDAR, POLICY) == "resend"
    twice = order(resends=2, resent_on=date(2026, 12, 22))
    assert decide(twice, date(2026, 12, 25), CALENDAR, POLICY) == "wait"
    assert decide(twice, date(2026, 12, 28), CALENDAR, POLICY) == "flag"
    # Flagged once: a human has it; the follow-up says nothing more.
    assert decide(order(2, date(2026, 12, 22), date(2026, 12, 28)), date(2027, 3, 1), CALENDAR, POLICY) == "wait"
    assert decide(order(), date(2026, 12, 16), CALENDAR, FollowUpPolicy(3, resends=0)) == "flag"


def test_history_lines_say_what_happened_with_the_same_end_to_end_id() -> None:
    line = resent(order(), date(2026, 12, 16), POLICY)
    assert (line.from_state, line.to_state, line.attempt, line.end_to_end_id) == ("ORDERED", "ORDERED", 1, "E2E-1-1")
    assert "envoyé de nouveau le 2026-12-16" in line.reason and "(1/2)" in line.reason
    assert "signalé aux opérateurs" in flagged(order(2, date(2026, 12, 22)), POLICY).reason


@given(
    st.uuids(),
    st.integers(1, 999),
    st.integers(1, 99),
    st.uuids(),
    st.integers(1, 999),
    st.integers(1, 99),
)
def test_one_event_id_per_order_and_only_one(r1, s1, a1, r2, s2, a2) -> None:  # type: ignore[no-untyped-def]
    e1, e2 = end_to_end_id(r1, s1, a1), end_to_end_id(r2, s2, a2)
    assert order_event_id(e1) == order_event_id(e1)
    assert (order_event_id(e1) == order_event_id(e2)) == (e1 == e2)


@given(st.dates(date(2026, 1, 1), date(2030, 12, 31)), st.integers(0, 5), st.integers(1, 10))
def test_never_followed_up_before_its_collection_date_plus_the_wait(collection, resends, wait) -> None:  # type: ignore[no-untyped-def]
    policy = FollowUpPolicy(wait, resends=5)
    pending = Unanswered("E", 1, 1, collection, resends, collection if resends else None, None)
    for days in range(0, wait + 1):
        assert decide(pending, collection + timedelta(days=days), CALENDAR, policy) == "wait"
