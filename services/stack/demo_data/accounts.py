"""Damancom accounts and logins, and each affiliate's bank accounts."""

import random
import uuid

from contracts.identifiers import rib_key
from contracts.money import format_amount
from services.auth.service.import_accounts import AccountRecord
from services.stack.demo_data.employers import _Employeur
from services.stack.demo_data.ledger import _Historique
from services.stack.demo_data.model import _NOMS, BANQUES, PASSWORD, PERCEPTIONS, BankAccount


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
        return f"{format_amount(penalites)} de pénalités à remettre"
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
