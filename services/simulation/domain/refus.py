"""Why a simulation is refused: a stable code for programs, a French sentence for people."""

from collections.abc import Mapping


class RefusSimulation(Exception):
    """A quote the programme does not allow; ``details`` carry the allowed range (JSON-ready values)."""

    def __init__(self, code: str, message: str, details: Mapping[str, str | int] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details: dict[str, str | int] = dict(details or {})


RIEN_A_REMETTRE = "rien-a-remettre"
RIEN_A_PAYER = "rien-a-payer"
PARAMETRES_INCOHERENTS = "parametres-incoherents"
ECHEANCES_HORS_LIMITES = "echeances-hors-limites"
AVANCE_HORS_LIMITES = "avance-hors-limites"
ECHEANCE_SOUS_MINIMUM = "echeance-sous-minimum"
BUDGET_INSUFFISANT = "budget-insuffisant"
