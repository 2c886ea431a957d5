"""Hypothesis strategies for consolidated positions, shared by the debt unit tests."""

from datetime import date
from decimal import Decimal

from hypothesis import strategies as st

from services.debt.domain.position import CATEGORIES, Arrangement, Line, PeriodBalance

amounts = st.decimals(min_value=Decimal("0.00"), max_value=Decimal("99999999999.99"), places=2)
periods = st.builds(lambda y, m: f"{y}-{m:02d}", st.integers(2015, 2026), st.integers(1, 12))
balances = st.builds(
    PeriodBalance,
    period=periods,
    lines=st.fixed_dictionaries({c: st.builds(Line, due=amounts, paid=amounts) for c in CATEGORIES}),
    principal_paid_on=st.none() | st.dates(date(2015, 1, 1), date(2027, 12, 31)),
)
period_lists = st.lists(balances, max_size=30, unique_by=lambda b: b.period)
arrangements = st.none() | st.builds(
    Arrangement,
    arrangement_id=st.text("ABC-0123456789", min_size=1, max_size=20),
    perception_code=st.sampled_from(["FES-01", "CAS-01"]),
    perception_name=st.sampled_from(["Perception Fès Saïs", "Perception Casablanca Anfa"]),
    opened_on=st.dates(date(2015, 1, 1), date(2026, 12, 31)),
)
