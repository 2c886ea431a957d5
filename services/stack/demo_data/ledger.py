"""The ledger: each affiliate's contributions, lateness, penalties, arrangements and payments, in publication order."""

import random
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from contracts.debt import (
    ArrangementClosed,
    ArrangementClosedPayload,
    ArrangementOpened,
    ArrangementOpenedPayload,
    Category,
    ChargeBooked,
    ChargeBookedPayload,
    LedgerMessage,
    PaymentReceived,
    PaymentReceivedPayload,
    Perception,
)
from contracts.envelope import Contract
from contracts.money import ZERO, round_half_up
from services.stack.demo_data.calendar import _comptabilisation, _echeance, _jour, _mois_de, _periode
from services.stack.demo_data.employers import _arrangement_id, _cloture, _Employeur, _paiement_en_arrangement, _Retard
from services.stack.demo_data.model import (
    DERNIERE_PERIODE_ELIGIBLE,
    HEURE_DE_COMPTABILISATION,
    MONTANTS_ASTREINTE,
    PRODUCER,
    TAUX_FRAIS,
    majoration,
    mois_de_retard,
)


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
            ChargeBookedPayload(
                entry_id=self._entry_id(periode, categorie[0].upper() if categorie != "principal" else "C"),
                affiliate=self.numero,
                period=periode,
                category=categorie,
                amount=montant,
                booked_on=le,
            ),
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
            PaymentReceivedPayload(
                entry_id=self._entry_id(periode, "P"),
                affiliate=self.numero,
                period=periode,
                category=categorie,
                amount=montant,
                received_on=le,
            ),
            le,
        )
        self.soldes[periode, categorie] -= montant

    def ouvre(self, arrangement_id: str, perception: Perception, le: date) -> None:
        self._publier(
            ArrangementOpened,
            ArrangementOpenedPayload(
                entry_id=f"{arrangement_id}-O",
                affiliate=self.numero,
                arrangement_id=arrangement_id,
                perception=perception,
                opened_on=le,
            ),
            le,
        )
        self.arrangements_ouverts[arrangement_id] = perception

    def clot(self, arrangement_id: str, le: date) -> None:
        self._publier(
            ArrangementClosed,
            ArrangementClosedPayload(
                entry_id=f"{arrangement_id}-F",
                affiliate=self.numero,
                arrangement_id=arrangement_id,
                closed_on=le,
            ),
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

    def _publier(self, message: type[LedgerMessage], payload: Contract, le: date) -> None:
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
