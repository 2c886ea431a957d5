"""Why a simulation is refused: a stable code for programs, a French sentence for people."""

from collections.abc import Mapping, Sequence

from contracts.programme import CountRange
from contracts.refusals import Refusal

Detail = str | int | list[dict[str, int]]
"""A refusal's figure, JSON-ready: an amount as text, a count, or counts as ``[{"min": 1, "max": 23}, …]``."""


def refused(code: str, message: str, details: Mapping[str, Detail] | None = None) -> Refusal:
    """A quote the programme does not allow: the caller's input (422); ``details`` carry the
    allowed range (JSON-ready values)."""
    return Refusal(code, message, kind="invalid", **dict(details or {}))


def counts_in_words(ranges: Sequence[CountRange]) -> str:
    """``de 1 à 23 ou de 25 à 60``, ``12``, ``de 1 à 21, 24 ou de 30 à 36``: counts as people say them."""
    words = [str(r.low) if r.low == r.high else f"de {r.low} à {r.high}" for r in ranges]
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} ou {words[-1]}"


def counts_as_json(ranges: Sequence[CountRange]) -> list[dict[str, int]]:
    return [r.as_json() for r in ranges]


RIEN_A_REMETTRE = "rien-a-remettre"
RIEN_A_PAYER = "rien-a-payer"
PARAMETRES_INCOHERENTS = "parametres-incoherents"
ECHEANCES_HORS_LIMITES = "echeances-hors-limites"
AVANCE_HORS_LIMITES = "avance-hors-limites"
ECHEANCE_SOUS_MINIMUM = "echeance-sous-minimum"
BUDGET_INSUFFISANT = "budget-insuffisant"
