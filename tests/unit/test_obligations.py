"""Article 2 to the day: current contributions during a plan, notice, cure, default.

The programme's terms (DEC-05-2023): due on the 10th of the month after the period (the next
business day when the 10th is not one), 15 days of grace, 30 days to cure after the breach.

Worked example used throughout: a plan validated V = 2027-01-20; period 2027-04.
  due      = 2027-05-10 (a Monday, a business day)
  breach   = due + 15 days           = 2027-05-25 (last day of grace)
  notice   = the day after           = 2027-05-26
  deadline = breach + 30 days        = 2027-06-24 (last day to cure)
  default  = the day after deadline  = 2027-06-25
"""

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from contracts.calendar import BusinessCalendar
from contracts.programme import shipped_programme
from services.requests.domain.obligations import (
    Contribution,
    Notice,
    breach_on,
    due_on,
    evaluate,
    health,
    watched,
)

TERMS = shipped_programme("DEC-05-2023").contributions
CALENDAR = BusinessCalendar()
V = date(2027, 1, 20)
PERIOD = "2027-04"
AMOUNT = Decimal("12345.67")


def unpaid(period: str = PERIOD, amount: Decimal = AMOUNT) -> Contribution:
    return Contribution(period, amount, amount, None)


def paid(on: date, period: str = PERIOD, amount: Decimal = AMOUNT) -> Contribution:
    return Contribution(period, amount, Decimal("0.00"), on)


def run(contribution: Contribution, days: list[date]) -> tuple[dict[str, Notice], list[str]]:
    """Sweeps as of each day in turn, applying what each decides: the notices and what happened."""
    notices: dict[str, Notice] = {}
    said: list[str] = []
    for day in days:
        verdict = evaluate(V, [contribution], notices, TERMS, CALENDAR, day)
        for n in verdict.noticed:
            notices[n.period] = n
            said.append(f"{day} notice until {n.cure_deadline}")
        for n in verdict.cured:
            notices[n.period] = n
            said.append(f"{day} cured on {n.cured_on}")
        if verdict.defaulted:
            said.append(f"{day} default {verdict.defaulted.period}")
            break
    return notices, said


def test_the_worked_dates() -> None:
    assert due_on(PERIOD, TERMS, CALENDAR) == date(2027, 5, 10)
    assert breach_on(PERIOD, TERMS, CALENDAR) == date(2027, 5, 25)
    # 2027-03-10 is a holiday here (Aïd al-Fitr in the calendar): period 2027-02 is due the day after.
    assert due_on("2027-02", TERMS, CALENDAR) == date(2027, 3, 11)
    # December's contributions are due in January of the next year; 2027-01-10 is a Sunday and the
    # 11th the Manifeste de l'indépendance: the 12th.
    assert due_on("2026-12", TERMS, CALENDAR) == date(2027, 1, 12)


def test_only_periods_after_the_validation_month_are_watched() -> None:
    assert not watched("2027-01", V)  # V's own month: its contributions were owed before the plan
    assert watched("2027-02", V)
    assert not watched("2026-12", V)
    # V's month unpaid for years changes nothing here (it is in the debt, not an article 2 breach).
    verdict = evaluate(V, [unpaid("2027-01")], {}, TERMS, CALENDAR, date(2028, 1, 1))
    assert (verdict.noticed, verdict.defaulted) == ([], None)


def test_paid_on_the_last_day_of_grace_the_plan_goes_on_without_notice() -> None:
    notices, said = run(paid(date(2027, 5, 25)), [date(2027, 5, 25), date(2027, 5, 26), date(2027, 7, 1)])
    assert (notices, said) == ({}, [])


def test_unpaid_on_the_last_day_of_grace_nothing_yet_the_next_day_a_notice() -> None:
    verdict = evaluate(V, [unpaid()], {}, TERMS, CALENDAR, date(2027, 5, 25))
    assert verdict.noticed == []
    verdict = evaluate(V, [unpaid()], {}, TERMS, CALENDAR, date(2027, 5, 26))
    assert verdict.noticed == [Notice(PERIOD, AMOUNT, date(2027, 5, 10), date(2027, 5, 26), date(2027, 6, 24))]


def test_paid_during_the_cure_window_the_plan_goes_on_with_the_notice_in_its_history() -> None:
    # Paid 2027-06-10 (booked with that date): the sweep of 06-10 sees it and records the cure.
    notices, said = run(paid(date(2027, 6, 10)), [date(2027, 5, 26), date(2027, 6, 9), date(2027, 6, 10)])
    assert said == ["2027-05-26 notice until 2027-06-24", "2027-06-10 cured on 2027-06-10"]
    assert notices[PERIOD].cured_on == date(2027, 6, 10)
    # Nothing more afterwards, whatever the day.
    assert evaluate(V, [paid(date(2027, 6, 10))], notices, TERMS, CALENDAR, date(2027, 12, 31)).defaulted is None


def test_paid_on_the_deadline_but_seen_the_day_after_is_cured_not_defaulted() -> None:
    _notices, said = run(paid(date(2027, 6, 24)), [date(2027, 5, 26), date(2027, 6, 25)])
    assert said == ["2027-05-26 notice until 2027-06-24", "2027-06-25 cured on 2027-06-24"]


def test_never_paid_defaults_the_day_after_the_cure_deadline() -> None:
    _notices, said = run(unpaid(), [date(2027, 5, 26), date(2027, 6, 24), date(2027, 6, 25)])
    assert said == ["2027-05-26 notice until 2027-06-24", "2027-06-25 default 2027-04"]


def test_paid_the_day_after_the_deadline_is_too_late() -> None:
    _, said = run(paid(date(2027, 6, 25)), [date(2027, 5, 26), date(2027, 6, 25)])
    assert said[-1] == "2027-06-25 default 2027-04"


def test_partly_paid_is_unpaid() -> None:
    partly = Contribution(PERIOD, AMOUNT, Decimal("0.01"), date(2027, 5, 20))
    _, said = run(partly, [date(2027, 5, 26), date(2027, 6, 25)])
    assert said == ["2027-05-26 notice until 2027-06-24", "2027-06-25 default 2027-04"]


def test_a_late_notice_still_leaves_the_whole_cure_window() -> None:
    # The sweep first runs on 2027-06-20 (or the charge was booked late): the deadline is 30 days
    # after the day before the notice, 2027-06-19 + 30 = 2027-07-19, not 2027-06-24.
    verdict = evaluate(V, [unpaid()], {}, TERMS, CALENDAR, date(2027, 6, 20))
    assert [n.cure_deadline for n in verdict.noticed] == [date(2027, 7, 19)]
    assert verdict.defaulted is None


def test_a_replayed_sweep_sees_a_payment_by_its_date() -> None:
    # Paid 2027-06-10, but the sweep is replayed as of 2027-05-26: then it was unpaid.
    verdict = evaluate(V, [paid(date(2027, 6, 10))], {}, TERMS, CALENDAR, date(2027, 5, 26))
    assert [n.period for n in verdict.noticed] == [PERIOD]
    assert verdict.cured == []


def test_the_earliest_period_defaults_the_plan_once() -> None:
    contributions = [unpaid("2027-04"), unpaid("2027-03")]
    notices = {c.period: evaluate(V, [c], {}, TERMS, CALENDAR, date(2027, 6, 1)).noticed[0] for c in contributions}
    verdict = evaluate(V, contributions, notices, TERMS, CALENDAR, date(2027, 12, 1))
    assert verdict.defaulted is not None and verdict.defaulted.period == "2027-03"


def test_a_charge_gone_from_the_ledger_cures_its_notice() -> None:
    notice = evaluate(V, [unpaid()], {}, TERMS, CALENDAR, date(2027, 5, 26)).noticed[0]
    verdict = evaluate(V, [], {PERIOD: notice}, TERMS, CALENDAR, date(2027, 6, 1))
    assert [(n.period, n.cured_on) for n in verdict.cured] == [(PERIOD, date(2027, 6, 1))]


def test_health_shows_every_current_period_in_its_state() -> None:
    contributions = [
        paid(date(2027, 3, 1), "2027-02"),
        unpaid("2027-03"),
        unpaid("2027-04"),
        unpaid("2027-05"),
        unpaid("2027-01"),  # V's month: not shown
    ]
    # 2027-03: due 2027-04-12 (the 10th is a Saturday), breach 04-27, noticed 04-28, deadline 05-27.
    notice = evaluate(V, [unpaid("2027-03")], {}, TERMS, CALENDAR, date(2027, 4, 28)).noticed[0]
    assert notice.cure_deadline == date(2027, 5, 27)
    assert health(V, contributions, {"2027-03": notice}, TERMS, CALENDAR, date(2027, 5, 27))[1].state == "noticed"
    shown = health(V, contributions, {"2027-03": notice}, TERMS, CALENDAR, date(2027, 5, 28))
    assert [(h.period, h.state) for h in shown] == [
        ("2027-02", "paid"),
        ("2027-03", "unpaid"),  # deadline 05-27 passed unpaid: the sweep defaults the plan
        ("2027-04", "overdue"),  # past its grace (05-25), the notice comes with the next sweep
        ("2027-05", "upcoming"),  # due 2027-06-10
    ]
    assert shown[1].cure_deadline == notice.cure_deadline
    # Paid the day after the deadline: too late, as the sweep decides; the page does not say otherwise.
    late = [paid(date(2027, 5, 28), "2027-03")]
    assert [h.state for h in health(V, late, {"2027-03": notice}, TERMS, CALENDAR, date(2027, 5, 28))] == ["unpaid"]


days = st.integers(0, 120).map(lambda n: date(2027, 5, 10) + timedelta(days=n))


@given(payment=st.none() | days, sweeps=st.lists(days, min_size=1, max_size=12, unique=True))
def test_the_plan_defaults_exactly_when_unpaid_by_the_deadline(payment: date | None, sweeps: list[date]) -> None:
    """Whatever days the sweep runs: no notice before the day after grace, none when paid by the end
    of grace as seen on the first sweep after it, and a default only after the deadline, unpaid."""
    sweeps.sort()
    contribution = paid(payment) if payment else unpaid()
    notices, said = run(contribution, sweeps)
    notice = notices.get(PERIOD)
    breach = date(2027, 5, 25)
    if notice is not None:
        assert notice.noticed_on > breach
        assert notice.cure_deadline >= max(breach, notice.noticed_on - timedelta(days=1)) + timedelta(days=30)
    defaulted = [s for s in said if "default" in s]
    if defaulted:
        assert notice is not None
        day = date.fromisoformat(defaulted[0][:10])
        assert day > notice.cure_deadline
        assert payment is None or payment > notice.cure_deadline
    if payment is not None and payment <= breach:
        assert said == []
