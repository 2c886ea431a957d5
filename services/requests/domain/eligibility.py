"""May this affiliate open a new request? Each rule of domain.md has its own reason."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from contracts.debt import PeriodPosition
from contracts.programme import Programme
from contracts.refusals import Refusal


@dataclass(frozen=True)
class ArrangementFact:
    perception_code: str
    perception_name: str


@dataclass(frozen=True)
class EligibilityFacts:
    """What the request service knows of the affiliate when it asks."""

    request_in_progress: str | None
    """the id of the affiliate's request in a non-terminal state, if any"""
    arrangement: ArrangementFact | None
    remissible: Decimal | None
    """majorations + astreintes + frais outstanding on eligible periods; None: no known debt"""
    defaulted_before: bool
    today: date


def request_in_progress(request_id: str | None) -> Refusal:
    """One request at a time per affiliate; ``request_id`` names the one in progress (None when a
    creation that won a race has not committed it yet)."""
    return Refusal("demande-en-cours", "Une demande est déjà en cours pour cet affilié.", request_id=request_id)


def refusals(programme: Programme, facts: EligibilityFacts) -> list[Refusal]:
    """Every reason that stands, most useful first (the portal shows the first, can list all)."""
    found: list[Refusal] = []
    if not programme.window.is_open(facts.today):
        found.append(
            Refusal(
                "programme-ferme",
                f"Le programme {programme.code} n'accepte pas de demande à cette date.",
                opens_on=programme.window.opens_on.isoformat(),
                closes_on=programme.window.closes_on.isoformat() if programme.window.closes_on else None,
            )
        )
    if facts.request_in_progress is not None:
        found.append(request_in_progress(facts.request_in_progress))
    if facts.arrangement is not None:
        found.append(
            Refusal(
                "arrangement-actif",
                f"Cet affilié bénéficie d'un arrangement en cours : veuillez vous adresser à la "
                f"{facts.arrangement.perception_name}.",
                perception={"code": facts.arrangement.perception_code, "name": facts.arrangement.perception_name},
            )
        )
    if facts.defaulted_before:
        found.append(
            Refusal(
                "defaillance-anterieure",
                f"Une demande précédente de cet affilié au titre du programme {programme.code} a été "
                "déchue : une nouvelle demande n'est pas possible.",
            )
        )
    if facts.remissible is None:
        found.append(
            Refusal(
                "creance-inconnue",
                "La créance de cet affilié n'est pas encore disponible : veuillez réessayer dans quelques instants.",
            )
        )
    elif not facts.remissible:
        found.append(
            Refusal(
                "rien-a-remettre",
                "Aucune majoration, astreinte ou frais de recouvrement n'est dû sur les périodes éligibles "
                f"(jusqu'à {_month_year(programme.eligible_until)}).",
            )
        )
    return found


def remissible(periods: list[PeriodPosition], programme: Programme) -> Decimal:
    """Majorations, astreintes and frais still owed on the periods the programme covers: the part a
    remise can apply to (an overpaid category counts as nothing owed, not as a credit)."""
    totals = {"majorations": Decimal(0), "astreintes": Decimal(0), "frais": Decimal(0)}
    for period in periods:
        if programme.covers_period(period.period):
            totals["majorations"] += period.majorations.outstanding
            totals["astreintes"] += period.astreintes.outstanding
            totals["frais"] += period.frais.outstanding
    return sum((max(total, Decimal(0)) for total in totals.values()), Decimal("0.00"))


def validation_refusals(programme: Programme, arrangement: ArrangementFact | None, today: date) -> list[Refusal]:
    """What may have changed since the request was opened and still forbids validating it."""
    facts = EligibilityFacts(None, arrangement, Decimal(1), defaulted_before=False, today=today)
    return [r for r in refusals(programme, facts) if r.code in ("programme-ferme", "arrangement-actif")]


def _month_year(period: str) -> str:
    """A period as people write it in Morocco: 2024-12 is 12/2024."""
    year, month = period.split("-")
    return f"{month}/{year}"
