"""Bank accounts as debits knows them: the full RIB inside, the masked one for everyone else."""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from contracts.identifiers import mask_rib
from contracts.refusals import Refusal

# Accounts that arrive without an id get one derived from (affiliate, RIB): importing the same file
# twice names each account the same way.
_ACCOUNT_IDS = uuid.UUID("5f0c3c1e-5d2b-4a53-9a41-6b1f0d6e2c11")


class InvalidAccount(Refusal):
    """A batch of accounts that cannot be registered as a whole."""

    def __init__(self, message: str) -> None:
        super().__init__("compte-invalide", message, kind="invalid")


@dataclass(frozen=True)
class RegisteredAccount:
    id: str
    affiliate: str
    # repr=False: a RIB must not leak through a log line or a traceback that prints the object.
    rib: str = field(repr=False)
    bank_code: str
    bank_name: str
    holder: str

    @property
    def rib_masked(self) -> str:
        return mask_rib(self.rib)

    def masked(self) -> dict[str, str]:
        """What others may see of the account (``contracts.debits.BankAccount``)."""
        return {
            "id": self.id,
            "bank_code": self.bank_code,
            "bank_name": self.bank_name,
            "rib_masked": self.rib_masked,
            "holder": self.holder,
        }


def default_account_id(affiliate: str, rib: str) -> str:
    return str(uuid.uuid5(_ACCOUNT_IDS, f"{affiliate}:{rib}"))


def consolidate(registered: Iterable[RegisteredAccount]) -> list[RegisteredAccount]:
    """One entry per (affiliate, RIB), the last one winning, sorted so that concurrent batches lock
    rows in the same order (no deadlock); one id given to two different accounts refuses the batch."""
    by_rib: dict[tuple[str, str], RegisteredAccount] = {}
    for account in registered:
        by_rib[(account.affiliate, account.rib)] = account
    holders_of_id: dict[str, tuple[str, str]] = {}
    for key, account in by_rib.items():
        first = holders_of_id.setdefault(account.id, key)
        if first != key:
            raise InvalidAccount(f"l'identifiant de compte {account.id} désigne deux comptes différents")
    return [by_rib[key] for key in sorted(by_rib)]
