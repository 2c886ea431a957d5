"""The consolidated debt of one affiliate: per period, four categories, each due / paid / written off /
outstanding."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal

from contracts.money import ZERO

Category = Literal["principal", "majorations", "astreintes", "frais"]
CATEGORIES: tuple[Category, ...] = ("principal", "majorations", "astreintes", "frais")


@dataclass(frozen=True)
class Line:
    due: Decimal = ZERO
    paid: Decimal = ZERO
    written_off: Decimal = ZERO
    """What a definitive remission cancelled: no longer owed, though never paid."""

    @property
    def outstanding(self) -> Decimal:
        return self.due - self.paid - self.written_off


@dataclass(frozen=True)
class PeriodBalance:
    period: str
    lines: Mapping[Category, Line]
    principal_paid_on: date | None = None
    """The latest principal payment's date (see ``ledger.principal_paid_dates``)."""

    def line(self, category: Category) -> Line:
        return self.lines.get(category, Line())


@dataclass(frozen=True)
class Arrangement:
    arrangement_id: str
    perception_code: str
    perception_name: str
    opened_on: date


def is_eligible(period: str, cutoff: str) -> bool:
    """Periods up to and including the programme's cut-off ('YYYY-MM' sorts as text)."""
    return period <= cutoff


@dataclass(frozen=True)
class Totals:
    eligible: Mapping[Category, Decimal]
    non_eligible: Mapping[Category, Decimal]


RemissionState = Literal["PENDING", "DEFINITIVE", "REINSTATED"]


@dataclass(frozen=True)
class Remission:
    """The remission of the affiliate's latest validated plan, as debt learnt it from events.

    PENDING while the plan runs (nothing written off: the remise is only shown), DEFINITIVE once the
    plan is completed (``shares`` were written off), REINSTATED once it defaulted (nothing written off,
    every remitted amount owed again)."""

    request_id: str
    state: RemissionState
    eligible_periods: tuple[str, ...]
    remise: Mapping[Category, Decimal]
    to_pay: Decimal
    paid: Decimal
    unapplied: Decimal
    shares: Mapping[str, Mapping[Category, Decimal]]
    """The remise shared out per eligible period and category (see ``domain/remission.py``)."""

    @property
    def remise_total(self) -> Decimal:
        return sum(self.remise.values(), ZERO)


@dataclass(frozen=True)
class Position:
    affiliate: str
    version: int
    periods: tuple[PeriodBalance, ...]
    arrangement: Arrangement | None = None
    remission: Remission | None = None

    @classmethod
    def of(
        cls,
        affiliate: str,
        version: int,
        periods: Iterable[PeriodBalance],
        arrangement: Arrangement | None,
        remission: Remission | None = None,
    ) -> "Position":
        return cls(affiliate, version, tuple(sorted(periods, key=lambda p: p.period)), arrangement, remission)

    def totals(self, cutoff: str) -> Totals:
        """Outstanding amounts, split at the programme's cut-off."""
        eligible = dict.fromkeys(CATEGORIES, ZERO)
        other = dict.fromkeys(CATEGORIES, ZERO)
        for balance in self.periods:
            target = eligible if is_eligible(balance.period, cutoff) else other
            for category in CATEGORIES:
                target[category] += balance.line(category).outstanding
        return Totals(eligible, other)
