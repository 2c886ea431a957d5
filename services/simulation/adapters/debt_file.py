"""The debt file the offline ``simulate`` command reads: outstanding amounts per period."""

from typing import Self

from pydantic import Field, model_validator

from contracts.envelope import Contract
from contracts.identifiers import Period
from contracts.money import ZERO, Money


class PeriodOutstanding(Contract):
    period: Period
    principal: Money = ZERO
    majorations: Money = ZERO
    astreintes: Money = ZERO
    frais: Money = ZERO


class DebtFile(Contract):
    periods: list[PeriodOutstanding] = Field(max_length=10_000)

    @model_validator(mode="after")
    def _each_period_once(self) -> Self:
        seen: set[str] = set()
        for line in self.periods:
            if line.period in seen:
                raise ValueError(f"la période {line.period} apparaît deux fois")
            seen.add(line.period)
        return self
