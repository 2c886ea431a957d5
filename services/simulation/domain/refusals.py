"""Why a simulation is refused: a stable code for programs, a French sentence for people."""

from collections.abc import Mapping

from contracts.refusals import Refusal


def refused(code: str, message: str, details: Mapping[str, str | int] | None = None) -> Refusal:
    """A quote the programme does not allow: the caller's input (422); ``details`` carry the
    allowed range (JSON-ready values)."""
    return Refusal(code, message, kind="invalid", **dict(details or {}))


RIEN_A_REMETTRE = "rien-a-remettre"
RIEN_A_PAYER = "rien-a-payer"
PARAMETRES_INCOHERENTS = "parametres-incoherents"
ECHEANCES_HORS_LIMITES = "echeances-hors-limites"
AVANCE_HORS_LIMITES = "avance-hors-limites"
ECHEANCE_SOUS_MINIMUM = "echeance-sous-minimum"
BUDGET_INSUFFISANT = "budget-insuffisant"
