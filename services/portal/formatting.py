"""How dates read on a Moroccan page: ``10/01/2027``, ``03/2024``, ``14:05``. Amounts and rates
read through ``contracts.money.format_amount`` / ``format_rate``, the one formatter every service,
page and PDF shares.

Presentation only: every amount arrives computed by a service, as the decimal string of its JSON.
"""

from datetime import date, datetime

from services.runtime.clock import BUSINESS_TZ as CASABLANCA


def date_text(value: date | datetime | str) -> str:
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    return f"{value:%d/%m/%Y}"


def period_text(value: str) -> str:
    """``2024-03`` → ``03/2024``, as the CNSS prints periods."""
    year, _, month = value.partition("-")
    return f"{month}/{year}"


def time_text(value: datetime | str) -> str:
    """The time of day in Casablanca, whatever zone the instant came in."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return f"{value.astimezone(CASABLANCA):%H:%M}"
