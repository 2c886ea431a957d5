"""Which installment counts a programme allows: its tiers' counts up to its maximum, gaps included."""

from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from pydantic import ValidationError

from contracts.programme import CountRange, Programme, count_ranges, load_programme, shipped_programme

RATES = {"majorations": "0.50", "frais": "0.50", "astreintes": "0.80"}
LACUNES = load_programme(Path(__file__).parents[1] / "data" / "programme-lacunes.json")


def programme(tiers: list[dict[str, Any]], maximum: int) -> Programme:
    full = {"code": "FULL", "modality": "FULL", "rates": RATES}
    return Programme.model_validate(
        {
            "code": "COMPTES-TEST",
            "decision": "[TEST]",
            "eligible_until": "2030-12",
            "window": {"opens_on": "2020-01-01"},
            "tiers": [full, *tiers],
            "max_installments": maximum,
            "minimum_installment": "1000.00",
            "guarantee_days": 30,
            "debit_day": 10,
            "conditions": {"version": "CG-TEST", "text": "[TEST]"},
        }
    )


def tier(code: str, low: int | None, high: int | None) -> dict[str, Any]:
    return {
        "code": code,
        "modality": "INSTALLMENTS",
        "min_installments": low,
        "max_installments": high,
        "rates": RATES,
    }


@st.composite
def tiered(draw: st.DrawFn) -> tuple[Programme, list[tuple[int, int | None]]]:
    """A valid programme whose tiers leave gaps or not, in any order, and the tiers' (low, high) counts."""
    maximum = draw(st.integers(1, 120))
    cuts = sorted(draw(st.sets(st.integers(1, maximum + 10), min_size=1, max_size=8)))
    # consecutive tiers [cut, next cut - 1]; the last one ends anywhere, or never (no max_installments)
    spans: list[tuple[int, int | None]] = [(low, following - 1) for low, following in pairwise(cuts)]
    spans.append((cuts[-1], draw(st.none() | st.integers(cuts[-1], maximum + 10))))
    kept = [span for span in spans if draw(st.booleans())]  # a tier left out is a gap
    assume(any(low <= maximum for low, _ in kept))
    tiers = [
        tier(f"ACOMPTES_{i}", None if low == 1 and draw(st.booleans()) else low, high)
        for i, (low, high) in enumerate(kept)
    ]
    return programme(draw(st.permutations(tiers)), maximum), kept


@given(tiered())
def test_a_count_is_allowed_iff_it_lies_in_one_of_the_ranges(
    drawn: tuple[Programme, list[tuple[int, int | None]]],
) -> None:
    found, spans = drawn
    ranges = found.allowed_installment_ranges()
    for n in range(-1, found.max_installments + 12):
        by_the_tiers = 1 <= n <= found.max_installments and any(
            low <= n and (high is None or n <= high) for low, high in spans
        )
        assert found.allows_installments(n) == by_the_tiers == any(n in r for r in ranges), n
        if by_the_tiers:
            assert found.tier("INSTALLMENTS", n).modality == "INSTALLMENTS"
        else:
            with pytest.raises(ValueError, match="hors des nombres permis"):
                found.tier("INSTALLMENTS", n)


@given(tiered())
def test_the_ranges_are_sorted_disjoint_merged_and_within_the_maximum(
    drawn: tuple[Programme, list[tuple[int, int | None]]],
) -> None:
    ranges = drawn[0].allowed_installment_ranges()
    assert ranges, "a valid programme allows some count"
    assert all(1 <= r.low <= r.high <= drawn[0].max_installments for r in ranges)
    # sorted and apart by at least one refused count: two touching ranges would have been one
    assert all(after.low > before.high + 1 for before, after in pairwise(ranges))


@given(st.sets(st.integers(-5, 200)))
def test_count_ranges_keeps_exactly_the_counts(counts: set[int]) -> None:
    ranges = count_ranges(counts)
    assert [n for r in ranges for n in range(r.low, r.high + 1)] == sorted(counts)
    assert all(after.low > before.high + 1 for before, after in pairwise(ranges))


def test_the_shipped_and_test_programmes() -> None:
    assert shipped_programme("DEC-05-2023").allowed_installment_ranges() == [CountRange(1, 60)]
    assert LACUNES.allowed_installment_ranges() == [CountRange(1, 23), CountRange(25, 60)]
    assert not LACUNES.allows_installments(24)
    # a tier beyond the maximum offers nothing: capped by max_installments
    capped = programme([tier("A", 1, 10), tier("B", 12, None)], 11)
    assert capped.allowed_installment_ranges() == [CountRange(1, 10)]
    assert CountRange(25, 26).as_json() == {"min": 25, "max": 26}


def test_two_tiers_for_one_count_or_no_count_at_all_are_refused() -> None:
    with pytest.raises(ValidationError, match="24 échéances : 2 paliers"):
        programme([tier("A", 1, 24), tier("B", 24, None)], 60)
    with pytest.raises(ValidationError, match="aucun palier par acomptes"):
        programme([tier("A", 61, None)], 60)
