"""Deterministic demo data: Damancom accounts, a believable debt ledger since 2015 and bank accounts.

The same ``(affiliates, seed, today)`` always gives the same dataset, event ids included, so a fresh
stack shows the same figures every time and a re-seed is deduplicated by the consumers' inbox.
Pure: no clock, no file, no network; the launcher publishes what this returns.

Two accounts are scripted rather than drawn, so the README can promise what they show whatever the seed:
``demo.simple`` (one affiliate with penalties to remit) and ``demo.groupe`` (one affiliate to remit, one
held by an active arrangement, one with nothing to remit). The other affiliates are drawn at random.
"""

import math
import random
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Literal

from contracts.debt import (
    ArrangementClosed,
    ArrangementOpened,
    Category,
    ChargeBooked,
    PaymentReceived,
    Perception,
)
from contracts.identifiers import rib_key
from contracts.money import ZERO, round_half_up
from services.auth.service.import_accounts import AccountRecord, AffiliateRecord, DamancomExport

LedgerMessage = ChargeBooked | PaymentReceived | ArrangementOpened | ArrangementClosed
"""What ``debt.ledger.v1`` carries (``contracts.debt.LedgerEntry`` without the discriminator annotation)."""

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


# --- public API ------------------------------------------------------------------------------------


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


def generate(affiliates: int = 20, seed: int = 2024, *, today: date = date(2026, 11, 1)) -> DemoDataset:
    """The whole demo dataset; periods run from 2015-01 to the month before ``today``."""
    if affiliates < 0:
        raise ValueError("le nombre d'affiliés supplémentaires est positif ou nul")
    if today < AUJOURD_HUI_MINIMUM:
        raise ValueError(f"les comptes de démonstration supposent today >= {AUJOURD_HUI_MINIMUM}")
    rng = random.Random(seed)
    employeurs = _employeurs_scriptes(today) + _employeurs_aleatoires(rng, affiliates, today)
    historiques = [_historique(e, seed, today) for e in employeurs]
    comptes = _comptes(rng, employeurs, affiliates)
    return DemoDataset(
        export=DamancomExport(affiliates=[e.fiche for e in employeurs], accounts=[c for c, _ in comptes]),
        ledger=_ordre_de_publication(historiques),
        bank_accounts=[compte for e in employeurs for compte in _comptes_bancaires(e, seed)],
        logins=_identifiants(comptes, {e.fiche.numero: h for e, h in zip(employeurs, historiques, strict=True)}),
    )


# --- calendar --------------------------------------------------------------------------------------
# A period is handled as a month index (year * 12 + month - 1) so spells are plain integer ranges.


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


# --- the affiliates --------------------------------------------------------------------------------

Penalites = Literal["impayees", "payees", "partielles"]


@dataclass(frozen=True)
class _Retard:
    """A spell of unpaid contributions and how it ended.

    Without an arrangement the arrears are settled in one payment on ``reglement`` (``None``: still
    unpaid). With one, the perception collects one period a month from the month after ``ouverture``;
    an active arrangement is simply one whose collection has not finished by ``today``.
    """

    debut: int
    duree: int
    reglement: date | None = None
    penalites: Penalites = "impayees"
    arrangement: Literal["aucun", "clos", "actif"] = "aucun"
    ouverture: date | None = None
    astreinte: bool = False
    recouvrement: bool = False

    @property
    def fin(self) -> int:
        return self.debut + self.duree - 1

    def couvre(self, mois: int) -> bool:
        return self.debut <= mois <= self.fin


@dataclass(frozen=True)
class _Employeur:
    fiche: AffiliateRecord
    masse_salariale: Decimal  # the monthly contribution of its first year, before growth and noise
    debut: int  # first period it owes
    retards: tuple[_Retard, ...]
    comptes_bancaires: int
    description: str = ""


def _ice(numero: str) -> str:
    """A well-formed 15-digit ICE: 9 for the company, 4 for the establishment, 2 of key.

    The key uses the RIB's modulo 97 only so the numbers look alike; the ICE's own rule is not public.
    """
    corps = f"00{numero}0001"
    return corps + f"{97 - int(corps) % 97:02d}"


def _fiche(numero: int, raison_sociale: str, perception: str) -> AffiliateRecord:
    return AffiliateRecord(
        numero=str(numero), raison_sociale=raison_sociale, ice=_ice(str(numero)), perception=PERCEPTIONS[perception][0]
    )


def _employeurs_scriptes(today: date) -> list[_Employeur]:
    """The four affiliates of demo.simple and demo.groupe: their spells are fixed, only amounts vary."""
    m = _mois
    # The active arrangement opened nine months ago, so it is still collecting whatever ``today`` is.
    ouverture = max(_jour(_mois_de(today) - 9, 15), date(2024, 9, 15))
    return [
        _Employeur(
            _fiche(1000001, "Atlas Textiles SARL", "CAS-01"),
            Decimal("18500.00"),
            m(PREMIERE_PERIODE),
            (
                _Retard(m("2017-03"), 4, date(2017, 11, 6), "impayees", astreinte=True),
                _Retard(m("2019-06"), 6, None, "partielles", "clos", date(2020, 2, 17), recouvrement=True),
                _Retard(m("2024-05"), 4, None, "impayees", astreinte=True, recouvrement=True),
            ),
            comptes_bancaires=2,
            description="pénalités à remettre et cotisations 2024 impayées ; un ancien arrangement clos",
        ),
        _Employeur(
            _fiche(1000002, "Sahara Logistique SA", "RAB-02"),
            Decimal("64000.00"),
            m("2016-01"),
            (
                _Retard(m("2016-08"), 3, date(2017, 2, 14), "impayees", astreinte=True),
                _Retard(m("2021-01"), 6, date(2021, 11, 22), "partielles", recouvrement=True),
            ),
            comptes_bancaires=1,
            description="majorations et astreintes à remettre",
        ),
        _Employeur(
            _fiche(1000003, "Oasis Agro Export SARL", "FES-01"),
            Decimal("9200.00"),
            m("2018-04"),
            (_Retard(m("2023-01"), 18, None, "impayees", "actif", ouverture, astreinte=True, recouvrement=True),),
            comptes_bancaires=1,
            description="arrangement actif à la Perception Fès Saïs : la demande est refusée",
        ),
        _Employeur(
            _fiche(1000004, "Rif Céramique SARL AU", "TNG-01"),
            Decimal("5400.00"),
            m("2017-09"),
            (
                _Retard(m("2018-02"), 3, date(2018, 7, 12), "payees", astreinte=True),
                _Retard(m("2020-04"), 3, date(2020, 10, 5), "payees"),
            ),
            comptes_bancaires=1,
            description="rien à remettre : toutes ses pénalités jusqu'à 2024-12 sont payées",
        ),
    ]


def _employeurs_aleatoires(rng: random.Random, nombre: int, today: date) -> list[_Employeur]:
    raisons = [f"{n} {a} {f}" for n in _NOMS for a in _ACTIVITES for f in _FORMES]
    rng.shuffle(raisons)
    perceptions = sorted(PERCEPTIONS)
    employeurs = []
    for i in range(nombre):
        raison = raisons[i % len(raisons)] + (f" {i // len(raisons) + 1}" if i >= len(raisons) else "")
        # Log-uniform so small employers are as common as large ones, as in the CNSS population.
        masse = Decimal(int(math.exp(rng.uniform(math.log(3000), math.log(180000))))).quantize(Decimal("0.01"))
        debut = rng.randint(_mois(PREMIERE_PERIODE), _mois("2023-06"))
        employeurs.append(
            _Employeur(
                _fiche(PREMIER_AFFILIE_ALEATOIRE + i, raison, rng.choice(perceptions)),
                masse,
                debut,
                _retards_aleatoires(rng, debut, today),
                comptes_bancaires=rng.choice((1, 1, 2)),
            )
        )
    return employeurs


def _retards_aleatoires(rng: random.Random, debut: int, today: date) -> tuple[_Retard, ...]:
    """Zero to three late spells, and for about one affiliate in ten an arrangement still running."""
    derniere = _mois_de(today) - 2  # the last period already due
    actif = _retard_en_arrangement_actif(rng, debut, today) if rng.random() < 0.10 else None
    occupes = [actif] if actif else []
    for _ in range(rng.choices((0, 1, 2, 3), (15, 35, 30, 20))[0]):
        duree = rng.randint(1, 8)
        if derniere - duree < debut:
            continue
        candidat = _Retard(rng.randint(debut, derniere - duree + 1), duree)
        if all(candidat.fin + 1 < r.debut or r.fin + 1 < candidat.debut for r in occupes):
            occupes.append(candidat)
    borne = actif.ouverture if actif and actif.ouverture else today
    libre_apres = date.min
    retards = []
    for brouillon in sorted(occupes, key=lambda r: r.debut):
        retard = brouillon if brouillon is actif else _issue_aleatoire(rng, brouillon, today, borne, libre_apres)
        if retard.arrangement == "clos":
            libre_apres = _cloture(retard)
        retards.append(retard)
    return tuple(retards)


def _retard_en_arrangement_actif(rng: random.Random, debut: int, today: date) -> _Retard | None:
    duree = rng.randint(6, 14)
    mois_ecoules = rng.randint(2, duree - 1)  # fewer installments collected than periods: still running
    ouverture = _jour(_mois_de(today) - mois_ecoules, rng.randint(1, 28))
    fin = _mois_de(ouverture) - 2 - rng.randint(0, 3)
    if fin - duree + 1 < debut:
        return None
    return _Retard(fin - duree + 1, duree, None, "impayees", "actif", ouverture, rng.random() < 0.5, rng.random() < 0.5)


def _issue_aleatoire(rng: random.Random, retard: _Retard, today: date, borne: date, libre_apres: date) -> _Retard:
    """Draws how a spell ended; a closed arrangement must fit between the others and before ``borne``."""
    echeance = _echeance(retard.fin)
    delai = rng.choice((1, 1, 2, 2, 3, 4, 6, 9, 12, 18))  # months after the last due date; most catch up fast
    reglement: date | None = _jour(_mois_de(echeance) + delai, rng.randint(1, 28))
    if rng.random() < 0.12 or (reglement is not None and reglement >= today):
        reglement = None
    arrangement: Literal["aucun", "clos"] = "aucun"
    ouverture = None
    if reglement is not None and retard.duree >= 3 and rng.random() < 0.3:
        ouverture = _jour(_mois_de(echeance) + rng.randint(1, 4), rng.randint(1, 28))
        arrangement = "clos"
    penalites: Penalites = "impayees"
    if reglement is not None:
        penalites = rng.choices(("impayees", "payees", "partielles"), (55, 25, 20))[0]
    astreinte, recouvrement = rng.random() < 0.35, rng.random() < 0.4
    candidat = _Retard(
        retard.debut, retard.duree, reglement, penalites, arrangement, ouverture, astreinte, recouvrement
    )
    if ouverture is not None and not (libre_apres < ouverture and _cloture(candidat) < borne):
        # It would overlap another arrangement or still be running: settled in one payment instead.
        return replace(candidat, arrangement="aucun", ouverture=None)
    return candidat


def _paiement_en_arrangement(retard: _Retard, rang: int) -> date:
    """The perception collects the oldest period first, on the 10th of each month after opening."""
    assert retard.ouverture is not None
    return _jour(_mois_de(retard.ouverture) + rang + 1, 10)


def _cloture(retard: _Retard) -> date:
    return _paiement_en_arrangement(retard, retard.duree - 1) + timedelta(days=3)


def _arrangement_id(numero: str, retard: _Retard) -> str:
    return f"DEMO-ARR-{numero}-{_periode(retard.debut)}"


# --- the ledger ------------------------------------------------------------------------------------


@dataclass
class _Historique:
    """The ledger of one affiliate as it is written, with what remains due per period and category.

    Every payment is capped by what is due at that point and dated no earlier than the charges it
    settles, so once sorted by date the ledger never shows a negative balance.
    """

    numero: str
    rng: random.Random
    today: date
    ecritures: list[tuple[date, int, LedgerMessage]] = field(default_factory=list)
    soldes: dict[tuple[str, Category], Decimal] = field(default_factory=lambda: defaultdict(lambda: ZERO))
    derniers_debits: dict[tuple[str, Category], date] = field(default_factory=dict)
    arrangements_ouverts: dict[str, Perception] = field(default_factory=dict)
    _compteurs: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))

    def doit(self, periode: str, categorie: Category, montant: Decimal, le: date) -> None:
        if montant <= 0:
            return
        self._publier(
            ChargeBooked,
            {
                "entry_id": self._entry_id(periode, categorie[0].upper() if categorie != "principal" else "C"),
                "affiliate": self.numero,
                "period": periode,
                "category": categorie,
                "amount": montant,
                "booked_on": le,
            },
            le,
        )
        self.soldes[periode, categorie] += montant
        self.derniers_debits[periode, categorie] = max(le, self.derniers_debits.get((periode, categorie), le))

    def paie(self, periode: str, categorie: Category, montant: Decimal, le: date) -> None:
        montant = min(montant, self.soldes[periode, categorie])
        if montant <= 0 or le > self.today:
            return
        assert le >= self.derniers_debits[periode, categorie], "un paiement précède sa dette"
        self._publier(
            PaymentReceived,
            {
                "entry_id": self._entry_id(periode, "P"),
                "affiliate": self.numero,
                "period": periode,
                "category": categorie,
                "amount": montant,
                "received_on": le,
            },
            le,
        )
        self.soldes[periode, categorie] -= montant

    def ouvre(self, arrangement_id: str, perception: Perception, le: date) -> None:
        self._publier(
            ArrangementOpened,
            {
                "entry_id": f"{arrangement_id}-O",
                "affiliate": self.numero,
                "arrangement_id": arrangement_id,
                "perception": perception,
                "opened_on": le,
            },
            le,
        )
        self.arrangements_ouverts[arrangement_id] = perception

    def clot(self, arrangement_id: str, le: date) -> None:
        self._publier(
            ArrangementClosed,
            {
                "entry_id": f"{arrangement_id}-F",
                "affiliate": self.numero,
                "arrangement_id": arrangement_id,
                "closed_on": le,
            },
            le,
        )
        del self.arrangements_ouverts[arrangement_id]

    def penalites_eligibles(self) -> Decimal:
        return sum(
            (s for (p, c), s in self.soldes.items() if c != "principal" and p <= DERNIERE_PERIODE_ELIGIBLE), ZERO
        )

    def _entry_id(self, periode: str, lettre: str) -> str:
        self._compteurs[periode, lettre] += 1
        return f"DEMO-{self.numero}-{periode}-{lettre}-{self._compteurs[periode, lettre]}"

    def _publier(self, message: type[LedgerMessage], payload: dict[str, object], le: date) -> None:
        event_id = uuid.UUID(int=self.rng.getrandbits(128), version=4)
        envelope = message.build(
            payload, producer=PRODUCER, occurred_at=datetime.combine(le, HEURE_DE_COMPTABILISATION), event_id=event_id
        )
        self.ecritures.append((le, len(self.ecritures), envelope))


def _historique(employeur: _Employeur, seed: int, today: date) -> _Historique:
    # One generator per affiliate: the scripted accounts stay identical whatever the number of others.
    numero = employeur.fiche.numero
    h = _Historique(numero, random.Random(seed * 10_000_000 + int(numero)), today)
    for mois in range(employeur.debut, _mois_de(today)):
        principal = _cotisation(h.rng, employeur, mois)
        h.doit(_periode(mois), "principal", principal, _comptabilisation(mois))
        retard = next((r for r in employeur.retards if r.couvre(mois)), None)
        if retard is None:
            h.paie(_periode(mois), "principal", principal, _comptabilisation(mois) + timedelta(h.rng.randint(1, 9)))
        else:
            _periode_en_retard(h, employeur, retard, mois, principal)
    for retard in employeur.retards:
        _astreinte(h, retard)
        _arrangement(h, employeur, retard)
        _paiement_des_penalites(h, retard)
    return h


def _cotisation(rng: random.Random, employeur: _Employeur, mois: int) -> Decimal:
    """Payroll grows about 2 % a year and moves a few percent from month to month."""
    croissance = Decimal("1.02") ** ((mois - employeur.debut) // 12)
    bruit = 1 + Decimal(rng.randint(-400, 400)) / 10_000
    return round_half_up(employeur.masse_salariale * croissance * bruit)


def _periode_en_retard(h: _Historique, employeur: _Employeur, retard: _Retard, mois: int, principal: Decimal) -> None:
    periode, echeance = _periode(mois), _echeance(mois)
    if h.rng.random() < 0.25:  # an acompte on time, the rest late
        acompte = round_half_up(principal * Decimal(h.rng.randint(20, 70)) / 100)
        h.paie(periode, "principal", acompte, _comptabilisation(mois) + timedelta(h.rng.randint(1, 9)))
    reste = h.soldes[periode, "principal"]
    paye_le = _date_de_paiement(retard, mois)
    if paye_le is not None and paye_le <= h.today:
        h.paie(periode, "principal", reste, paye_le)
        h.doit(periode, "majorations", majoration(reste, mois_de_retard(echeance, paye_le)), paye_le)
    else:
        paye_le = None
        h.doit(periode, "majorations", majoration(reste, mois_de_retard(echeance, h.today)), h.today)
    recouvrement = _jour(_mois_de(echeance) + 3, echeance.day)
    if retard.recouvrement and recouvrement <= h.today and (paye_le is None or recouvrement < paye_le):
        h.doit(periode, "frais", round_half_up(reste * TAUX_FRAIS), recouvrement)


def _date_de_paiement(retard: _Retard, mois: int) -> date | None:
    if retard.arrangement != "aucun":
        return _paiement_en_arrangement(retard, mois - retard.debut)
    return retard.reglement


def _astreinte(h: _Historique, retard: _Retard) -> None:
    """A late or missing declaration: a flat amount on the spell's first period, a month after its due date."""
    le = _jour(_mois_de(_echeance(retard.debut)) + 1, 10)
    if retard.astreinte and le <= h.today:
        h.doit(_periode(retard.debut), "astreintes", h.rng.choice(MONTANTS_ASTREINTE), le)


def _arrangement(h: _Historique, employeur: _Employeur, retard: _Retard) -> None:
    if retard.arrangement == "aucun":
        return
    assert retard.ouverture is not None
    arrangement_id = _arrangement_id(h.numero, retard)
    h.ouvre(arrangement_id, employeur.fiche.perception, retard.ouverture)
    if retard.arrangement == "clos":
        h.clot(arrangement_id, _cloture(retard))


def _paiement_des_penalites(h: _Historique, retard: _Retard) -> None:
    if retard.penalites == "impayees":
        return
    categories: tuple[Category, ...] = ("majorations", "astreintes", "frais")
    periodes = [_periode(m) for m in range(retard.debut, retard.fin + 1)]
    dus = [(p, c) for p in periodes for c in categories if h.soldes[p, c]]
    if not dus:
        return
    le = min(h.today, max(h.derniers_debits[d] for d in dus) + timedelta(h.rng.randint(5, 60)))
    for periode, categorie in dus:
        solde = h.soldes[periode, categorie]
        if retard.penalites == "partielles" and categorie == "majorations":
            solde = round_half_up(solde * Decimal(h.rng.randint(30, 70)) / 100)
        h.paie(periode, categorie, solde, le)


def _ordre_de_publication(historiques: Sequence[_Historique]) -> list[tuple[str, LedgerMessage]]:
    """As the core systems would publish: by date, then affiliate, then the order it was written."""
    ecritures = [(le, h.numero, rang, e) for h in historiques for le, rang, e in h.ecritures]
    ecritures.sort(key=lambda x: (x[0], x[1], x[2]))
    return [(numero, envelope) for _, numero, _, envelope in ecritures]


# --- accounts, bank accounts, logins ---------------------------------------------------------------


def _compte(login: str, nom: str, numeros: list[str]) -> AccountRecord:
    return AccountRecord(login=login, display_name=f"[DEMO] {nom}", password=PASSWORD, affiliates=numeros)


def _comptes(rng: random.Random, employeurs: list[_Employeur], nombre: int) -> list[tuple[AccountRecord, str]]:
    """(account, what it shows): the two scripted accounts, one per random affiliate, and a few groups."""
    simple, *groupe = employeurs[:4]
    comptes = [
        (_compte("demo.simple", "Atlas Textiles SARL", [simple.fiche.numero]), _decrit([simple])),
        (_compte("demo.groupe", "Groupe Sahara Holding", [e.fiche.numero for e in groupe]), _decrit(groupe)),
    ]
    aleatoires = [e.fiche for e in employeurs[4:]]
    for i, fiche in enumerate(aleatoires, start=1):
        comptes.append((_compte(f"demo.affilie.{i:03d}", fiche.raison_sociale, [fiche.numero]), ""))
    for g in range(1, nombre // 8 + 1):
        membres = sorted(rng.sample([f.numero for f in aleatoires], rng.randint(2, min(4, len(aleatoires)))))
        comptes.append((_compte(f"demo.groupe.{g:02d}", f"Groupe {rng.choice(_NOMS)} {g}", membres), ""))
    return comptes


def _decrit(employeurs: list[_Employeur]) -> str:
    return " ; ".join(f"{e.fiche.numero} {e.fiche.raison_sociale} : {e.description}" for e in employeurs)


def _identifiants(
    comptes: list[tuple[AccountRecord, str]], historiques: dict[str, _Historique]
) -> list[tuple[str, str, str]]:
    """The scripted accounts, then a summary of each random one computed from its own ledger."""
    return [
        (compte.login, PASSWORD, scripte or " ; ".join(f"{n} : {_resume(historiques[n])}" for n in compte.affiliates))
        for compte, scripte in comptes
    ]


def _resume(h: _Historique) -> str:
    perception = next(iter(h.arrangements_ouverts.values()), None)
    if perception is not None:
        return f"arrangement actif ({perception.name})"
    penalites = h.penalites_eligibles()
    if penalites > 0:
        return f"{penalites:,.2f} MAD de pénalités à remettre".replace(",", " ")
    return "rien à remettre"


def _comptes_bancaires(employeur: _Employeur, seed: int) -> list[BankAccount]:
    fiche = employeur.fiche
    rng = random.Random(f"rib:{seed}:{fiche.numero}")
    ville = PERCEPTIONS[fiche.perception.code][1]
    comptes = []
    for code, nom in rng.sample(BANQUES, employeur.comptes_bancaires):
        debut = f"{code}{ville}{rng.randrange(10**16):016d}"
        comptes.append(
            BankAccount(
                affiliate=fiche.numero,
                rib=debut + rib_key(debut),
                bank_code=code,
                bank_name=nom,
                holder=fiche.raison_sociale,
                id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            )
        )
    return comptes
