"""Amounts and dates as a Moroccan page shows them: presentation only, never a different number."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts.money import NBSP
from contracts.money import format_amount as montant
from services.portal.formatting import date_text, period_text
from services.portal.web import local_path

amounts = st.decimals(min_value=Decimal("-999999999.99"), max_value=Decimal("999999999.99"), places=2)


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("12345.60", f"12{NBSP}345,60{NBSP}MAD"),
        ("0", f"0,00{NBSP}MAD"),
        ("999.00", f"999,00{NBSP}MAD"),
        ("1000", f"1{NBSP}000,00{NBSP}MAD"),
        ("-1234567.89", f"-1{NBSP}234{NBSP}567,89{NBSP}MAD"),
        ("100000000.05", f"100{NBSP}000{NBSP}000,05{NBSP}MAD"),
    ],
)
def test_amounts_read_the_moroccan_way(value: str, shown: str) -> None:
    assert montant(value) == shown


@given(amounts)
def test_the_text_reads_back_as_the_same_amount_to_the_centime(value: Decimal) -> None:
    shown = montant(value, currency="")
    groups = shown.lstrip("-").split(",")[0].split(NBSP)
    assert all(len(g) == 3 for g in groups[1:]) and 1 <= len(groups[0]) <= 3
    assert Decimal(shown.replace(NBSP, "").replace(",", ".")) == value


def test_dates_and_periods() -> None:
    assert date_text("2027-01-12") == "12/01/2027"
    assert date_text("2026-12-10T09:30:00+00:00") == "10/12/2026"
    assert period_text("2024-12") == "12/2024"


@pytest.mark.parametrize(
    ("target", "kept"),
    [
        ("/creance", "/creance"),
        ("/demandes/abc?devis=1", "/demandes/abc?devis=1"),
        ("https://evil.example/", "/"),
        ("//evil.example/x", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("", "/"),
        (None, "/"),
    ],
)
def test_a_return_address_is_always_a_page_of_the_portal(target: str | None, kept: str) -> None:
    assert local_path(target) == kept
