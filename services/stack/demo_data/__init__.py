"""Deterministic demo data: Damancom accounts, a believable debt ledger since 2015 and bank accounts.

The same ``(affiliates, seed, today)`` always gives the same dataset, event ids included, so a fresh
stack shows the same figures every time and a re-seed is deduplicated by the consumers' inbox.
Pure: no clock, no file, no network; the launcher publishes what this returns.

Two accounts are scripted rather than drawn, so the README can promise what they show whatever the seed:
``demo.simple`` (one affiliate with penalties to remit) and ``demo.groupe`` (one affiliate to remit, one
held by an active arrangement, one with nothing to remit). The other affiliates are drawn at random.
"""

import random
from datetime import date

from contracts.debt import LedgerMessage
from services.auth.service.import_accounts import DamancomExport
from services.stack.demo_data.accounts import _comptes, _comptes_bancaires, _identifiants
from services.stack.demo_data.employers import _employeurs_aleatoires, _employeurs_scriptes
from services.stack.demo_data.ledger import _historique, _ordre_de_publication
from services.stack.demo_data.model import (
    AUJOURD_HUI_MINIMUM,
    BANQUES,
    PASSWORD,
    PERCEPTIONS,
    BankAccount,
    DemoDataset,
    majoration,
    mois_de_retard,
)

__all__ = [
    "BANQUES",
    "PASSWORD",
    "PERCEPTIONS",
    "BankAccount",
    "DemoDataset",
    "LedgerMessage",
    "generate",
    "majoration",
    "mois_de_retard",
]


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
