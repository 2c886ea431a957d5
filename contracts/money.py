"""Money: ``Decimal`` with exactly two places, written as a string in JSON ("12345.60"), never a float."""

import re
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import Annotated

from pydantic import BeforeValidator, Field, PlainSerializer, WithJsonSchema

CENTIME = Decimal("0.01")
ZERO = Decimal("0.00")
MAX_AMOUNT = Decimal("1e14")
"""Postgres stores amounts as NUMERIC(16,2): 14 digits before the point."""

_WRITTEN = re.compile(r"[+-]?[0-9]{1,32}(\.[0-9]{1,32})?", re.ASCII)
"""How an amount is written: ASCII digits and a point. ``Decimal`` alone also takes exponents
("1e999999", work for nothing and a typo nobody means), other scripts' digits ("١٢٣" is 123) and
"NaN"; a partner or a form that sends those made a mistake, and money never moves on a guess."""


_CANONICAL = re.compile(r"-?[0-9]{1,14}\.[0-9]{2}", re.ASCII)
"""How our own producers write an amount (``_to_json``): such a text is below ``MAX_AMOUNT`` with
exactly two places by its shape, so it needs none of the checks below. Every event carries dozens
of amounts (a 61-debit quote, a 24-period position) and each consumer reads each one: the checks
were 1.7 µs an amount, the shape alone is 0.6."""


def _to_decimal(value: object) -> Decimal:
    if type(value) is str and _CANONICAL.fullmatch(value):
        amount = Decimal(value)
        return amount if amount else ZERO  # "-0.00" is 0.00, as below
    if isinstance(value, float):
        # A float has already lost the centime; refuse it rather than guess.
        raise ValueError("un montant doit être une chaîne décimale, pas un nombre flottant")
    if isinstance(value, Decimal):
        amount = value
    elif isinstance(value, (str, int)):
        text = str(value).strip()
        if not _WRITTEN.fullmatch(text):
            raise ValueError("montant illisible : des chiffres 0-9 et un point, p. ex. 1234.50")
        amount = Decimal(text)
    else:
        raise ValueError("montant illisible")
    if not amount.is_finite():
        raise ValueError("montant illisible")
    if abs(amount) >= MAX_AMOUNT:
        raise ValueError("montant trop grand")
    if amount != amount.quantize(CENTIME):
        raise ValueError("un montant a au plus deux décimales")
    return amount.quantize(CENTIME) + 0  # + 0 turns -0.00 into 0.00


def parse_amount(text: str) -> Decimal:
    """A typed amount (a form field): ASCII digits and a point, two places at most, under 1e14;
    ``ValueError`` otherwise, before any arithmetic (an exponent is refused, never expanded)."""
    return _to_decimal(text)


def _to_json(value: Decimal) -> str:
    return f"{value.quantize(CENTIME) + 0:f}"


Money = Annotated[
    Decimal,
    BeforeValidator(_to_decimal),
    PlainSerializer(_to_json, return_type=str, when_used="json"),
    Field(json_schema_extra={"type": "string", "pattern": r"^-?[0-9]{1,14}\.[0-9]{2}$"}),
]
"""Any amount, signed (a balance can be negative when overpaid)."""

PositiveMoney = Annotated[
    Money,
    Field(gt=0),
    WithJsonSchema({"type": "string", "pattern": r"^(?!0+\.00$)[0-9]{1,14}\.[0-9]{2}$"}, mode="serialization"),
]
"""An amount that must be strictly positive (an entry, a payment)."""


def round_half_up(value: Decimal) -> Decimal:
    """Round to the centime, half away from zero (the programme's rule for remises)."""
    return value.quantize(CENTIME, rounding=ROUND_HALF_UP) + 0


def round_down(value: Decimal) -> Decimal:
    """Round towards zero to the centime (the programme's rule for installments)."""
    return value.quantize(CENTIME, rounding=ROUND_DOWN) + 0


NBSP = "\u00a0"
"""Thousands are grouped with a no-break space, so an amount never wraps across two lines."""


def format_amount(value: Decimal | str, currency: str = "MAD") -> str:
    """THE way an amount reads for a person, in French and in Arabic pages alike (the CNSS prints
    Latin digits in both): ``Decimal("12345.6")`` → ``12 345,60 MAD``, no-break spaces, the sign kept.
    Every sentence, page, PDF and refusal message formats amounts here; JSON carries the decimal
    string ("12345.60"), never this."""
    amount = Decimal(value).quantize(CENTIME)
    sign = "-" if amount < 0 else ""
    units, _, cents = f"{abs(amount):f}".partition(".")
    groups: list[str] = []
    while len(units) > 3:
        groups.insert(0, units[-3:])
        units = units[:-3]
    groups.insert(0, units)
    number = f"{sign}{NBSP.join(groups)},{cents}"
    return f"{number}{NBSP}{currency}" if currency else number


def format_rate(rate: Decimal | str) -> str:
    """A remission rate for a person: ``"0.60"`` → ``60 %``, ``"0.425"`` → ``42,5 %``."""
    percent = (Decimal(rate) * 100).normalize()
    return f"{percent:f}".replace(".", ",") + f"{NBSP}%"
