"""The tiers side by side and the budget suggestion agree with ``quote_terms``, checked over every count."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from contracts.calendar import BusinessCalendar
from contracts.money import CENTIME, ZERO
from contracts.programme import Modality, Programme
from contracts.refusals import Refusal
from contracts.simulation import QuoteTerms
from services.simulation.domain.eligible_debt import EligibleDebt, Outstanding, eligible_debt
from services.simulation.domain.options import Suggestion, TierOption, compare_tiers, suggest_plan
from services.simulation.domain.quote_terms import offered_installments, quote_terms, to_pay_of
from tests.unit.test_simulation_properties import DEC, FICTIF, LACUNES, outstanding

D = Decimal
V = date(2025, 6, 1)

# Also a programme whose single payment remits LESS than installments: "cheapest" is then not FULL,
# so the suggestion must compare amounts to pay, not trust the tiers' order.
INVERSE = Programme.model_validate(
    {
        "code": "INVERSE-TEST",
        "decision": "[TEST] paiement intégral moins avantageux",
        "eligible_until": "2030-12",
        "window": {"opens_on": "2020-01-01"},
        "tiers": [
            {
                "code": "ACOMPTES_7_PLUS",
                "modality": "INSTALLMENTS",
                "min_installments": 7,
                "rates": {"majorations": "0.20", "frais": "0.20", "astreintes": "0.20"},
            },
            {
                "code": "FULL",
                "modality": "FULL",
                "rates": {"majorations": "0.10", "frais": "0.10", "astreintes": "0.10"},
            },
            {
                "code": "ACOMPTES_1_6",
                "modality": "INSTALLMENTS",
                "min_installments": 1,
                "max_installments": 6,
                "rates": {"majorations": "0.50", "frais": "0.50", "astreintes": "0.50"},
            },
        ],
        "max_installments": 12,
        "minimum_installment": "500.00",
        "guarantee_days": 30,
        "debit_day": 10,
        "conditions": {"version": "CG-TEST", "text": "[TEST]"},
    }
)
CALENDARS = {p.code: BusinessCalendar(p.extra_holidays) for p in (DEC, FICTIF, INVERSE, LACUNES)}
programmes = st.sampled_from([DEC, FICTIF, INVERSE, LACUNES])


@dataclass(frozen=True)
class Plan:
    """A plan ``quote_terms`` accepts with no advance, and its largest debit."""

    modality: Modality
    installments: int
    terms: QuoteTerms

    @property
    def largest(self) -> Decimal:
        return max(d.amount for d in self.terms.schedule)


def quote(programme: Programme, debt: EligibleDebt, modality: Modality, n: int = 0) -> QuoteTerms | None:
    try:
        return quote_terms(programme, CALENDARS[programme.code], debt, modality, V, installments=n)
    except Refusal:
        return None


def every_plan(programme: Programme, debt: EligibleDebt) -> list[Plan]:
    """Brute force: the single payment and every count from 1 to the programme's maximum."""
    candidates: list[tuple[Modality, int]] = [("FULL", 0)]
    candidates += [("INSTALLMENTS", n) for n in range(1, programme.max_installments + 1)]
    plans = []
    for modality, n in candidates:
        terms = quote(programme, debt, modality, n)
        if terms is not None:
            plans.append(Plan(modality, n, terms))
    return plans


def something_to_remit(debt: EligibleDebt) -> bool:
    return any(x > ZERO for x in (debt.majorations, debt.astreintes, debt.frais))


def check_suggestion(programme: Programme, debt: EligibleDebt, budget: Decimal, plans: list[Plan]) -> None:
    try:
        suggestion = suggest_plan(programme, debt, budget)
    except Refusal as refused:
        event(refused.code)
        if refused.code == "rien-a-payer":
            assert min(to_pay_of(debt, tier) for tier in programme.tiers) <= ZERO
            return
        assert refused.code == "budget-insuffisant", refused.code
        assert not any(p.largest <= budget for p in plans)
        # The smallest monthly amount named is the smallest largest-debit of any allowed plan ...
        minimum = D(str(refused.details["minimum_monthly_budget"]))
        assert minimum == min(p.largest for p in plans)
        assert f"{refused.details['monthly_budget']}" == f"{budget:.2f}"
        # ... it does buy the plan named, and one centime less buys nothing.
        named = suggest_plan(programme, debt, minimum)
        assert (named.modality, named.tier, named.installments) == (
            refused.details["modality"],
            refused.details["tier"],
            refused.details["installments"],
        )
        assert minimum == named.last_installment_amount  # the single payment's only debit is to_pay
        if minimum > CENTIME:
            with pytest.raises(Refusal) as again:
                suggest_plan(programme, debt, minimum - CENTIME)
            assert again.value.code == "budget-insuffisant"
        return
    event(f"suggested {suggestion.modality}")
    # Simulated with the same parameters, the suggestion is the same plan and every debit fits.
    terms = quote(programme, debt, suggestion.modality, suggestion.installments)
    assert terms is not None
    assert (terms.tier, terms.to_pay, terms.remise.total) == (
        suggestion.tier,
        suggestion.to_pay,
        suggestion.remise.total,
    )
    assert all(d.amount <= budget for d in terms.schedule)
    amounts = [d.amount for d in terms.schedule]
    assert (amounts[0], amounts[-1]) == (suggestion.installment_amount, suggestion.last_installment_amount)
    # No allowed plan that costs strictly less fits the budget ...
    assert not any(p.terms.to_pay < suggestion.to_pay and p.largest <= budget for p in plans)
    # ... and at the same cost, no fewer installments of the same tier fit (the single payment first).
    same_cost = [p for p in plans if p.terms.to_pay == suggestion.to_pay and p.largest <= budget]
    if any(p.modality == "FULL" for p in same_cost):
        assert suggestion.modality == "FULL"
    assert all(suggestion.installments <= p.installments for p in same_cost if p.terms.tier == suggestion.tier)


def check_comparison(programme: Programme, debt: EligibleDebt, options: list[TierOption]) -> None:
    assert [(o.tier, o.modality, o.rates) for o in options] == [(t.code, t.modality, t.rates) for t in programme.tiers]
    by_tier = {o.tier: o for o in options}
    for option, tier in zip(options, programme.tiers, strict=True):
        assert option.to_pay == to_pay_of(debt, tier)
        assert option.to_pay + option.remise.total == debt.total
    full = by_tier[programme.tier("FULL").code]
    full_terms = quote(programme, debt, "FULL")
    assert full.available == (full_terms is not None)
    assert full.installments == range(0)
    offered = [n for r in offered_installments(programme, debt, ZERO) for n in range(r.low, r.high + 1)]
    for n in range(1, programme.max_installments + 1):
        terms = quote(programme, debt, "INSTALLMENTS", n)
        assert (terms is not None) == (n in offered), n
        if not programme.allows_installments(n):  # a count no tier covers: in no option either
            assert terms is None and not any(n in o.installments for o in options), n
            continue
        option = by_tier[programme.tier("INSTALLMENTS", n).code]
        # Accepted by simuler with no advance exactly when the comparison lists the count.
        assert (terms is not None) == (n in option.installments), n
        if terms is not None:
            assert terms.to_pay == option.to_pay
            if n == option.installments[0]:
                assert terms.schedule[0].amount == option.installment_at_min
            if n == option.installments[-1]:
                assert terms.schedule[0].amount == option.installment_at_max
    for option in options:
        if option.modality == "INSTALLMENTS":
            assert option.available == (len(option.installments) > 0)
            assert (option.installment_at_min is None) == (not option.installments)
            assert all(programme.tier("INSTALLMENTS", n).code == option.tier for n in option.installments)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programme=programmes, lines=outstanding)
def test_the_comparison_lists_exactly_the_counts_simuler_accepts(
    programme: Programme, lines: list[Outstanding]
) -> None:
    debt = eligible_debt(programme, lines)
    if not something_to_remit(debt):
        with pytest.raises(Refusal) as refused:
            compare_tiers(programme, debt)
        assert refused.value.code == "rien-a-remettre"
        return
    check_comparison(programme, debt, compare_tiers(programme, debt))


budgets_anywhere = st.decimals(min_value=D("0.01"), max_value=D("5000000.00"), places=2)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programme=programmes, lines=outstanding, data=st.data())
def test_the_suggestion_is_the_cheapest_allowed_plan_that_fits_the_budget(
    programme: Programme, lines: list[Outstanding], data: st.DataObject
) -> None:
    debt = eligible_debt(programme, lines)
    assume(something_to_remit(debt))
    plans = every_plan(programme, debt)
    # Budgets on the edges matter most: a plan's largest debit, a centime under or over it.
    edges = sorted({p.largest + delta for p in plans for delta in (-CENTIME, ZERO, CENTIME)} - {ZERO})
    edges = [e for e in edges if e > ZERO]
    budget = data.draw(st.sampled_from(edges) | budgets_anywhere if edges else budgets_anywhere)
    check_suggestion(programme, debt, budget, plans)


@settings(max_examples=50, deadline=None)
@given(programme=programmes, lines=outstanding, budget=st.decimals(min_value=D("-1000.00"), max_value=ZERO, places=2))
def test_a_budget_that_is_not_positive_is_refused(
    programme: Programme, lines: list[Outstanding], budget: Decimal
) -> None:
    debt = eligible_debt(programme, lines)
    assume(something_to_remit(debt))
    with pytest.raises(Refusal) as refused:
        suggest_plan(programme, debt, budget)
    assert refused.value.code == "parametres-incoherents"


# Hand-worked cases, to the centime.


def one_period(
    programme: Programme, p: str, m: str = "0", a: str = "0", f: str = "0", period: str = "2022-01"
) -> EligibleDebt:
    return eligible_debt(programme, [Outstanding(period, D(p), D(m), D(a), D(f))])


def options_table(
    programme: Programme, debt: EligibleDebt
) -> list[tuple[str, bool, str, str, range, str | None, str | None]]:
    return [
        (
            o.tier,
            o.available,
            f"{o.remise.total}",
            f"{o.to_pay}",
            o.installments,
            None if o.installment_at_min is None else f"{o.installment_at_min}",
            None if o.installment_at_max is None else f"{o.installment_at_max}",
        )
        for o in compare_tiers(programme, debt)
    ]


def summary(s: Suggestion) -> tuple[str, str, int, str, str, str, str]:
    return (
        s.modality,
        s.tier,
        s.installments,
        f"{s.to_pay}",
        f"{s.remise.total}",
        f"{s.installment_amount}",
        f"{s.last_installment_amount}",
    )


def refusal(programme: Programme, debt: EligibleDebt, budget: str) -> Refusal:
    with pytest.raises(Refusal) as refused:
        suggest_plan(programme, debt, D(budget))
    return refused.value


# P 40000 + M 8000.25 + A 3000 + F 1000 = 52000.25 (the integration test's debt)
DEBT = one_period(DEC, "40000.00", "8000.25", "3000.00", "1000.00")


def test_dec_comparison_of_the_three_tiers() -> None:
    assert options_table(DEC, DEBT) == [
        # rM 8000.25 x 0.60 = 4800.15 ; rF 600.00 ; rA 2700.00 -> 8100.15 ; 52000.25 - 8100.15 = 43900.10
        ("FULL", True, "8100.15", "43900.10", range(0), None, None),
        # rM 8000.25 x 0.50 = 4000.125 -> 4000.13 ; rF 500.00 ; rA 2400.00 -> 6900.13 ; to_pay 45100.12
        # 45100.12 / 15 = 3006.674 -> 3006.67 >= 3000 ; / 16 = 2818.7575 -> 2818.75 < 3000: 1..15
        ("INSTALLMENTS_1_24", True, "6900.13", "45100.12", range(1, 16), "45100.12", "3006.67"),
        # rM 3200.10 ; rF 400.00 ; rA 2100.00 -> 5700.10 ; to_pay 46300.15 ; / 25 = 1852.006 < 3000: none
        ("INSTALLMENTS_25_PLUS", False, "5700.10", "46300.15", range(0), None, None),
    ]


def test_dec_suggestions_for_several_budgets() -> None:
    # Whole amount within the budget: the single payment, the largest remise.
    assert summary(suggest_plan(DEC, DEBT, D("43900.10"))) == (
        "FULL", "FULL", 0, "43900.10", "8100.15", "43900.10", "43900.10",
    )  # fmt: skip
    # A centime short: 1 installment of 45100.12 does not fit, 2 do: 45100.12 / 2 = 22550.06 each.
    assert summary(suggest_plan(DEC, DEBT, D("43900.09"))) == (
        "INSTALLMENTS", "INSTALLMENTS_1_24", 2, "45100.12", "6900.13", "22550.06", "22550.06",
    )  # fmt: skip
    # 15 installments: 3006.67 x 14 = 42093.38 ; last = 45100.12 - 42093.38 = 3006.74 <= 3100
    # (14 would be 3221.43 x 13 + 3221.53, over the budget).
    assert summary(suggest_plan(DEC, DEBT, D("3100.00"))) == (
        "INSTALLMENTS", "INSTALLMENTS_1_24", 15, "45100.12", "6900.13", "3006.67", "3006.74",
    )  # fmt: skip
    # The last installment counts too: 3006.73 is under it, and 16 installments are under the minimum.
    refused = refusal(DEC, DEBT, "3006.73")
    assert refused.code == "budget-insuffisant"
    assert refused.message == (
        "Avec 3\u00a0006,73\u00a0MAD par mois, aucun plan n'est possible : "
        "il faut au moins 3\u00a0006,74\u00a0MAD par mois (15 échéances)."
    )
    assert refused.details == {
        "monthly_budget": "3006.73",
        "minimum_monthly_budget": "3006.74",
        "modality": "INSTALLMENTS",
        "tier": "INSTALLMENTS_1_24",
        "installments": 15,
    }


def test_a_cheaper_tier_wins_while_it_fits_then_the_next_one() -> None:
    # P 174000 + M 10000: FULL 174000 + 4000 = 178000.00 ; 1..24: + 5000 = 179000.00 ; 25+: + 6000 = 180000.00
    debt = one_period(DEC, "174000.00", "10000.00")
    # 1..24 at 24: 179000 / 24 = 7458.333 -> 7458.33 ; last = 179000 - 23 x 7458.33 = 7458.41
    assert summary(suggest_plan(DEC, debt, D("7458.41"))) == (
        "INSTALLMENTS", "INSTALLMENTS_1_24", 24, "179000.00", "5000.00", "7458.33", "7458.41",
    )  # fmt: skip
    # A centime less: 1..24 no longer fits; 25+ at 25: 180000 / 25 = 7200.00 each.
    assert summary(suggest_plan(DEC, debt, D("7458.40"))) == (
        "INSTALLMENTS", "INSTALLMENTS_25_PLUS", 25, "180000.00", "4000.00", "7200.00", "7200.00",
    )  # fmt: skip
    # 180000 / 60 = 3000.00: the programme's longest plan at exactly the minimum installment.
    assert summary(suggest_plan(DEC, debt, D("3000.00")))[1:3] == ("INSTALLMENTS_25_PLUS", 60)
    refused = refusal(DEC, debt, "500.00")
    assert refused.message == (
        "Avec 500,00\u00a0MAD par mois, aucun plan n'est possible : "
        "il faut au moins 3\u00a0000,00\u00a0MAD par mois (60 échéances)."
    )
    assert (refused.details["minimum_monthly_budget"], refused.details["tier"]) == ("3000.00", "INSTALLMENTS_25_PLUS")


def test_a_small_debt_only_allows_the_single_payment() -> None:
    # P 1000 + M 500: FULL 1000 + 200 = 1200.00 ; 1..24: 1250.00, under 3000 even in 1 installment.
    debt = one_period(DEC, "1000.00", "500.00")
    assert [(o.tier, o.available, f"{o.to_pay}") for o in compare_tiers(DEC, debt)] == [
        ("FULL", True, "1200.00"),
        ("INSTALLMENTS_1_24", False, "1250.00"),
        ("INSTALLMENTS_25_PLUS", False, "1300.00"),
    ]
    refused = refusal(DEC, debt, "1000.00")
    assert refused.message == (
        "Avec 1\u00a0000,00\u00a0MAD par mois, aucun plan n'est possible : "
        "il faut au moins 1\u00a0200,00\u00a0MAD (paiement intégral en une fois)."
    )
    assert (refused.details["modality"], refused.details["installments"]) == ("FULL", 0)


def test_fictif_reads_its_own_tiers_caps_and_minimum() -> None:
    # P 100000 + M 10000 + A 4000 + F 2000 = 116000 on 2025-03 (eligible under FICTIF, cut-off 2025-06)
    debt = one_period(FICTIF, "100000.00", "10000.00", "4000.00", "2000.00", period="2025-03")
    assert options_table(FICTIF, debt) == [
        # rM 7500 ; rF 1400 ; rA 3800 -> 12700 ; 103300.00
        ("FULL", True, "12700.00", "103300.00", range(0), None, None),
        # rM 5500 ; rF 1000 ; rA 3400 -> 9900 ; 106100.00 ; / 12 = 8841.66 >= 1000
        ("ACOMPTES_1_12", True, "9900.00", "106100.00", range(1, 13), "106100.00", "8841.66"),
        # rM 3000 ; rF 500 ; rA 2400 -> 5900 ; 110100.00 ; / 13 = 8469.23 ; / 36 = 3058.33
        ("ACOMPTES_13_36", True, "5900.00", "110100.00", range(13, 37), "8469.23", "3058.33"),
    ]
    # 1..12 at best: 8841.66 x 11 + 8841.74 > 5000. 13..36: 22 -> 5004.54 x 21 + 5004.66 > 5000 ;
    # 23 -> 110100 / 23 = 4786.956 -> 4786.95 ; last = 110100 - 22 x 4786.95 = 110100 - 105312.90 = 4787.10
    assert summary(suggest_plan(FICTIF, debt, D("5000.00"))) == (
        "INSTALLMENTS", "ACOMPTES_13_36", 23, "110100.00", "5900.00", "4786.95", "4787.10",
    )  # fmt: skip


def test_when_the_single_payment_remits_less_the_cheaper_installments_come_first() -> None:
    # INVERSE: M 10000 (P 0): 7+ 8000.00 ; FULL 9000.00 ; 1..6 5000.00 (5000 / 6 = 833.33 >= 500)
    debt = one_period(INVERSE, "0", "10000.00")
    assert summary(suggest_plan(INVERSE, debt, D("9000.00"))) == (
        "INSTALLMENTS", "ACOMPTES_1_6", 1, "5000.00", "5000.00", "5000.00", "5000.00",
    )  # fmt: skip
    # 5000 / 6 = 833.33 x 5 + 833.35: over 800 ; then 7+ at 10: 8000 / 10 = 800.00 each.
    assert summary(suggest_plan(INVERSE, debt, D("800.00")))[1:3] == ("ACOMPTES_7_PLUS", 10)


def test_refusals_before_any_budget() -> None:
    with pytest.raises(Refusal) as nothing:
        compare_tiers(DEC, one_period(DEC, "5000.00"))
    assert nothing.value.code == "rien-a-remettre"
    assert refusal(DEC, one_period(DEC, "5000.00"), "1000.00").code == "rien-a-remettre"
    assert refusal(DEC, DEBT, "0.00").code == "parametres-incoherents"
    assert refusal(DEC, DEBT, "10.005").code == "parametres-incoherents"  # not a centime amount
    # Overpaid: P -10000 + M 500 -> FULL -10000 + 200 = -9800.00: nothing to pay under any tier.
    overpaid = one_period(DEC, "-10000.00", "500.00")
    assert all(not o.available and o.installments == range(0) for o in compare_tiers(DEC, overpaid))
    assert refusal(DEC, overpaid, "1000.00").code == "rien-a-payer"
