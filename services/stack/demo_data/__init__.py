"""Deterministic demo data: Damancom accounts, a believable debt ledger since 2015 and bank accounts.

The same ``(affiliates, seed, today)`` always gives the same dataset, event ids included, so a fresh
stack shows the same figures every time and a re-seed is deduplicated by the consumers' inbox.
Pure: no clock, no file, no network; the launcher publishes what this returns.

Two accounts are scripted rather than drawn, so the README can promise what they show whatever the seed:
``demo.simple`` (one affiliate with penalties to remit) and ``demo.group`` (one affiliate to remit, one
held by an active arrangement, one with nothing to remit). The other affiliates are drawn at random.
"""

import random
from datetime import date

from contracts.debt import LedgerMessage
from services.auth.service.import_accounts import DamancomExport
from services.stack.demo_data.accounts import _accounts, _bank_accounts, _identifiers
from services.stack.demo_data.employers import _random_employers, _scripted_employers
from services.stack.demo_data.ledger import _history, _publication_order
from services.stack.demo_data.model import (
    DEMO_BANKS,
    EARLIEST_TODAY,
    PASSWORD,
    PERCEPTIONS,
    BankAccount,
    DemoDataset,
    majoration,
    months_late_between,
)

__all__ = [
    "DEMO_BANKS",
    "PASSWORD",
    "PERCEPTIONS",
    "BankAccount",
    "DemoDataset",
    "LedgerMessage",
    "generate",
    "majoration",
    "months_late_between",
]


def generate(affiliates: int = 20, seed: int = 2024, *, today: date = date(2026, 11, 1)) -> DemoDataset:
    """The whole demo dataset; periods run from 2015-01 to the month before ``today``."""
    if affiliates < 0:
        raise ValueError("le nombre d'affiliés supplémentaires est positif ou nul")
    if today < EARLIEST_TODAY:
        raise ValueError(f"les comptes de démonstration supposent today >= {EARLIEST_TODAY}")
    rng = random.Random(seed)
    employers = _scripted_employers(today) + _random_employers(rng, affiliates, today)
    histories = [_history(e, seed, today) for e in employers]
    accounts = _accounts(rng, employers, affiliates)
    return DemoDataset(
        export=DamancomExport(affiliates=[e.record for e in employers], accounts=[c for c, _ in accounts]),
        ledger=_publication_order(histories),
        bank_accounts=[account for e in employers for account in _bank_accounts(e, seed)],
        logins=_identifiers(accounts, {e.record.numero: h for e, h in zip(employers, histories, strict=True)}),
    )
