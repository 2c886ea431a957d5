"""Quotes worked by hand, to the centime: the arithmetic is written beside each expectation."""

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from contracts.calendar import BusinessCalendar
from contracts.programme import CountRange, Programme, load_programme, shipped_programme
from contracts.refusals import Refusal
from contracts.simulation import QuoteTerms
from services.simulation.domain.eligible_debt import EligibleDebt, Outstanding, eligible_debt
from services.simulation.domain.quote_terms import max_installments_for, offered_installments, quote_terms

DEC = shipped_programme("DEC-05-2023")
FICTIF = load_programme(Path(__file__).parents[1] / "data" / "programme-fictif.json")
LACUNES = load_programme(Path(__file__).parents[1] / "data" / "programme-lacunes.json")
CALENDAR = BusinessCalendar()
D = Decimal


def line(period: str, p: str = "0", m: str = "0", a: str = "0", f: str = "0") -> Outstanding:
    return Outstanding(period, D(p), D(m), D(a), D(f))


def one_period(p: str = "0", m: str = "0", a: str = "0", f: str = "0", period: str = "2022-01") -> EligibleDebt:
    return eligible_debt(DEC, [line(period, p, m, a, f)])


def quote(
    debt: EligibleDebt,
    modality: str = "FULL",
    *,
    advance: str = "0.00",
    n: int = 0,
    v: date = date(2025, 3, 20),
    programme: Programme = DEC,
) -> QuoteTerms:
    calendar = BusinessCalendar(programme.extra_holidays)
    return quote_terms(programme, calendar, debt, modality, v, advance=D(advance), installments=n)  # type: ignore[arg-type]


def refusal(debt: EligibleDebt, modality: str = "INSTALLMENTS", **kwargs: object) -> Refusal:
    with pytest.raises(Refusal) as caught:
        quote(debt, modality, **kwargs)  # type: ignore[arg-type]
    return caught.value


def schedule(terms: QuoteTerms) -> list[tuple[int, str, str, str, str]]:
    return [(d.sequence, d.kind, str(d.due_date), str(d.collection_date), f"{d.amount}") for d in terms.schedule]


def test_full_payment_rounds_half_up_on_category_totals_and_skips_periods_after_the_cutoff() -> None:
    debt = eligible_debt(
        DEC,
        [
            line("2023-05", p="10000.00", m="300.00", a="500.00", f="150.55"),
            line("2024-12", p="2000.00", m="33.33"),
            line("2025-01", p="2500.00", m="75.00"),  # after 2024-12: ordinary debt, not in the plan
        ],
    )
    # V = 2026-12-15: due 2027-01-10, a Sunday; the 11th is Independence Manifesto day -> Tuesday the 12th.
    terms = quote(debt, "FULL", v=date(2026, 12, 15))
    assert terms.eligible_periods == ["2023-05", "2024-12"]
    # P = 10000 + 2000 = 12000.00 ; M = 300 + 33.33 = 333.33 ; A = 500.00 ; F = 150.55
    assert (terms.eligible.principal, terms.eligible.majorations) == (D("12000.00"), D("333.33"))
    assert (terms.eligible.astreintes, terms.eligible.frais) == (D("500.00"), D("150.55"))
    # rM = 333.33 x 0.60 = 199.998 -> 200.00 ; rF = 150.55 x 0.60 = 90.33 ; rA = 500 x 0.90 = 450.00
    assert terms.remise.majorations == D("200.00")
    assert terms.remise.frais == D("90.33")
    assert terms.remise.astreintes == D("450.00")
    assert terms.remise.principal == D("0.00")
    assert terms.remise.total == D("740.33")  # 200.00 + 90.33 + 450.00
    # to_pay = 12000 + (333.33 - 200) + (150.55 - 90.33) + (500 - 450) = 12000 + 133.33 + 60.22 + 50 = 12243.55
    assert terms.to_pay == D("12243.55")
    assert (terms.tier, terms.installments, terms.advance) == ("FULL", 0, D("0.00"))
    assert schedule(terms) == [(1, "FULL", "2027-01-10", "2027-01-12", "12243.55")]


def test_installments_with_an_advance_last_installment_takes_the_remainder() -> None:
    debt = one_period(p="40000.00", m="8000.25", f="1000.00", a="3000.00")
    terms = quote(debt, "INSTALLMENTS", advance="5000.00", n=12, v=date(2025, 3, 20))
    assert terms.tier == "INSTALLMENTS_1_24"
    # rM = 8000.25 x 0.50 = 4000.125 -> 4000.13 (half up) ; rF = 1000 x 0.50 = 500.00 ; rA = 3000 x 0.80 = 2400.00
    assert (terms.remise.majorations, terms.remise.frais, terms.remise.astreintes) == (
        D("4000.13"),
        D("500.00"),
        D("2400.00"),
    )
    # to_pay = 40000 + 4000.12 + 500 + 600 = 45100.12 (= 52000.25 - 6900.13)
    assert terms.to_pay == D("45100.12")
    # rest = 45100.12 - 5000 = 40100.12 ; / 12 = 3341.676.. -> 3341.67 ; last = 40100.12 - 11 x 3341.67 = 3341.75
    assert schedule(terms) == [
        (1, "ADVANCE", "2025-04-10", "2025-04-10", "5000.00"),
        (2, "INSTALLMENT", "2025-05-10", "2025-05-12", "3341.67"),  # Saturday -> Monday
        (3, "INSTALLMENT", "2025-06-10", "2025-06-10", "3341.67"),
        (4, "INSTALLMENT", "2025-07-10", "2025-07-10", "3341.67"),
        (5, "INSTALLMENT", "2025-08-10", "2025-08-11", "3341.67"),  # Sunday -> Monday
        (6, "INSTALLMENT", "2025-09-10", "2025-09-10", "3341.67"),
        (7, "INSTALLMENT", "2025-10-10", "2025-10-10", "3341.67"),
        (8, "INSTALLMENT", "2025-11-10", "2025-11-10", "3341.67"),
        (9, "INSTALLMENT", "2025-12-10", "2025-12-10", "3341.67"),
        (10, "INSTALLMENT", "2026-01-10", "2026-01-12", "3341.67"),  # Saturday, Sunday 11th -> Monday
        (11, "INSTALLMENT", "2026-02-10", "2026-02-10", "3341.67"),
        (12, "INSTALLMENT", "2026-03-10", "2026-03-10", "3341.67"),
        (13, "INSTALLMENT", "2026-04-10", "2026-04-10", "3341.75"),
    ]


def test_without_advance_installment_one_is_on_the_first_date_and_centimes_go_last() -> None:
    # P 9000 + M 2000 ; rM = 2000 x 0.50 = 1000 ; to_pay = 10000.00 ; / 3 = 3333.33, 3333.33, 3333.34
    terms = quote(one_period(p="9000.00", m="2000.00"), "INSTALLMENTS", n=3, v=date(2027, 2, 3))
    assert terms.to_pay == D("10000.00")
    assert schedule(terms) == [
        (1, "INSTALLMENT", "2027-03-10", "2027-03-11", "3333.33"),  # Eid al-Fitr (estimated) -> the 11th
        (2, "INSTALLMENT", "2027-04-10", "2027-04-12", "3333.33"),  # Saturday -> Monday
        (3, "INSTALLMENT", "2027-05-10", "2027-05-10", "3333.34"),
    ]


def test_extra_holidays_of_the_programme_move_the_collection_date() -> None:
    calendar = BusinessCalendar([date(2025, 4, 10)])
    terms = quote_terms(DEC, calendar, one_period(p="100.00", m="10.00"), "FULL", date(2025, 3, 1))
    assert schedule(terms) == [(1, "FULL", "2025-04-10", "2025-04-11", "104.00")]  # 100 + 10 - 6.00


@pytest.mark.parametrize(
    ("n", "tier", "remise", "to_pay", "each"),
    [
        # rM = 10000 x 0.50 = 5000 ; rF = 2000 x 0.50 = 1000 ; rA = 4000 x 0.80 = 3200 -> 9200
        # to_pay = 116000 - 9200 = 106800.00 ; / 24 = 4450.00
        (24, "INSTALLMENTS_1_24", "9200.00", "106800.00", "4450.00"),
        # rM = 10000 x 0.40 = 4000 ; rF = 2000 x 0.40 = 800 ; rA = 4000 x 0.70 = 2800 -> 7600
        # to_pay = 116000 - 7600 = 108400.00 ; / 25 = 4336.00
        (25, "INSTALLMENTS_25_PLUS", "7600.00", "108400.00", "4336.00"),
    ],
)
def test_the_tier_changes_between_24_and_25_installments(
    n: int, tier: str, remise: str, to_pay: str, each: str
) -> None:
    terms = quote(one_period(p="100000.00", m="10000.00", f="2000.00", a="4000.00"), "INSTALLMENTS", n=n)
    assert (terms.tier, f"{terms.remise.total}", f"{terms.to_pay}") == (tier, remise, to_pay)
    assert {f"{d.amount}" for d in terms.schedule} == {each}
    assert len(terms.schedule) == n


def test_an_overpaid_category_is_a_credit_with_nothing_to_remit() -> None:
    debt = eligible_debt(
        DEC,
        [line("2022-01", p="3000.00", m="-50.00", f="100.00"), line("2022-02", p="2000.00", m="30.00")],
    )
    # M = -50 + 30 = -20.00 (overpaid): remise base 0 ; rF = 100 x 0.60 = 60.00
    # to_pay = 5000 + (-20 - 0) + (100 - 60) = 5020.00 ; to_pay + remise = 5080.00 = eligible total
    terms = quote(debt, "FULL")
    assert terms.eligible.majorations == D("-20.00")
    assert (terms.remise.majorations, terms.remise.frais, terms.to_pay) == (D("0.00"), D("60.00"), D("5020.00"))


@pytest.mark.parametrize(
    "debt",
    [
        one_period(p="5000.00"),
        eligible_debt(DEC, [line("2024-12", p="100.00"), line("2025-01", m="75.00", a="10.00")]),
        one_period(p="100.00", m="-10.00"),
        eligible_debt(DEC, []),
    ],
    ids=["principal-only", "penalties-after-cutoff", "credit-only", "no-period"],
)
def test_nothing_to_remit_is_refused(debt: EligibleDebt) -> None:
    refused = refusal(debt, "FULL")
    assert refused.code == "rien-a-remettre"
    assert "rien à remettre" in refused.message


def test_a_credit_in_one_category_does_not_cancel_the_remise_of_another() -> None:
    # M = -10.00 (overpaid), F = 10.00: M + F = 0, yet the frais are owed and remitted: rF = 6.00
    # to_pay = 100 - 10 + (10 - 6) = 94.00
    terms = quote(one_period(p="100.00", m="-10.00", f="10.00"), "FULL")
    assert (terms.remise.total, terms.to_pay) == (D("6.00"), D("94.00"))


def test_a_credit_wider_than_the_debt_leaves_nothing_to_pay() -> None:
    # P = -500 (overpaid contributions) ; M 100 -> rM 60 ; to_pay = -500 + 40 = -460.00
    refused = refusal(one_period(p="-500.00", m="100.00"), "FULL")
    assert (refused.code, refused.details["to_pay"]) == ("rien-a-payer", "-460.00")


@pytest.mark.parametrize("n", [0, 61, -1])
def test_installment_count_out_of_range(n: int) -> None:
    refused = refusal(one_period(p="100000.00", m="100.00"), n=n)
    assert refused.code == "echeances-hors-limites"
    assert f"Le programme permet de 1 à 60 échéances ; {n} n'en fait pas partie." == refused.message
    assert refused.details == {
        "installments": n,
        "min_installments": 1,
        "max_installments": 60,
        "allowed": [{"min": 1, "max": 60}],
    }


@pytest.mark.parametrize("advance", ["50050.00", "60000.00", "-0.01"])
def test_advance_out_of_range(advance: str) -> None:
    # P 50000 + M 100 -> rM 50 ; to_pay 50050.00: the advance must stay below it
    refused = refusal(one_period(p="50000.00", m="100.00"), advance=advance, n=2)
    assert refused.code == "avance-hors-limites"
    assert refused.details["advance_max"] == "50049.99"
    assert "50\u00a0049,99\u00a0MAD" in refused.message


def test_an_installment_under_the_minimum_names_the_largest_count() -> None:
    # P 50000 + M 1000 -> rM 500 -> to_pay 50500.00 ; 50500 / 24 = 2104.16 < 3000
    # 25+: to_pay 50600, / 25 = 2024 < 3000 ; 1..24: floor(50500 / 3000) = 16 (50500 / 16 = 3156.25)
    refused = refusal(one_period(p="50000.00", m="1000.00"), n=24)
    assert refused.code == "echeance-sous-minimum"
    assert refused.details == {
        "installments": 24,
        "installment_amount": "2104.16",
        "minimum_installment": "3000.00",
        "max_installments_allowed": 16,
        "allowed": [{"min": 1, "max": 16}],
    }
    assert "au plus 16 échéances" in refused.message
    assert quote(one_period(p="50000.00", m="1000.00"), "INSTALLMENTS", n=16).schedule[0].amount == D("3156.25")


def test_with_an_advance_the_refusal_also_names_the_largest_advance_for_that_count() -> None:
    # to_pay 50500 ; advance 10000 -> rest 40500 ; / 15 = 2700 < 3000 ; floor(40500 / 3000) = 13
    # the largest advance keeping 15 x 3000: 50500 - 45000 = 5500.00
    refused = refusal(one_period(p="50000.00", m="1000.00"), advance="10000.00", n=15)
    assert refused.details["max_installments_allowed"] == 13
    assert refused.details["advance_max_for_installments"] == "5500.00"


def test_when_no_count_works_the_refusal_says_so() -> None:
    # to_pay = 2000 + 50 = 2050.00 < 3000: not even one installment reaches the minimum
    refused = refusal(one_period(p="2000.00", m="100.00"), n=1)
    assert refused.details["max_installments_allowed"] == 0
    assert refused.details["allowed"] == []
    assert "aucun plan par acomptes" in refused.message


def test_the_largest_count_can_lie_in_the_higher_tier() -> None:
    # M = 130000 only. 1..24: to_pay = 65000 (rM 65000) ; 25+: to_pay = 78000 (rM 52000).
    # 24 -> 2708.33 < 3000 refused ; 25 -> 3120 ok ; 26 -> 3000 ok ; 27 -> 2888.88 refused.
    debt = one_period(m="130000.00")
    assert max_installments_for(DEC, debt, D("0")) == 26
    assert refusal(debt, n=24).details["max_installments_allowed"] == 26
    assert quote(debt, "INSTALLMENTS", n=26).to_pay == D("78000.00")


def test_a_gap_the_minimum_leaves_between_two_tiers_is_named() -> None:
    # The same debt: 1..24 at 65000: / 21 = 3095.23 ok, / 22 = 2954.54 refused ; 25+ at 78000: 25 and 26.
    # "au plus 26" would send the affiliate to 22, 23 or 24, all refused: the refusal names both ranges.
    debt = one_period(m="130000.00")
    assert offered_installments(DEC, debt, D("0")) == [CountRange(1, 21), CountRange(25, 26)]
    refused = refusal(debt, n=24)
    assert refused.code == "echeance-sous-minimum"
    assert refused.details["allowed"] == [{"min": 1, "max": 21}, {"min": 25, "max": 26}]
    assert refused.message.endswith("Avec cette avance, choisissez de 1 à 21 ou de 25 à 26 échéances.")
    # with an advance of 3000: 62000 / 20 = 3100 ok, / 21 = 2952.38 ; 75000 / 25 = 3000 ok, / 26 refused
    assert offered_installments(DEC, debt, D("3000")) == [CountRange(1, 20), CountRange(25, 25)]
    assert refusal(debt, n=22, advance="3000.00").message.endswith("choisissez de 1 à 20 ou 25 échéances.")


class TestAProgrammeWithAGap:
    """LACUNES-TEST-2099 (tests/data): tiers 1..23 and 25..60, no tier for 24."""

    debt = eligible_debt(LACUNES, [line("2025-03", p="100000.00", m="10000.00")])

    def test_the_counts_it_allows(self) -> None:
        assert LACUNES.allowed_installment_ranges() == [CountRange(1, 23), CountRange(25, 60)]
        assert [n for n in (0, 1, 23, 24, 25, 60, 61) if LACUNES.allows_installments(n)] == [1, 23, 25, 60]

    @pytest.mark.parametrize("n", [24, 0, 61])
    def test_a_count_outside_names_the_allowed_ranges(self, n: int) -> None:
        refused = refusal(self.debt, n=n, programme=LACUNES)
        assert refused.code == "echeances-hors-limites"
        assert refused.message == f"Le programme permet de 1 à 23 ou de 25 à 60 échéances ; {n} n'en fait pas partie."
        assert refused.details == {
            "installments": n,
            "min_installments": 1,
            "max_installments": 60,
            "allowed": [{"min": 1, "max": 23}, {"min": 25, "max": 60}],
        }

    def test_either_side_of_the_gap_is_quoted_with_its_own_tier(self) -> None:
        # 1..23: rM 5000 -> to_pay 105000.00 ; 25+: rM 4000 -> 106000.00
        below, above = (quote(self.debt, "INSTALLMENTS", n=n, programme=LACUNES) for n in (23, 25))
        assert (below.tier, f"{below.to_pay}") == ("ACOMPTES_1_23", "105000.00")
        assert (above.tier, f"{above.to_pay}") == ("ACOMPTES_25_PLUS", "106000.00")
        # 106000 / 60 = 1766.66 >= 1000: every allowed count is offered, the gap stays a gap
        assert offered_installments(LACUNES, self.debt, D("0")) == [CountRange(1, 23), CountRange(25, 60)]
        assert max_installments_for(LACUNES, self.debt, D("0")) == 60


def test_full_payment_takes_neither_advance_nor_installments() -> None:
    assert refusal(one_period(p="1000.00", m="10.00"), "FULL", n=3).code == "parametres-incoherents"
    assert refusal(one_period(p="1000.00", m="10.00"), "FULL", advance="1.00").code == "parametres-incoherents"


class TestAnotherProgramme:
    """The fictitious FICTIF-TEST-2099 (tests/data): other cut-off, rates, caps, minimum and debit day."""

    debt = eligible_debt(FICTIF, [line("2025-03", p="100000.00", m="10000.00", f="2000.00", a="4000.00")])

    def test_the_same_debt_is_not_eligible_under_dec_05_2023(self) -> None:
        under_dec = eligible_debt(DEC, [line("2025-03", p="100000.00", m="10000.00", f="2000.00", a="4000.00")])
        assert refusal(under_dec, "FULL").code == "rien-a-remettre"

    def test_full_payment_with_its_own_rates_and_debit_day(self) -> None:
        terms = quote(self.debt, "FULL", programme=FICTIF)
        # rM = 10000 x 0.75 = 7500 ; rF = 2000 x 0.70 = 1400 ; rA = 4000 x 0.95 = 3800 -> 12700
        # to_pay = 116000 - 12700 = 103300.00 ; due on the 5th: 2025-04-05 is a Saturday -> Monday 7th
        assert (terms.programme, terms.tier, f"{terms.remise.total}") == ("FICTIF-TEST-2099", "FULL", "12700.00")
        assert schedule(terms) == [(1, "FULL", "2025-04-05", "2025-04-07", "103300.00")]

    def test_its_upper_tier_and_cap(self) -> None:
        terms = quote(self.debt, "INSTALLMENTS", n=36, programme=FICTIF)
        # rM = 3000 ; rF = 500 ; rA = 2400 -> 5900 ; to_pay = 110100.00
        # / 36 = 3058.333 -> 3058.33 ; last = 110100 - 35 x 3058.33 = 110100 - 107041.55 = 3058.45
        assert (terms.tier, f"{terms.to_pay}") == ("ACOMPTES_13_36", "110100.00")
        assert [f"{d.amount}" for d in terms.schedule] == ["3058.33"] * 35 + ["3058.45"]
        assert refusal(self.debt, n=37, programme=FICTIF).details["max_installments"] == 36

    def test_its_extra_holiday(self) -> None:
        terms = quote(self.debt, "INSTALLMENTS", n=2, programme=FICTIF)
        # rM = 5500 ; rF = 1000 ; rA = 3400 -> 9900 ; to_pay = 106100.00 ; / 2 = 53050.00
        # 2025-05-05 is a holiday of this programme only -> Tuesday the 6th
        assert schedule(terms) == [
            (1, "INSTALLMENT", "2025-04-05", "2025-04-07", "53050.00"),
            (2, "INSTALLMENT", "2025-05-05", "2025-05-06", "53050.00"),
        ]

    def test_its_lower_minimum(self) -> None:
        # P 30000 + M 1000 -> 1..12: rM 550 -> to_pay 30450 ; 13..36: rM 300 -> 30700
        # DEC-05-2023 (min 3000) would allow 10 ; FICTIF (min 1000): 30700 / 30 = 1023.33 ok, / 31 = 990.32 no
        debt = eligible_debt(FICTIF, [line("2024-01", p="30000.00", m="1000.00")])
        assert max_installments_for(FICTIF, debt, D("0")) == 30
        assert max_installments_for(DEC, eligible_debt(DEC, [line("2024-01", p="30000.00", m="1000.00")]), D(0)) == 10


def test_categories_each_under_the_limit_but_a_total_over_it_are_refused_not_a_crash() -> None:
    # Security review 2026-12-04: 4e13 in each category passed the per-category check, and the quote's
    # to_pay (about 1.4e14) could not be written: QuoteTerms raised, the API answered 500.
    huge = "40000000000000.00"
    debt = one_period(p=huge, m=huge, a=huge, f=huge)
    with pytest.raises(Refusal) as refused:
        quote(debt)
    assert refused.value.code == "montant-hors-limites"
    just_under = "24999999999999.00"  # four of them: 99,999,999,999,996 < 1e14
    assert quote(one_period(p=just_under, m=just_under, a=just_under, f=just_under)).to_pay > 0
