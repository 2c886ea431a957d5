"""For any debt and any parameters the programme allows, the quote keeps its promises to the centime."""

import itertools
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from contracts.calendar import BusinessCalendar
from contracts.money import ZERO, round_down, round_half_up
from contracts.programme import Programme, load_programme, shipped_programme
from contracts.refusals import Refusal
from contracts.simulation import QuoteTerms
from services.simulation.domain.eligible_debt import EligibleDebt, Outstanding, eligible_debt
from services.simulation.domain.quote_terms import max_installments_for, offered_installments, quote_terms, to_pay_of

DEC = shipped_programme("DEC-05-2023")
FICTIF = load_programme(Path(__file__).parents[1] / "data" / "programme-fictif.json")
LACUNES = load_programme(Path(__file__).parents[1] / "data" / "programme-lacunes.json")  # no tier for 24
CALENDARS = {p.code: BusinessCalendar(p.extra_holidays) for p in (DEC, FICTIF, LACUNES)}

amounts = st.one_of(
    st.decimals(min_value=Decimal("0.00"), max_value=Decimal("2000000.00"), places=2),
    st.decimals(min_value=Decimal("0.00"), max_value=Decimal("999.99"), places=2),
    st.just(Decimal("0.00")),
    st.decimals(min_value=Decimal("-500.00"), max_value=Decimal("-0.01"), places=2),  # overpaid period
)
periods = st.builds(lambda y, m: f"{y}-{m:02d}", st.integers(2015, 2026), st.integers(1, 12))
outstanding = st.lists(
    st.builds(Outstanding, period=periods, principal=amounts, majorations=amounts, astreintes=amounts, frais=amounts),
    max_size=24,
    unique_by=lambda r: r.period,
)
programmes = st.sampled_from([DEC, FICTIF, LACUNES])
validation_dates = st.dates(date(2024, 1, 1), date(2031, 12, 31))


def bases(debt: EligibleDebt) -> tuple[Decimal, Decimal, Decimal]:
    return max(debt.majorations, ZERO), max(debt.frais, ZERO), max(debt.astreintes, ZERO)


def check_terms(programme: Programme, debt: EligibleDebt, terms: QuoteTerms, v: date) -> None:
    # What the service stores and sends reads back as the same quote.
    assert QuoteTerms.model_validate_json(terms.model_dump_json()) == terms
    rates = terms.rates
    m, f, a = bases(debt)
    # remise per category = round_half_up(rate x amount), on the category totals; principal never
    assert terms.remise.majorations == round_half_up(m * rates.majorations)
    assert terms.remise.frais == round_half_up(f * rates.frais)
    assert terms.remise.astreintes == round_half_up(a * rates.astreintes)
    assert terms.remise.principal == ZERO
    assert terms.remise.total == terms.remise.majorations + terms.remise.frais + terms.remise.astreintes
    # to_pay + remise = the eligible total
    eligible = terms.eligible
    assert terms.to_pay + terms.remise.total == (
        eligible.principal + eligible.majorations + eligible.frais + eligible.astreintes
    )
    # the schedule sums to to_pay, to the centime
    assert sum((d.amount for d in terms.schedule), ZERO) == terms.to_pay
    assert [d.sequence for d in terms.schedule] == list(range(1, len(terms.schedule) + 1))
    installments = [d for d in terms.schedule if d.kind == "INSTALLMENT"]
    if terms.modality == "INSTALLMENTS":
        assert len(installments) == terms.installments
        assert all(d.amount >= programme.minimum_installment for d in installments)
        assert all(d.amount == installments[0].amount for d in installments[:-1])
        assert installments[-1].amount >= installments[0].amount
        assert terms.tier == programme.tier("INSTALLMENTS", terms.installments).code
        advances = [d for d in terms.schedule if d.kind == "ADVANCE"]
        assert [d.amount for d in advances] == ([terms.advance] if terms.advance > ZERO else [])
    else:
        assert [d.kind for d in terms.schedule] == ["FULL"]
    # due on the debit day, monthly from the month after V; collected on the next business day
    calendar = CALENDARS[programme.code]
    first = (v.year * 12 + v.month) % 12 + 1, v.year + (v.month == 12)
    assert (terms.schedule[0].due_date.month, terms.schedule[0].due_date.year) == first
    for previous, debit in zip(terms.schedule, terms.schedule[1:], strict=False):
        months = (debit.due_date.year - previous.due_date.year) * 12 + debit.due_date.month - previous.due_date.month
        assert months == 1
    for debit in terms.schedule:
        assert debit.due_date.day == programme.debit_day
        assert calendar.is_business_day(debit.collection_date)
        assert debit.collection_date >= debit.due_date
        day = debit.due_date
        while day < debit.collection_date:  # no business day skipped on the way
            assert not calendar.is_business_day(day)
            day += timedelta(days=1)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programme=programmes, lines=outstanding, v=validation_dates, data=st.data())
def test_any_allowed_quote_keeps_every_promise(
    programme: Programme, lines: list[Outstanding], v: date, data: st.DataObject
) -> None:
    debt = eligible_debt(programme, lines)
    assert debt.periods == tuple(sorted(r.period for r in lines if programme.covers_period(r.period)))
    modality = data.draw(st.sampled_from(["FULL", "INSTALLMENTS"]))
    n, advance = 0, ZERO
    if modality == "INSTALLMENTS":
        n = data.draw(st.integers(1, programme.max_installments) | st.integers(-1, programme.max_installments + 2))
        to_pay = to_pay_of(debt, programme.tier("INSTALLMENTS", n)) if programme.allows_installments(n) else ZERO
        if to_pay > ZERO:
            centimes = int(to_pay * 100) - 1
            advance = Decimal(data.draw(st.just(0) | st.integers(0, centimes))) / 100
    try:
        terms = quote_terms(programme, CALENDARS[programme.code], debt, modality, v, advance=advance, installments=n)  # type: ignore[arg-type]
    except Refusal as refused:
        event(refused.code)
        if refused.code == "rien-a-remettre":
            assert bases(debt) == (ZERO, ZERO, ZERO)
        elif refused.code == "rien-a-payer":
            assert Decimal(str(refused.details["to_pay"])) <= ZERO
        elif refused.code == "echeances-hors-limites":
            assert not programme.allows_installments(n)
            ranges = programme.allowed_installment_ranges()
            assert refused.details["allowed"] == [{"min": r.low, "max": r.high} for r in ranges]
        else:
            assert refused.code == "echeance-sous-minimum", refused.code
            rest = to_pay_of(debt, programme.tier("INSTALLMENTS", n)) - advance
            assert round_down(rest / n) < programme.minimum_installment
        return
    event(f"quoted {modality}")
    check_terms(programme, debt, terms, v)


@settings(max_examples=150, deadline=None)
@given(programme=programmes, lines=outstanding, data=st.data())
def test_the_largest_count_named_is_allowed_and_every_larger_one_is_not(
    programme: Programme, lines: list[Outstanding], data: st.DataObject
) -> None:
    debt = eligible_debt(programme, lines)
    # The largest count answers "echeance-sous-minimum", which comes after "rien-a-remettre".
    assume(any(amount > ZERO for amount in (debt.majorations, debt.astreintes, debt.frais)))
    advance = Decimal(data.draw(st.integers(0, 5_000_000))) / 100
    largest = max_installments_for(programme, debt, advance)
    v = date(2025, 6, 1)
    calendar = CALENDARS[programme.code]

    def allowed(n: int) -> bool:
        try:
            quote_terms(programme, calendar, debt, "INSTALLMENTS", v, advance=advance, installments=n)
        except Refusal:
            return False
        return True

    if largest:
        assert allowed(largest)
    assert not any(allowed(n) for n in range(largest + 1, programme.max_installments + 1))


@settings(max_examples=150, deadline=None)
@given(programme=programmes, lines=outstanding, data=st.data())
def test_the_counts_offered_are_exactly_those_quoted(
    programme: Programme, lines: list[Outstanding], data: st.DataObject
) -> None:
    debt = eligible_debt(programme, lines)
    assume(any(amount > ZERO for amount in (debt.majorations, debt.astreintes, debt.frais)))
    advance = Decimal(data.draw(st.just(0) | st.integers(0, 5_000_000))) / 100
    offered = offered_installments(programme, debt, advance)
    calendar = CALENDARS[programme.code]
    accepted = []
    for n in range(1, programme.max_installments + 1):
        try:
            quote_terms(programme, calendar, debt, "INSTALLMENTS", date(2025, 6, 1), advance=advance, installments=n)
        except Refusal as refused:
            if refused.code == "echeance-sous-minimum":
                # the refusal names the same counts, as ranges
                assert refused.details["allowed"] == [{"min": r.low, "max": r.high} for r in offered]
            continue
        accepted.append(n)
    assert [n for r in offered for n in range(r.low, r.high + 1)] == accepted
    assert all(after.low > before.high + 1 for before, after in itertools.pairwise(offered))
    event(f"{len(offered)} range(s)")


@settings(max_examples=100, deadline=None)
@given(lines=outstanding)
def test_more_than_24_installments_remit_less(lines: list[Outstanding]) -> None:
    debt = eligible_debt(DEC, lines)
    low, high = DEC.tier("INSTALLMENTS", 24), DEC.tier("INSTALLMENTS", 25)
    assert (low.code, high.code) == ("INSTALLMENTS_1_24", "INSTALLMENTS_25_PLUS")
    assert DEC.tier("INSTALLMENTS", 1).code == low.code
    assert DEC.tier("INSTALLMENTS", 60).code == high.code
    assert to_pay_of(debt, low) <= to_pay_of(debt, high) <= to_pay_of(debt, low) + sum(bases(debt), ZERO)
    assert to_pay_of(debt, DEC.tier("FULL")) <= to_pay_of(debt, low)
