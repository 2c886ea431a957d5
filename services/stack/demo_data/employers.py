"""The affiliates: the scripted ones the README promises, the random ones, and their spells of lateness."""

import math
import random
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Literal

from services.auth.service.import_accounts import AffiliateRecord
from services.stack.demo_data.calendar import _echeance, _jour, _mois, _mois_de, _periode
from services.stack.demo_data.model import (
    _ACTIVITES,
    _FORMES,
    _NOMS,
    PERCEPTIONS,
    PREMIER_AFFILIE_ALEATOIRE,
    PREMIERE_PERIODE,
)

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
