"""How ledger entries move balances: a charge raises what is due, a payment what is paid, a write-off
(a remission made definitive) what is written off."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal

from contracts.money import ZERO
from services.debt.domain.position import CATEGORIES, Category

Side = Literal["due", "paid", "written_off"]
SIDES: tuple[Side, ...] = ("due", "paid", "written_off")
COLUMNS: tuple[str, ...] = tuple(f"{c}_{side}" for c in CATEGORIES for side in SIDES)


@dataclass(frozen=True)
class Booking:
    affiliate: str
    period: str
    category: Category
    side: Side
    amount: Decimal
    on: date | None = None
    """The entry's date (a payment's ``received_on``): kept for the principal's latest payment."""


def balance_deltas(bookings: Iterable[Booking]) -> dict[tuple[str, str], dict[str, Decimal]]:
    """Sum a batch of bookings per (affiliate, period) and balance column, so the store gets one
    upsert per period touched rather than one per entry."""
    deltas: dict[tuple[str, str], dict[str, Decimal]] = {}
    for booking in bookings:
        row = deltas.setdefault((booking.affiliate, booking.period), dict.fromkeys(COLUMNS, ZERO))
        row[f"{booking.category}_{booking.side}"] += booking.amount
    return deltas


def principal_paid_dates(bookings: Iterable[Booking]) -> dict[tuple[str, str], date]:
    """The latest date of a principal payment per (affiliate, period) in a batch.

    Requests watches current contributions (article 2) by the day their principal was paid; once a
    period's principal is paid in full, the latest of its payments' dates is the day it was settled,
    whatever order the payments arrived in."""
    latest: dict[tuple[str, str], date] = {}
    for booking in bookings:
        if booking.category == "principal" and booking.side == "paid" and booking.on is not None:
            key = (booking.affiliate, booking.period)
            known = latest.get(key)
            latest[key] = booking.on if known is None or known < booking.on else known
    return latest
