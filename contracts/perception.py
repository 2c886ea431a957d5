"""``perception.guarantees.v1``: what a perception answers about the guarantees of a request."""

from typing import Annotated, ClassVar, Literal
from uuid import UUID

from pydantic import AwareDatetime, Field

from contracts.envelope import Contract, Envelope
from contracts.identifiers import AffiliateNumber
from contracts.requests import GuaranteeType


class GuaranteeDepositedPayload(Contract):
    request_id: UUID
    affiliate: AffiliateNumber
    perception: str = Field(min_length=1, max_length=16, description="code de la perception")
    reference: str = Field(min_length=1, max_length=64, description="référence de la garantie")
    guarantee_type: GuaranteeType
    deposited_at: AwareDatetime


class GuaranteeDeposited(Envelope):
    TYPE: ClassVar[str] = "perception.guarantee_deposited"
    type: Literal["perception.guarantee_deposited"]
    payload: GuaranteeDepositedPayload


class GuaranteeRefusedPayload(Contract):
    request_id: UUID
    affiliate: AffiliateNumber
    perception: str = Field(min_length=1, max_length=16)
    reason: str = Field(min_length=1, max_length=500)
    refused_at: AwareDatetime


class GuaranteeRefused(Envelope):
    TYPE: ClassVar[str] = "perception.guarantee_refused"
    type: Literal["perception.guarantee_refused"]
    payload: GuaranteeRefusedPayload


PerceptionEvent = Annotated[GuaranteeDeposited | GuaranteeRefused, Field(discriminator="type")]
