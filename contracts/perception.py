"""``perception.guarantees.v1``: what a perception answers about the guarantees of a request.

What a perception may say is bounded here, at the door (issue 13): its dates lie in years 2000 to
2099 (``contracts.dates``) and a guarantee's reference is printable text. The rest is the requests
service's to judge (``services/requests/domain/guarantees.py``): the answer must come from the office the
guarantee request named, and be dated between the request's submission and today (and, for a deposit,
the deadline); a refusal's reason is copied into the request's own event bounded to that event's limit.
"""

from typing import Annotated, ClassVar, Literal
from uuid import UUID

from pydantic import Field

from contracts.dates import BoundedDatetime
from contracts.envelope import Contract, Envelope
from contracts.identifiers import PRINTABLE, AffiliateNumber
from contracts.requests import GuaranteeType


class GuaranteeRequestReceivedPayload(Contract):
    """The office has the guarantee request (``requests.guarantees.<office>.v1``): sent as soon as it reads
    one, before any answer. Without it, requests sends the guarantee request again (the same request
    id: an office keeps one file per request id and acknowledges again)."""

    request_id: UUID
    affiliate: AffiliateNumber
    perception: str = Field(min_length=1, max_length=16, description="code de la perception")
    received_at: BoundedDatetime


class GuaranteeRequestReceived(Envelope):
    TYPE: ClassVar[str] = "perception.guarantee_request_received"
    type: Literal["perception.guarantee_request_received"]
    payload: GuaranteeRequestReceivedPayload


class GuaranteeDepositedPayload(Contract):
    request_id: UUID
    affiliate: AffiliateNumber
    perception: str = Field(min_length=1, max_length=16, description="code de la perception")
    reference: str = Field(min_length=1, max_length=64, pattern=PRINTABLE, description="référence de la garantie")
    guarantee_type: GuaranteeType
    deposited_at: BoundedDatetime


class GuaranteeDeposited(Envelope):
    TYPE: ClassVar[str] = "perception.guarantee_deposited"
    type: Literal["perception.guarantee_deposited"]
    payload: GuaranteeDepositedPayload


class GuaranteeRefusedPayload(Contract):
    request_id: UUID
    affiliate: AffiliateNumber
    perception: str = Field(min_length=1, max_length=16)
    reason: str = Field(min_length=1, max_length=500)
    refused_at: BoundedDatetime


class GuaranteeRefused(Envelope):
    TYPE: ClassVar[str] = "perception.guarantee_refused"
    type: Literal["perception.guarantee_refused"]
    payload: GuaranteeRefusedPayload


PerceptionMessage = GuaranteeRequestReceived | GuaranteeDeposited | GuaranteeRefused
PerceptionEvent = Annotated[PerceptionMessage, Field(discriminator="type")]
