"""The consolidated debt of one affiliate: per period, four categories, each due / paid / outstanding."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal

Category = Literal["principal", "majorations", "astreintes", "frais"]
CATEGORIES: tuple[Category, ...] = ("principal", "majorations", "astreintes", "frais")
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Line:
    due: Decimal = ZERO
    paid: Decimal = ZERO

    @property
    def outstanding(self) -> Decimal:
        return self.due - self.paid


@dataclass(frozen=True)
class PeriodBalance:
    period: str
    lines: Mapping[Category, Line]

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


@dataclass(frozen=True)
class Position:
    affiliate: str
    version: int
    periods: tuple[PeriodBalance, ...]
    arrangement: Arrangement | None = None

    @classmethod
    def of(
        cls, affiliate: str, version: int, periods: Iterable[PeriodBalance], arrangement: Arrangement | None
    ) -> "Position":
        return cls(affiliate, version, tuple(sorted(periods, key=lambda p: p.period)), arrangement)

    def totals(self, cutoff: str) -> Totals:
        """Outstanding amounts, split at the programme's cut-off."""
        eligible = dict.fromkeys(CATEGORIES, ZERO)
        other = dict.fromkeys(CATEGORIES, ZERO)
        for balance in self.periods:
            target = eligible if is_eligible(balance.period, cutoff) else other
            for category in CATEGORIES:
                target[category] += balance.line(category).outstanding
        return Totals(eligible, other)
