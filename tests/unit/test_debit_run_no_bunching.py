"""One debit per plan per run; a late plan slides, it never bunches (issue 13, ``domain.debits.run_plan``).

Seen: a deposit dated 400 days back validated a plan with V in the past, and the next run ordered
every overdue installment on the same day. Whatever the schedule and whatever the run dates (a run
months late, runs every day, a re-presentation waiting when the next installment falls due), a run
orders at most one debit of a plan, leaves none of it due, moves the rest forward by whole months
keeping one debit a month, and loses nothing: every debit is ordered in the end, the amounts
unchanged to the centime.
"""

import uuid
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.calendar import BusinessCalendar, due_dates
from contracts.programme import Representation
from services.debits.domain import debits as domain
from services.debits.domain.debits import Debit

CALENDAR = BusinessCalendar()
POLICY = Representation()  # AM04, MS02, MS03 presented once more, 5 business days later
REQUEST = uuid.UUID("3f2b8c1a-9d4e-4f6a-8b7c-1d2e3f4a5b6c")
DEBIT_DAY = 10


def plan_of(validation: date, amounts: list[Decimal], advance: bool) -> list[Debit]:
    """A plan as requests sends it: dated from V, each collection on the next business day."""
    kinds = (["ADVANCE"] if advance else []) + ["INSTALLMENT"] * (len(amounts) - advance)
    if len(amounts) == 1 and not advance:
        kinds = ["FULL"]
    dues = due_dates(validation, len(amounts), DEBIT_DAY)
    items = [
        (k + 1, kind, due, CALENDAR.on_or_after(due), amount)
        for k, (kind, due, amount) in enumerate(zip(kinds, dues, amounts, strict=True))
    ]
    return domain.schedule(items, validation)  # type: ignore[arg-type]


amounts = st.lists(
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999999.99"), places=2, allow_nan=False),
    min_size=1,
    max_size=36,
)
validations = st.dates(min_value=date(2024, 1, 1), max_value=date(2030, 12, 31))


def total(debits: list[Debit]) -> Decimal:
    return sum((d.amount for d in debits), Decimal("0.00"))


def months(day: date) -> int:
    return day.year * 12 + day.month


def apply(debits: list[Debit], step: domain.RunStep) -> list[Debit]:
    changed = {d.sequence: d for d, _ in step.moved}
    if step.ordering is not None:
        changed[step.ordering.debit.sequence] = step.ordering.debit
    return [changed.get(d.sequence, d) for d in debits]


def check_run(before: list[Debit], step: domain.RunStep, on: date) -> list[Debit]:
    """The invariants of one run; returns the plan after it."""
    after = apply(before, step)
    # nothing lost, nothing merged, no amount changed
    assert [(d.sequence, d.kind, d.amount) for d in after] == [(d.sequence, d.kind, d.amount) for d in before]
    assert total(after) == total(before)
    # at most one order: the earliest due debit
    due = [d for d in before if domain.is_due(d, on)]
    if step.ordering is None:
        assert not due and not step.moved
    else:
        assert step.ordering.debit.sequence == min(d.sequence for d in due)
        assert step.ordering.requested_collection_date >= on
    # none of the plan is due any more on that date: a second run that day orders nothing
    assert not [d for d in after if domain.is_due(d, on)]
    assert domain.run_plan(REQUEST, after, on, CALENDAR) == domain.RunStep(None, [])
    # moved only when two or more were due; moved forward, after the run's month, with a history line
    if len(due) < 2:
        assert step.moved == []
    for moved, change in step.moved:
        old = next(d for d in before if d.sequence == moved.sequence)
        assert moved.state == old.state and moved.attempts == old.attempts
        assert moved.next_attempt_on is not None and old.next_attempt_on is not None
        assert moved.next_attempt_on > on and moved.next_attempt_on > old.next_attempt_on
        assert moved.collection_date >= moved.due_date >= old.due_date
        assert (change.from_state, change.to_state, change.next_attempt_on) == (
            old.state,
            old.state,
            moved.next_attempt_on,
        )
        assert 0 < len(change.reason) <= 500
    if step.moved:
        assert step.ordering is not None
        first_after = min(months(d.next_attempt_on) for d, _ in step.moved if d.next_attempt_on)
        assert first_after > months(step.ordering.requested_collection_date)
    # the schedule still to be sent keeps one debit a month, in sequence order, on its debit day
    waiting = sorted((d for d in after if d.state == "SCHEDULED"), key=lambda d: d.sequence)
    assert [d.due_date for d in waiting] == sorted(d.due_date for d in waiting)
    assert len({months(d.due_date) for d in waiting}) == len(waiting)
    assert all(d.due_date.day == DEBIT_DAY and d.collection_date == CALENDAR.on_or_after(d.due_date) for d in waiting)
    return after


@settings(max_examples=300, deadline=None)
@given(validation=validations, amounts=amounts, advance=st.booleans(), late_days=st.integers(0, 3 * 366))
def test_any_run_date_orders_at_most_one_debit_of_a_plan_and_moves_the_rest_forward(
    validation: date, amounts: list[Decimal], advance: bool, late_days: int
) -> None:
    plan = plan_of(validation, amounts, advance and len(amounts) > 1)
    on = plan[0].collection_date + timedelta(days=late_days)
    step = domain.run_plan(REQUEST, plan, on, CALENDAR)
    after = check_run(plan, step, on)
    overdue = [d for d in plan if d.next_attempt_on is not None and d.next_attempt_on <= on]
    assert step.ordering is not None and step.ordering.debit.sequence == 1
    # the later debits all moved by the same number of months (they were due or not), or none moved
    if len(overdue) > 1:
        shifts = {months(a.due_date) - months(b.due_date) for a, b in zip(after[1:], plan[1:], strict=True)}
        assert len(shifts) == 1 and shifts.pop() >= 1
        assert len(step.moved) == len(plan) - 1
    else:
        assert after[1:] == plan[1:]


@st.composite
def lives(draw: st.DrawFn) -> tuple[list[Debit], list[int], list[str]]:
    """A plan, the gaps between its runs (days: often daily, sometimes months of outage) and what
    the bank answers to each order (paid at once, paid later, AM04 then re-presented)."""
    plan = plan_of(draw(validations), draw(amounts), draw(st.booleans()))
    gaps = draw(st.lists(st.one_of(st.integers(1, 3), st.integers(1, 200)), min_size=1, max_size=80))
    answers = draw(st.lists(st.sampled_from(["paid", "paid-later", "am04"]), min_size=1, max_size=80))
    return plan, gaps, answers


@settings(max_examples=200, deadline=None)
@given(life=lives(), start_late=st.integers(-40, 500))
def test_runs_over_a_plans_life_order_every_debit_once_and_never_two_in_one_run(
    life: tuple[list[Debit], list[int], list[str]], start_late: int
) -> None:
    plan, gaps, answers = life
    debits, on = plan, plan[0].collection_date + timedelta(days=start_late)
    ordered: Counter[tuple[int, int]] = Counter()
    in_flight: dict[int, tuple[str, date]] = {}  # sequence -> (e2e id, when the bank answers)
    answered = 0
    for day in range(20_000):  # a bound: every plan here ends long before
        # the bank answers what is due by today
        for sequence, (e2e, when) in sorted(in_flight.items()):
            if when > on:
                continue
            del in_flight[sequence]
            debit = next(d for d in debits if d.sequence == sequence)
            answer = answers[answered % len(answers)]
            answered += 1
            if answer == "am04" and domain.will_represent("AM04", debit.attempts, POLICY):
                changed, _ = domain.reject(debit, e2e, "AM04", on, POLICY, CALENDAR)
            else:
                changed, _ = domain.settle(debit, e2e, on)
            debits = [changed if d.sequence == sequence else d for d in debits]
        step = domain.run_plan(REQUEST, debits, on, CALENDAR)
        debits = check_run(debits, step, on)
        if step.ordering is not None:
            o = step.ordering
            ordered[(o.debit.sequence, o.attempt)] += 1
            later = on + timedelta(days=3 if answers[answered % len(answers)] == "paid-later" else 0)
            in_flight[o.debit.sequence] = (o.end_to_end_id, later)
        if all(d.state == "SETTLED" for d in debits):
            break
        on += timedelta(days=gaps[day % len(gaps)])
    else:
        raise AssertionError("the plan never ended")
    # every debit ordered, each attempt once, all paid: the plan's whole amount, to the centime
    assert set(ordered.values()) == {1}
    assert {sequence for sequence, _ in ordered} == {d.sequence for d in plan}
    assert total(debits) == total(plan)
    assert domain.conclude("ACTIVE", debits, on) == domain.Completed(total(plan))


def test_a_plan_three_months_late_orders_its_oldest_installment_and_slides_the_rest() -> None:
    """The example of the module docstring, by hand: V on 2026-12-15, first due 2027-01-10; the run
    of 2027-04-12 (the service down since January) finds four debits due."""
    plan = plan_of(date(2026, 12, 15), [Decimal("1000.00"), *[Decimal("4100.00")] * 5], advance=True)
    step = domain.run_plan(REQUEST, plan, date(2027, 4, 12), CALENDAR)
    assert step.ordering is not None
    assert (step.ordering.debit.sequence, step.ordering.requested_collection_date) == (1, date(2027, 4, 12))
    moved = [(d.sequence, d.due_date, d.collection_date) for d, _ in step.moved]
    # February..June slide by three months: one a month from May, the plan ends in September
    assert moved == [
        (2, date(2027, 5, 10), date(2027, 5, 10)),
        (3, date(2027, 6, 10), date(2027, 6, 10)),
        (4, date(2027, 7, 10), date(2027, 7, 12)),  # a Saturday
        (5, date(2027, 8, 10), date(2027, 8, 10)),
        (6, date(2027, 9, 10), date(2027, 9, 10)),
    ]
    assert step.moved[0][1].reason.startswith("échéance reportée du 2027-02-10 au 2027-05-10")


def test_a_re_presentation_waiting_when_the_next_installment_falls_due_goes_first() -> None:
    """The run of the re-presentation's day was missed: both are due; the older one is presented,
    the installment and the rest slide a month."""
    plan = plan_of(date(2026, 11, 28), [Decimal("4150.00"), Decimal("3000.00"), Decimal("3000.00")], advance=True)
    first = domain.order(REQUEST, plan[0], date(2026, 12, 10), CALENDAR)
    failed, _ = domain.reject(first.debit, first.end_to_end_id, "AM04", date(2027, 1, 5), POLICY, CALENDAR)
    assert failed.next_attempt_on == date(2027, 1, 13)  # 5 business days: the 11th is a holiday
    debits = [failed, *plan[1:]]
    step = domain.run_plan(REQUEST, debits, date(2027, 1, 14), CALENDAR)
    assert step.ordering is not None and (step.ordering.debit.sequence, step.ordering.attempt) == (1, 2)
    assert [(d.sequence, d.due_date, d.next_attempt_on) for d, _ in step.moved] == [
        (2, date(2027, 2, 10), date(2027, 2, 10)),
        (3, date(2027, 3, 10), date(2027, 3, 11)),  # Aïd al-Fitr in the calendar (estimated)
    ]


def test_plus_months_keeps_the_day_or_takes_the_months_last() -> None:
    assert domain.plus_months(date(2027, 1, 31), 1) == date(2027, 2, 28)
    assert domain.plus_months(date(2027, 12, 10), 3) == date(2028, 3, 10)
