"""Amounts as partners and forms write them: ASCII digits and a point, refused fast otherwise."""

import time

import pytest
from pydantic import BaseModel, ValidationError

from contracts.money import Money


class Form(BaseModel):
    advance: Money


@pytest.mark.parametrize(
    "typed",
    [
        "1e999999",  # an exponent: Decimal takes it, nobody means it
        "9E+999999999",
        "1e-999999999",
        "١٢٣",  # Arabic-Indic digits: Decimal reads 123
        "１２３",  # fullwidth digits
        "1 000,00",
        "0x10",
        "1_000",
        "1" * 40,  # too long to be an amount
        "12.",
        ".5",
        "- 5",
    ],
)
def test_an_amount_not_written_with_ascii_digits_and_a_point_is_refused_naming_the_field(typed: str) -> None:
    started = time.perf_counter()
    with pytest.raises(ValidationError) as refused:
        Form(advance=typed)
    assert time.perf_counter() - started < 0.5  # an expanded exponent takes minutes; a loaded CI, a blink
    assert refused.value.errors()[0]["loc"] == ("advance",)
    assert "illisible" in refused.value.errors()[0]["msg"]


@pytest.mark.parametrize(
    ("typed", "amount"), [(" 1234.5 ", "1234.50"), ("-0.00", "0.00"), ("+7", "7.00"), (12, "12.00")]
)
def test_ordinary_amounts_still_read(typed: object, amount: str) -> None:
    assert f"{Form(advance=typed).advance}" == amount


@pytest.mark.parametrize("typed", ["1e999999999", "1E+50000000", "١٢٣", "12,345", "1.234"])
def test_the_portal_takes_no_typed_amount_the_services_would_refuse_and_expands_no_exponent(typed: str) -> None:
    from services.portal.pages.demande.simulation import _decimal

    started = time.perf_counter()
    assert _decimal(typed) is None
    assert time.perf_counter() - started < 0.5  # an expanded exponent takes minutes; a loaded CI, a blink


@pytest.mark.parametrize(("typed", "amount"), [("12 345,60", "12345.60"), ("1\u00a0000", "1000.00"), ("", "0.00")])
def test_the_portal_reads_amounts_as_people_type_them(typed: str, amount: str) -> None:
    from services.portal.pages.demande.simulation import _decimal

    assert f"{_decimal(typed)}" == amount
