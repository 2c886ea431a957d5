"""``debits.accounts.v1``: the bank accounts an affiliate registered, as others may know them.

The full RIB stays in debits (it is the only service that sends it, to the bank concerned); other
services see the masked number, enough to show it and to check that a chosen account is one of them.
"""

from datetime import date
from typing import Annotated, ClassVar, Literal
from uuid import UUID

from pydantic import AwareDatetime, Field

from contracts.envelope import Contract, Envelope
from contracts.identifiers import AffiliateNumber, Rib
from contracts.money import Money, PositiveMoney
from contracts.simulation import DebitKind


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


# --- debits.orders.<bank code>.v1 (one topic per bank) ------------------------------------------

ReasonCode = Annotated[str, Field(pattern=r"^[A-Z0-9]{4}$", description="code motif ISO 20022, p. ex. AM04")]
EndToEndId = Annotated[
    str,
    Field(
        pattern=r"^[A-Za-z0-9-]{1,35}$",
        description="identifiant de bout en bout (pain.008 EndToEndId, 35 car.) : demande, échéance, tentative",
    ),
]


class Creditor(Contract):
    name: str = Field(min_length=1, max_length=140)
    scheme_id: str = Field(min_length=1, max_length=35, description="identifiant créancier (ICS)")
    account: str = Field(min_length=1, max_length=34, description="compte de la CNSS qui reçoit les fonds")


class DebitOrderPayload(Contract):
    """What a bank needs to collect one debit, named after ISO 20022 pain.008.001.02."""

    end_to_end_id: EndToEndId
    request_id: UUID
    affiliate: AffiliateNumber
    sequence: int = Field(ge=1, description="échéance k")
    installments_total: int = Field(ge=1, description="… sur n")
    attempt: int = Field(ge=1)
    instructed_amount: PositiveMoney
    currency: Literal["MAD"] = "MAD"
    requested_collection_date: date
    creditor: Creditor
    debtor_name: str = Field(min_length=1, max_length=140)
    debtor_account: Rib
    mandate_id: str = Field(min_length=1, max_length=35)
    mandate_signed_on: date = Field(description="la validation de la demande")
    remittance_information: str = Field(min_length=1, max_length=140)


class DebitOrder(Envelope):
    TYPE: ClassVar[str] = "debits.debit_order"
    type: Literal["debits.debit_order"]
    payload: DebitOrderPayload


DebitOrderEvent = Annotated[DebitOrder, Field(discriminator="type")]


# --- banks.debit-results.v1 ---------------------------------------------------------------------


class DebitExecutedPayload(Contract):
    end_to_end_id: EndToEndId
    bank_code: str = Field(pattern=r"^[0-9]{3}$")
    amount: PositiveMoney
    settled_on: date


class DebitExecuted(Envelope):
    TYPE: ClassVar[str] = "banks.debit_executed"
    type: Literal["banks.debit_executed"]
    payload: DebitExecutedPayload


class DebitRejectedPayload(Contract):
    end_to_end_id: EndToEndId
    bank_code: str = Field(pattern=r"^[0-9]{3}$")
    reason_code: ReasonCode
    rejected_on: date


class DebitRejected(Envelope):
    TYPE: ClassVar[str] = "banks.debit_rejected"
    type: Literal["banks.debit_rejected"]
    payload: DebitRejectedPayload


DebitResultMessage = DebitExecuted | DebitRejected
DebitResult = Annotated[DebitResultMessage, Field(discriminator="type")]


# --- debits.events.v1 ---------------------------------------------------------------------------

DebitState = Literal["SCHEDULED", "ORDERED", "SETTLED", "FAILED", "CANCELLED"]


class DebitView(Contract):
    sequence: int = Field(ge=1)
    kind: DebitKind
    due_date: date
    collection_date: date
    amount: PositiveMoney
    state: DebitState
    attempts: int = Field(ge=0)


class PlanScheduledPayload(Contract):
    request_id: UUID
    affiliate: AffiliateNumber
    debits: list[DebitView]


class PlanScheduled(Envelope):
    TYPE: ClassVar[str] = "debits.plan_scheduled"
    type: Literal["debits.plan_scheduled"]
    payload: PlanScheduledPayload


class DebitChangedPayload(Contract):
    """One debit of a plan changed state: ordered, settled, failed (with the bank's reason, and whether
    it will be presented again), cancelled."""

    request_id: UUID
    affiliate: AffiliateNumber
    debit: DebitView
    end_to_end_id: EndToEndId | None = None
    reason_code: ReasonCode | None = None
    final: bool = Field(default=False, description="échec définitif (pas de nouvelle présentation)")
    next_attempt_on: date | None = None
    at: AwareDatetime


class DebitChanged(Envelope):
    TYPE: ClassVar[str] = "debits.debit_changed"
    type: Literal["debits.debit_changed"]
    payload: DebitChangedPayload


class PlanCompletedPayload(Contract):
    request_id: UUID
    affiliate: AffiliateNumber
    total_paid: PositiveMoney
    completed_on: date


class PlanCompleted(Envelope):
    """Every debit of the plan is settled: the remission becomes definitive."""

    TYPE: ClassVar[str] = "debits.plan_completed"
    type: Literal["debits.plan_completed"]
    payload: PlanCompletedPayload


class PlanDefaultedPayload(Contract):
    request_id: UUID
    affiliate: AffiliateNumber
    reason: str = Field(max_length=500)
    paid_so_far: Money
    cancelled_sequences: list[int]
    defaulted_on: date


class PlanDefaulted(Envelope):
    """A debit finally failed: the plan is defaulted, its pending debits cancelled (article 4)."""

    TYPE: ClassVar[str] = "debits.plan_defaulted"
    type: Literal["debits.plan_defaulted"]
    payload: PlanDefaultedPayload


DebitsMessage = PlanScheduled | DebitChanged | PlanCompleted | PlanDefaulted
DebitsEvent = Annotated[DebitsMessage, Field(discriminator="type")]
