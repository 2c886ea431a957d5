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
FIRST_PERIOD = "2015-01"
LAST_ELIGIBLE_PERIOD = "2024-12"  # DEC-05-2023; the scripted accounts are built around it
EARLIEST_TODAY = date(2025, 1, 1)  # the scripted active arrangement opens after the cut-off
BOOKING_TIME = time(9, 0, tzinfo=UTC)
FIRST_RANDOM_AFFILIATE = 1000100

FIRST_MONTH_RATE = Decimal("0.03")
NEXT_MONTHS_RATE = Decimal("0.01")
FRAIS_RATE = Decimal("0.05")
ASTREINTE_AMOUNTS = (Decimal("500.00"), Decimal("1000.00"), Decimal("1500.00"), Decimal("2000.00"))

PERCEPTIONS: dict[str, tuple[Perception, str]] = {
    # code -> (perception, RIB city code of the town it sits in)
    code: (Perception(code=code, name=name), city)
    for code, name, city in (
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

DEMO_BANKS: tuple[tuple[str, str], ...] = (
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

_NAMES = (
    "Atlas", "Sahara", "Oasis", "Argan", "Menara", "Kasbah", "Zagora", "Tafilalet", "Souss", "Doukkala",
    "Chaouia", "Ifrane", "Toubkal", "Bouregreg", "Sebou", "Tensift", "Moulouya", "Draa", "Rif", "Saïs",
)  # fmt: skip
_ACTIVITIES = (
    "Textiles", "Logistique", "BTP", "Agro Export", "Services", "Distribution", "Conseil", "Industries",
    "Transport", "Immobilier", "Pêche", "Boulangerie", "Imprimerie", "Informatique", "Céramique",
)  # fmt: skip
_LEGAL_FORMS = ("SARL", "SA", "SARL AU", "SNC")


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

    Every started month counts (see ``months_late_between``); rounded half-up to the centime.
    """
    if months_late <= 0 or unpaid_principal <= 0:
        return ZERO
    rate = FIRST_MONTH_RATE + NEXT_MONTHS_RATE * (months_late - 1)
    return round_half_up(unpaid_principal * rate)


def months_late_between(due_date: date, paid_on: date) -> int:
    """How many months, started ones included, ``paid_on`` is after ``due_date`` (0 when on time)."""
    if paid_on <= due_date:
        return 0
    month = (paid_on.year - due_date.year) * 12 + paid_on.month - due_date.month
    return month + (1 if paid_on.day > due_date.day else 0)
