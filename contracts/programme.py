"""The remission programme as data: every money and date rule reads it, none is written in code.

A ministerial decision sets the rates, the caps and the dates of one campaign; the next decision
changes them. Simulation, requests and debits all load the same programme file, so the rules they
apply cannot drift apart. Shipped programmes live in ``contracts/programmes/<CODE>.json``.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import Field, PlainSerializer, model_validator

from contracts.envelope import Contract
from contracts.identifiers import Period, period_key
from contracts.money import PositiveMoney

Modality = Literal["FULL", "INSTALLMENTS"]
"""``FULL``: paiement intégral; ``INSTALLMENTS``: paiement par acomptes (avance + échéances)."""

Rate = Annotated[
    Decimal,
    Field(ge=0, le=1, max_digits=5, decimal_places=4, description='taux de remise, p. ex. "0.60" pour 60 %'),
    PlainSerializer(lambda rate: f"{rate:f}", return_type=str, when_used="json"),
]


class Rates(Contract):
    """Remise rates per category; principal (cotisations) is never remitted."""

    majorations: Rate
    frais: Rate
    astreintes: Rate


class Tier(Contract):
    code: str = Field(min_length=1, max_length=32, description="p. ex. FULL, INSTALLMENTS_1_24")
    modality: Modality
    min_installments: int | None = Field(default=None, ge=1)
    max_installments: int | None = Field(default=None, ge=1)
    rates: Rates

    def covers(self, modality: Modality, installments: int) -> bool:
        if modality != self.modality:
            return False
        if modality == "FULL":
            return True
        low = self.min_installments or 1
        return low <= installments and (self.max_installments is None or installments <= self.max_installments)


@dataclass(frozen=True, slots=True)
class CountRange:
    """Consecutive installment counts, ``low`` to ``high`` included."""

    low: int
    high: int

    def __contains__(self, count: object) -> bool:
        return isinstance(count, int) and self.low <= count <= self.high

    def as_json(self) -> dict[str, int]:
        return {"min": self.low, "max": self.high}


def count_ranges(counts: Iterable[int]) -> list[CountRange]:
    """The counts as sorted, disjoint ranges, each as long as it can be: ``1..23, 25..60``."""
    ranges: list[CountRange] = []
    for n in sorted(set(counts)):
        if ranges and ranges[-1].high == n - 1:
            ranges[-1] = CountRange(ranges[-1].low, n)
        else:
            ranges.append(CountRange(n, n))
    return ranges


class Window(Contract):
    opens_on: date
    closes_on: date | None = Field(default=None, description="absent : l'espace reste ouvert")

    def is_open(self, on: date) -> bool:
        return self.opens_on <= on and (self.closes_on is None or on <= self.closes_on)


class Representation(Contract):
    """Which bank rejections are presented again, how often and how many business days later."""

    reason_codes: list[str] = Field(default_factory=lambda: ["AM04", "MS02", "MS03"])
    times: int = Field(default=1, ge=0)
    business_days_later: int = Field(default=5, ge=1)


class Contributions(Contract):
    """Article 2: the contributions that fall due during a plan are paid with it.

    A period's contributions are due on ``due_day`` of the next month (the next business day when
    that is not one); unpaid ``grace_days`` later, the affiliate is given notice and ``cure_days``
    to pay; unpaid after that, the plan is forfeited (domain.md, "Obligations during a plan")."""

    due_day: int = Field(default=10, ge=1, le=28, description="jour d'exigibilité des cotisations du mois échu")
    grace_days: int = Field(default=15, ge=0, le=90, description="délai de grâce après l'exigibilité")
    cure_days: int = Field(default=30, ge=1, le=180, description="délai de régularisation après la mise en demeure")


class Conditions(Contract):
    """Les conditions générales the affiliate accepts; a new text is a new version."""

    version: str = Field(min_length=1, max_length=32)
    text: str = Field(min_length=1)
    text_ar: str | None = Field(
        default=None, min_length=1, description="the same text in Arabic (the pages and PDFs of an Arabic reader)"
    )


class Programme(Contract):
    code: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")
    decision: str
    eligible_until: Period = Field(description="dernière période couverte (incluse)")
    window: Window
    tiers: list[Tier] = Field(min_length=2)
    max_installments: int = Field(ge=1, le=120)
    minimum_installment: PositiveMoney
    guarantee_days: int = Field(ge=1, description="délai de dépôt des garanties après la validation")
    debit_day: int = Field(ge=1, le=28, description="jour du mois des prélèvements")
    draft_inactivity_hours: int = Field(default=24, ge=1)
    quote_validity_minutes: int = Field(default=30, ge=1)
    representation: Representation = Field(default_factory=Representation)
    extra_holidays: list[date] = Field(default_factory=list, description="jours fériés ajoutés au calendrier")
    contributions: Contributions = Field(default_factory=Contributions)
    conditions: Conditions

    @model_validator(mode="after")
    def _tiers_cover_every_count_once(self) -> Self:
        if sum(t.modality == "FULL" for t in self.tiers) != 1:
            raise ValueError("un programme a exactement un palier FULL")
        # A count no tier covers is a gap the decision left (refused, named in the refusal); a count
        # two tiers cover would have two rates.
        for n in range(1, self.max_installments + 1):
            covering = [t.code for t in self.tiers if t.covers("INSTALLMENTS", n)]
            if len(covering) > 1:
                raise ValueError(f"{n} échéances : {len(covering)} paliers au lieu d'un ({covering})")
        if not self.allowed_installment_ranges():
            raise ValueError(f"aucun palier par acomptes ne couvre de 1 à {self.max_installments} échéances")
        return self

    def allowed_installment_ranges(self) -> list[CountRange]:
        """The counts an installment plan may have: those of the ``INSTALLMENTS`` tiers, up to
        ``max_installments``, as sorted, disjoint, merged ranges (``1..23, 25..60`` when no tier covers 24)."""
        return count_ranges(
            n for n in range(1, self.max_installments + 1) if any(t.covers("INSTALLMENTS", n) for t in self.tiers)
        )

    def allows_installments(self, installments: int) -> bool:
        """Whether ``installments`` lies in one of ``allowed_installment_ranges()``."""
        return 1 <= installments <= self.max_installments and any(
            t.covers("INSTALLMENTS", installments) for t in self.tiers
        )

    def tier(self, modality: Modality, installments: int = 0) -> Tier:
        """The tier depends on the modality and, for installments, on their count only."""
        if modality == "INSTALLMENTS" and not self.allows_installments(installments):
            ranges = ", ".join(f"{r.low}..{r.high}" for r in self.allowed_installment_ranges())
            raise ValueError(f"{installments} échéances : hors des nombres permis ({ranges})")
        return next(t for t in self.tiers if t.covers(modality, installments))

    def covers_period(self, period: str) -> bool:
        return period_key(period) <= period_key(self.eligible_until)


def load_programme(path: Path) -> Programme:
    return Programme.model_validate_json(path.read_bytes())


def shipped_programme(code: str) -> Programme:
    """A programme shipped with the code, by its code (``DEC-05-2023``)."""
    source = resources.files("contracts") / "programmes" / f"{code}.json"
    if not source.is_file():
        raise LookupError(f"programme inconnu : {code}")
    return Programme.model_validate_json(source.read_bytes())


CURRENT_PROGRAMME = "DEC-05-2023"
