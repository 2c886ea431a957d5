"""Bank accounts as debits knows them: the full RIB inside, the masked one for everyone else."""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from contracts.identifiers import mask_rib

# Accounts that arrive without an id get one derived from (affiliate, RIB): importing the same file
# twice names each account the same way.
_ACCOUNT_IDS = uuid.UUID("5f0c3c1e-5d2b-4a53-9a41-6b1f0d6e2c11")


class CompteInvalide(ValueError):
    """A batch of accounts that cannot be registered as a whole."""


@dataclass(frozen=True)
class CompteBancaire:
    id: str
    affiliate: str
    # repr=False: a RIB must not leak through a log line or a traceback that prints the object.
    rib: str = field(repr=False)
    bank_code: str
    bank_name: str
    holder: str

    @property
    def rib_masque(self) -> str:
        return mask_rib(self.rib)

    def vue(self) -> dict[str, str]:
        """What others may see of the account (``contracts.debits.BankAccount``)."""
        return {
            "id": self.id,
            "bank_code": self.bank_code,
            "bank_name": self.bank_name,
            "rib_masked": self.rib_masque,
            "holder": self.holder,
        }


def identifiant_par_defaut(affiliate: str, rib: str) -> str:
    return str(uuid.uuid5(_ACCOUNT_IDS, f"{affiliate}:{rib}"))


def consolider(comptes: Iterable[CompteBancaire]) -> list[CompteBancaire]:
    """One entry per (affiliate, RIB), the last one winning, sorted so that concurrent batches lock
    rows in the same order (no deadlock); one id given to two different accounts refuses the batch."""
    par_rib: dict[tuple[str, str], CompteBancaire] = {}
    for compte in comptes:
        par_rib[(compte.affiliate, compte.rib)] = compte
    titulaires: dict[str, tuple[str, str]] = {}
    for cle, compte in par_rib.items():
        autre = titulaires.setdefault(compte.id, cle)
        if autre != cle:
            raise CompteInvalide(f"l'identifiant de compte {compte.id} désigne deux comptes différents")
    return [par_rib[cle] for cle in sorted(par_rib)]
