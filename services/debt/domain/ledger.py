"""How ledger entries move balances: a charge raises what is due, a payment what is paid, a write-off
(a remission made definitive) what is written off."""

from collections.abc import Iterable
from dataclasses import dataclass
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


def balance_deltas(bookings: Iterable[Booking]) -> dict[tuple[str, str], dict[str, Decimal]]:
    """Sum a batch of bookings per (affiliate, period) and balance column, so the store gets one
    upsert per period touched rather than one per entry."""
    deltas: dict[tuple[str, str], dict[str, Decimal]] = {}
    for booking in bookings:
        row = deltas.setdefault((booking.affiliate, booking.period), dict.fromkeys(COLUMNS, ZERO))
        row[f"{booking.category}_{booking.side}"] += booking.amount
    return deltas
