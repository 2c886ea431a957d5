"""``debits.accounts.v1``: the bank accounts an affiliate registered, as others may know them.

The full RIB stays in debits (it is the only service that sends it, to the bank concerned); other
services see the masked number, enough to show it and to check that a chosen account is one of them.
"""

from typing import Annotated, ClassVar, Literal

from pydantic import Field

from contracts.envelope import Contract, Envelope
from contracts.identifiers import AffiliateNumber


class BankAccount(Contract):
    id: str = Field(min_length=1, max_length=64)
    bank_code: str = Field(pattern=r"^[0-9]{3}$", description="chiffres 1 à 3 du RIB")
    bank_name: str = Field(min_length=1, max_length=128)
    rib_masked: str = Field(pattern=r"^\*{20}[0-9]{4}$", description="RIB masqué sauf les 4 derniers chiffres")
    holder: str = Field(min_length=1, max_length=200)


class BankAccountsPayload(Contract):
    """Every account of one affiliate; a newer ``version`` replaces an older one (compacted topic)."""

    affiliate: AffiliateNumber
    version: int = Field(ge=1)
    accounts: list[BankAccount]


class BankAccountsChanged(Envelope):
    TYPE: ClassVar[str] = "debits.bank_accounts_changed"
    type: Literal["debits.bank_accounts_changed"]
    payload: BankAccountsPayload


BankAccountsEvent = Annotated[BankAccountsChanged, Field(discriminator="type")]
