"""Dates and times a partner may send: years 2000 to 2099, nothing a business date could not be.

A partner's message is validated at the door; a date far outside any business sense is a typo or an
attack, and it must fail there (the message goes to its ``.dlq`` with the reason) rather than deep in a
consumer: ``9999-12-31T23:30:00Z`` is a valid ISO 8601 instant that overflows once moved to
Casablanca time, and a date 400 days old is one no guarantee or bank answer can carry. The bound is
checked on the year as written, so moving the value to any time zone stays in range; the JSON Schema
says it with a ``pattern`` on the written year, for partners that do not use these models.
"""

from datetime import date, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, Field

EARLIEST_YEAR = 2000
LATEST_YEAR = 2099
_YEAR_PATTERN = r"^20[0-9]{2}-"
"""The written year, 2000 to 2099, as the JSON Schema states it (same bound as the validators)."""


def _check_year(value: date) -> None:
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise ValueError(f"année {value.year} hors des bornes admises ({EARLIEST_YEAR} à {LATEST_YEAR})")


def _bounded_datetime(value: datetime) -> datetime:
    _check_year(value)
    return value


def _bounded_date(value: date) -> date:
    _check_year(value)
    return value


BoundedDatetime = Annotated[
    AwareDatetime,
    AfterValidator(_bounded_datetime),
    Field(
        description=f"instant avec fuseau horaire, année {EARLIEST_YEAR} à {LATEST_YEAR}",
        json_schema_extra={"pattern": _YEAR_PATTERN},
    ),
]
"""An instant with its time zone, years 2000 to 2099: every datetime a partner sends."""

BoundedDate = Annotated[
    date,
    AfterValidator(_bounded_date),
    Field(
        description=f"date AAAA-MM-JJ, année {EARLIEST_YEAR} à {LATEST_YEAR}",
        json_schema_extra={"pattern": _YEAR_PATTERN},
    ),
]
"""A calendar date, years 2000 to 2099: every date a partner sends (a bank's settlement day...)."""
