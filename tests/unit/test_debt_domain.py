"""The consolidated debt's arithmetic, to the centime."""

from collections import defaultdict
from datetime import date
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from services.debt.domain.ledger import COLUMNS, Booking, balance_deltas, principal_paid_dates
from services.debt.domain.position import CATEGORIES, Line, PeriodBalance, Position, is_eligible

amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("9999999.99"), places=2)
periods = st.builds(lambda y, m: f"{y}-{m:02d}", st.integers(2015, 2026), st.integers(1, 12))
bookings = st.builds(
    Booking,
    affiliate=st.sampled_from(["1000001", "1000002"]),
    period=periods,
    category=st.sampled_from(CATEGORIES),
    side=st.sampled_from(["due", "paid"]),
    amount=amounts,
    on=st.none() | st.dates(date(2015, 1, 1), date(2027, 12, 31)),
)


def test_eligibility_stops_at_the_cutoff_month() -> None:
    assert is_eligible("2024-12", "2024-12")
    assert is_eligible("2015-01", "2024-12")
    assert not is_eligible("2025-01", "2024-12")


@given(st.lists(bookings, max_size=60))
def test_deltas_carry_every_centime_exactly_once(items: list[Booking]) -> None:
    deltas = balance_deltas(items)
    expected: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
    for b in items:
        expected[(b.affiliate, b.period, f"{b.category}_{b.side}")] += b.amount
    for (affiliate, period), row in deltas.items():
        assert set(row) == set(COLUMNS)
        for column, value in row.items():
            assert value == expected.get((affiliate, period, column), Decimal("0"))
    assert sum(sum(row.values()) for row in deltas.values()) == sum((b.amount for b in items), Decimal("0"))


@given(st.lists(bookings, max_size=60))
def test_deltas_do_not_depend_on_arrival_order(items: list[Booking]) -> None:
    assert balance_deltas(items) == balance_deltas(list(reversed(items)))


@given(st.lists(bookings, max_size=60))
def test_a_periods_principal_is_paid_on_its_latest_payments_date(items: list[Booking]) -> None:
    latest = principal_paid_dates(items)
    for (affiliate, period), day in latest.items():
        dated = [
            b.on
            for b in items
            if (b.affiliate, b.period, b.category, b.side) == (affiliate, period, "principal", "paid")
        ]
        assert day == max(d for d in dated if d is not None)
    # Only principal payments count: a charge or a majoration paid says nothing of the contributions.
    assert set(latest) == {
        (b.affiliate, b.period) for b in items if b.category == "principal" and b.side == "paid" and b.on is not None
    }
    assert principal_paid_dates(items) == principal_paid_dates(list(reversed(items)))


lines = st.builds(Line, due=amounts, paid=amounts)
balances = st.builds(PeriodBalance, period=periods, lines=st.fixed_dictionaries({c: lines for c in CATEGORIES}))


@given(st.lists(balances, max_size=40, unique_by=lambda b: b.period), periods)
def test_totals_split_outstanding_at_the_cutoff(items: list[PeriodBalance], cutoff: str) -> None:
    position = Position.of("1000001", 3, items, None)
    totals = position.totals(cutoff)
    for category in CATEGORIES:
        eligible = sum((b.line(category).outstanding for b in items if b.period <= cutoff), Decimal("0"))
        other = sum((b.line(category).outstanding for b in items if b.period > cutoff), Decimal("0"))
        assert totals.eligible[category] == eligible
        assert totals.non_eligible[category] == other
    assert [p.period for p in position.periods] == sorted(b.period for b in items)


def test_outstanding_is_due_minus_paid() -> None:
    assert Line(Decimal("1000.10"), Decimal("999.99")).outstanding == Decimal("0.11")
    assert PeriodBalance("2020-01", {}).line("frais") == Line()
