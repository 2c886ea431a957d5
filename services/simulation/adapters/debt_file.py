"""The debt file the offline ``simulate`` command reads: outstanding amounts per period."""

import re
from typing import Any, Self

from pydantic import Field, field_validator, model_validator

from contracts.envelope import Contract
from contracts.identifiers import PERIOD_PATTERN, Period
from contracts.money import ZERO, Money

_PERIOD = re.compile(PERIOD_PATTERN)


class PeriodOutstanding(Contract):
    period: Period
    principal: Money = ZERO
    majorations: Money = ZERO
    astreintes: Money = ZERO
    frais: Money = ZERO

    @field_validator("period", mode="before")
    @classmethod
    def _period_in_french(cls, value: Any) -> Any:
        # A file someone typed: told in French what a period is (``Period``'s own pattern error is
        # pydantic's English; the services word it by its type, this command prints the message).
        if isinstance(value, str) and not _PERIOD.fullmatch(value):
            raise ValueError("une période s'écrit AAAA-MM avec un mois de 01 à 12")
        return value


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
