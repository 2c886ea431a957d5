"""Damancom accounts and logins, and each affiliate's bank accounts."""

import random
import uuid

from contracts.identifiers import rib_key
from contracts.money import format_amount
from services.auth.service.import_accounts import AccountRecord
from services.stack.demo_data.employers import _Employer
from services.stack.demo_data.ledger import _History
from services.stack.demo_data.model import _NAMES, DEMO_BANKS, PASSWORD, PERCEPTIONS, BankAccount


def _account(login: str, name: str, numeros: list[str]) -> AccountRecord:
    return AccountRecord(login=login, display_name=f"[DEMO] {name}", password=PASSWORD, affiliates=numeros)


def _accounts(rng: random.Random, employers: list[_Employer], count: int) -> list[tuple[AccountRecord, str]]:
    """(account, what it shows): the two scripted accounts, one per random affiliate, and a few groups."""
    simple, *group = employers[:4]
    accounts = [
        (_account("demo.simple", "Atlas Textiles SARL", [simple.record.numero]), _described([simple])),
        (_account("demo.groupe", "Groupe Sahara Holding", [e.record.numero for e in group]), _described(group)),
    ]
    randoms = [e.record for e in employers[4:]]
    for i, record in enumerate(randoms, start=1):
        accounts.append((_account(f"demo.affilie.{i:03d}", record.raison_sociale, [record.numero]), ""))
    for g in range(1, count // 8 + 1):
        members = sorted(rng.sample([f.numero for f in randoms], rng.randint(2, min(4, len(randoms)))))
        accounts.append((_account(f"demo.groupe.{g:02d}", f"Groupe {rng.choice(_NAMES)} {g}", members), ""))
    return accounts


def _described(employers: list[_Employer]) -> str:
    return " ; ".join(f"{e.record.numero} {e.record.raison_sociale} : {e.description}" for e in employers)


def _identifiers(
    accounts: list[tuple[AccountRecord, str]], histories: dict[str, _History]
) -> list[tuple[str, str, str]]:
    """The scripted accounts, then a summary of each random one computed from its own ledger."""
    return [
        (account.login, PASSWORD, scripted or " ; ".join(f"{n} : {_summary(histories[n])}" for n in account.affiliates))
        for account, scripted in accounts
    ]


def _summary(h: _History) -> str:
    perception = next(iter(h.open_arrangements.values()), None)
    if perception is not None:
        return f"arrangement actif ({perception.name})"
    penalties = h.eligible_penalties()
    if penalties > 0:
        return f"{format_amount(penalties)} de pénalités à remettre"
    return "rien à remettre"


def _bank_accounts(employer: _Employer, seed: int) -> list[BankAccount]:
    record = employer.record
    rng = random.Random(f"rib:{seed}:{record.numero}")
    city = PERCEPTIONS[record.perception.code][1]
    accounts = []
    for code, name in rng.sample(DEMO_BANKS, employer.bank_accounts):
        start = f"{code}{city}{rng.randrange(10**16):016d}"
        accounts.append(
            BankAccount(
                affiliate=record.numero,
                rib=start + rib_key(start),
                bank_code=code,
                bank_name=name,
                holder=record.raison_sociale,
                id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            )
        )
    return accounts
