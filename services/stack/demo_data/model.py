"""The demo's fixed data and rules: constants, perceptions, banks, names, majorations, the dataset's shape."""

from dataclasses import dataclass
from datetime import UTC, date, time
from decimal import Decimal

from contracts.debt import (
    LedgerMessage,
    Perception,
)
from contracts.money import ZERO, round_half_up
from services.auth.service.import_accounts import DamancomExport

PRODUCER = "seeder"
PASSWORD = "Demo-2024!"  # noqa: S105 - the demo password is published in the README on purpose
PREMIERE_PERIODE = "2015-01"
DERNIERE_PERIODE_ELIGIBLE = "2024-12"  # DEC-05-2023; the scripted accounts are built around it
AUJOURD_HUI_MINIMUM = date(2025, 1, 1)  # the scripted active arrangement opens after the cut-off
HEURE_DE_COMPTABILISATION = time(9, 0, tzinfo=UTC)
PREMIER_AFFILIE_ALEATOIRE = 1000100

TAUX_PREMIER_MOIS = Decimal("0.03")
TAUX_MOIS_SUIVANT = Decimal("0.01")
TAUX_FRAIS = Decimal("0.05")
MONTANTS_ASTREINTE = (Decimal("500.00"), Decimal("1000.00"), Decimal("1500.00"), Decimal("2000.00"))

PERCEPTIONS: dict[str, tuple[Perception, str]] = {
    # code -> (perception, RIB city code of the town it sits in)
    code: (Perception(code=code, name=name), ville)
    for code, name, ville in (
        ("CAS-01", "Perception Casablanca Anfa", "780"),
        ("CAS-02", "Perception Casablanca Aïn Sebaâ", "780"),
        ("RAB-02", "Perception Rabat Agdal", "810"),
        ("FES-01", "Perception Fès Saïs", "270"),
        ("TNG-01", "Perception Tanger Médina", "640"),
        ("MAR-01", "Perception Marrakech Guéliz", "450"),
        ("AGA-01", "Perception Agadir Talborjt", "010"),
        ("MEK-01", "Perception Meknès Hamria", "480"),
        ("OUJ-01", "Perception Oujda Centre", "600"),
    )
}

BANQUES: tuple[tuple[str, str], ...] = (
    ("007", "Attijariwafa bank"),
    ("011", "BMCE Bank of Africa"),
    ("013", "BMCI"),
    ("021", "Crédit du Maroc"),
    ("022", "Société Générale Maroc"),
    ("145", "Banque Populaire"),
    ("190", "Banque Populaire"),
    ("225", "Crédit Agricole du Maroc"),
    ("230", "CIH Bank"),
)

_NOMS = (
    "Atlas", "Sahara", "Oasis", "Argan", "Menara", "Kasbah", "Zagora", "Tafilalet", "Souss", "Doukkala",
    "Chaouia", "Ifrane", "Toubkal", "Bouregreg", "Sebou", "Tensift", "Moulouya", "Draa", "Rif", "Saïs",
)  # fmt: skip
_ACTIVITES = (
    "Textiles", "Logistique", "BTP", "Agro Export", "Services", "Distribution", "Conseil", "Industries",
    "Transport", "Immobilier", "Pêche", "Boulangerie", "Imprimerie", "Informatique", "Céramique",
)  # fmt: skip
_FORMES = ("SARL", "SA", "SARL AU", "SNC")


@dataclass(frozen=True)
class BankAccount:
    affiliate: str
    rib: str
    bank_code: str
    bank_name: str
    holder: str
    id: str


@dataclass(frozen=True)
class DemoDataset:
    export: DamancomExport
    ledger: list[tuple[str, LedgerMessage]]
    """(key = affiliate number, message) in publication order."""
    bank_accounts: list[BankAccount]
    logins: list[tuple[str, str, str]]
    """(login, password, what it shows), for the README and the launcher's printout."""


def majoration(unpaid_principal: Decimal, months_late: int) -> Decimal:
    """Majoration de retard: 3 % of the unpaid principal for the first month, 1 % per further month.

    Every started month counts (see ``mois_de_retard``); rounded half-up to the centime.
    """
    if months_late <= 0 or unpaid_principal <= 0:
        return ZERO
    taux = TAUX_PREMIER_MOIS + TAUX_MOIS_SUIVANT * (months_late - 1)
    return round_half_up(unpaid_principal * taux)


def mois_de_retard(echeance: date, paye_le: date) -> int:
    """How many months, started ones included, ``paye_le`` is after ``echeance`` (0 when on time)."""
    if paye_le <= echeance:
        return 0
    mois = (paye_le.year - echeance.year) * 12 + paye_le.month - echeance.month
    return mois + (1 if paye_le.day > echeance.day else 0)
