"""How amounts and dates read on a Moroccan page: ``12 345,60 MAD``, ``10/01/2027``.

Presentation only: every amount arrives computed by a service, as the decimal string of its JSON.
"""

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

CASABLANCA = ZoneInfo("Africa/Casablanca")

NBSP = "\u00a0"
"""Thousands are grouped with a no-break space, so an amount never wraps across two lines."""


def montant(value: Decimal | str, currency: str = "MAD") -> str:
    """``Decimal("12345.6")`` → ``12 345,60 MAD`` (no-break spaces); negative amounts keep their sign."""
    amount = Decimal(value).quantize(Decimal("0.01"))
    sign = "-" if amount < 0 else ""
    units, _, cents = f"{abs(amount):f}".partition(".")
    groups: list[str] = []
    while len(units) > 3:
        groups.insert(0, units[-3:])
        units = units[:-3]
    groups.insert(0, units)
    number = f"{sign}{NBSP.join(groups)},{cents}"
    return f"{number}{NBSP}{currency}" if currency else number


def jour(value: date | datetime | str) -> str:
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    return f"{value:%d/%m/%Y}"


def periode(value: str) -> str:
    """``2024-03`` → ``03/2024``, as the CNSS prints periods."""
    year, _, month = value.partition("-")
    return f"{month}/{year}"


def heure(value: datetime | str) -> str:
    """The time of day in Casablanca, whatever zone the instant came in."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return f"{value.astimezone(CASABLANCA):%H:%M}"
