"""Identifiers of the business: affiliate numbers, periods, ICE, RIB."""

from typing import Annotated

from pydantic import AfterValidator, Field, WithJsonSchema

PRINTABLE = r"^[^\x00-\x1f\x7f]+$"
"""No control character: a text a caller types or a partner sends is shown, stored and copied as it
is (Postgres refuses NUL in text)."""


AFFILIATE_PATTERN = r"^[0-9]{7}$"
AFFILIATE_DESCRIPTION = "numéro d'affiliation (7 chiffres)"
AffiliateNumber = Annotated[str, Field(pattern=AFFILIATE_PATTERN, description=AFFILIATE_DESCRIPTION)]
Ice = Annotated[str, Field(pattern=r"^[0-9]{15}$", description="Identifiant commun de l'entreprise (15 chiffres)")]
PERIOD_PATTERN = r"^[0-9]{4}-(0[1-9]|1[0-2])$"
"""A contribution period, AAAA-MM with a month from 01 to 12."""
Period = Annotated[
    str,
    Field(pattern=PERIOD_PATTERN, description="période de cotisation AAAA-MM"),
    WithJsonSchema(
        {"description": "période de cotisation AAAA-MM", "pattern": r"^[0-9]{4}-[0-9]{2}$", "type": "string"}
    ),
]
"""The month is checked in the pattern, not by a Python function after it: every position carries
up to 140 periods and each consumer reads each one (0.6 µs a period with the function, 0.06
without). It accepts exactly what the function did, so the published schemas keep their v1 pattern."""


EMAIL = (
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)
"""An address a relay delivers to: ASCII, no blank, no quote, no control character. A partner's
``"a@b.ma\r\nBcc: x@y"`` is refused here, so no header is ever written from it."""

Email = Annotated[str, Field(max_length=254, pattern=EMAIL, description="adresse électronique")]
MoroccanMobile = Annotated[
    str,
    Field(pattern=r"^\+212[67][0-9]{8}$", description="mobile marocain au format international (+2126… ou +2127…)"),
]


def rib_key(first_22_digits: str) -> str:
    """The two-digit key that makes a 24-digit RIB divisible by 97."""
    return f"{97 - (int(first_22_digits) * 100) % 97:02d}"


def is_valid_rib(rib: str) -> bool:
    # isascii: str.isdigit() also accepts Arabic-Indic digits, which no bank system would.
    return len(rib) == 24 and rib.isascii() and rib.isdigit() and int(rib) % 97 == 0


def _check_rib(value: str) -> str:
    if not is_valid_rib(value):
        raise ValueError("RIB invalide : 24 chiffres dont la clé (modulo 97)")
    return value


Rib = Annotated[
    str, Field(pattern=r"^[0-9]{24}$", description="RIB marocain (24 chiffres)"), AfterValidator(_check_rib)
]


def bank_code(rib: str) -> str:
    """Digits 1-3 of a RIB: the bank whose debit-order topic receives this account's orders."""
    return rib[:3]


def mask_rib(rib: str) -> str:
    return "*" * (len(rib) - 4) + rib[-4:]


def period_key(period: str) -> tuple[int, int]:
    year, month = period.split("-")
    return int(year), int(month)
