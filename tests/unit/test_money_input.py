"""Amounts as partners and forms write them: ASCII digits and a point, refused fast otherwise."""

import re
import time
from collections.abc import Callable
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from contracts import money
from contracts.money import CENTIME, MAX_AMOUNT, Money


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


def _checked(value: object) -> Decimal:
    """The reading before its shortcut for canonical texts (2026-12-07), kept as the reference."""
    if isinstance(value, float):
        raise ValueError("float")
    if isinstance(value, Decimal):
        amount = value
    elif isinstance(value, (str, int)):
        text = str(value).strip()
        if not re.fullmatch(r"[+-]?[0-9]{1,32}(\.[0-9]{1,32})?", text, re.ASCII):
            raise ValueError("illisible")
        amount = Decimal(text)
    else:
        raise ValueError("illisible")
    if not amount.is_finite() or abs(amount) >= MAX_AMOUNT or amount != amount.quantize(CENTIME):
        raise ValueError("refused")
    return amount.quantize(CENTIME) + 0


def _read(read: Callable[[object], Decimal], value: object) -> tuple[int, tuple[int, tuple[int, ...], int | str]] | str:
    try:
        return 0, read(value).as_tuple()  # the digits and the exponent: "5.00" is not "5.0"
    except ValueError:
        return "refused"


@settings(max_examples=2000)
@given(
    st.from_regex(r"[+-]?[0-9]{1,16}(\.[0-9]{0,3})?", fullmatch=True)
    | st.text(alphabet="0123456789.-+ e\n", max_size=20)
    | st.decimals(allow_nan=False, allow_infinity=False, places=2).map(str)
)
def test_the_shortcut_for_canonical_amounts_reads_every_text_as_the_full_checks_do(typed: str) -> None:
    assert _read(money._to_decimal, typed) == _read(_checked, typed)


@pytest.mark.parametrize("typed", ["-0.00", "0.00", "99999999999999.99", "-99999999999999.99", "0.01"])
def test_the_shortcut_s_edges(typed: str) -> None:
    assert _read(money._to_decimal, typed) == _read(_checked, typed) != "refused"
