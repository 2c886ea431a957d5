"""Periods as month indexes (year * 12 + month - 1), so spells are plain integer ranges; booking and due dates."""

from datetime import date


def _mois(periode: str) -> int:
    annee, mois = periode.split("-")
    return int(annee) * 12 + int(mois) - 1


def _periode(mois: int) -> str:
    return f"{mois // 12:04d}-{mois % 12 + 1:02d}"


def _jour(mois: int, jour: int) -> date:
    return date(mois // 12, mois % 12 + 1, jour)


def _mois_de(jour: date) -> int:
    return jour.year * 12 + jour.month - 1


def _comptabilisation(mois: int) -> date:
    """The contribution of a period is booked on the first day of the next month ..."""
    return _jour(mois + 1, 1)


def _echeance(mois: int) -> date:
    """... and is due by the 10th of that month."""
    return _jour(mois + 1, 10)
