"""The part of a position the programme covers: outstanding amounts of the eligible periods, per category."""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from contracts.money import ZERO
from contracts.programme import Programme


@dataclass(frozen=True, slots=True)
class Outstanding:
    """What remains due on one period (``due − paid``, negative when the period was overpaid)."""

    period: str
    principal: Decimal
    majorations: Decimal
    astreintes: Decimal
    frais: Decimal


@dataclass(frozen=True, slots=True)
class EligibleDebt:
    """Signed totals over the eligible periods: an overpaid period lowers its category's total."""

    periods: tuple[str, ...]
    principal: Decimal = ZERO
    majorations: Decimal = ZERO
    astreintes: Decimal = ZERO
    frais: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        return self.principal + self.majorations + self.astreintes + self.frais


def eligible_debt(programme: Programme, outstanding: Iterable[Outstanding]) -> EligibleDebt:
    """Periods after the programme's cut-off stay ordinary debt: they are left out here."""
    periods: list[str] = []
    principal = majorations = astreintes = frais = ZERO
    for line in outstanding:
        if not programme.covers_period(line.period):
            continue
        periods.append(line.period)
        principal += line.principal
        majorations += line.majorations
        astreintes += line.astreintes
        frais += line.frais
    return EligibleDebt(tuple(sorted(periods)), principal, majorations, astreintes, frais)
