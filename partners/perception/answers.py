"""The perception's answers as ``perception.guarantees.v1`` messages.

Ids are derived from the request and the outcome: a redelivered request, or an operator re-running
the same command, produces the same event id, which the requests service's inbox applies once.
"""

import uuid
from datetime import datetime
from uuid import UUID

from contracts.perception import (
    GuaranteeDeposited,
    GuaranteeDepositedPayload,
    GuaranteeRefused,
    GuaranteeRefusedPayload,
    GuaranteeRequestReceived,
    GuaranteeRequestReceivedPayload,
)
from contracts.requests import GuaranteeRequired, GuaranteeType
from partners.perception.rules import AnswerRules

PRODUCER = "perception"
_NAMESPACE = uuid.UUID("0d7f3b52-2f4e-4a8e-9c57-4f1c2b8e6a90")


def answer_id(request_id: UUID, outcome: str) -> UUID:
    return uuid.uuid5(_NAMESPACE, f"{request_id}:{outcome}")


def default_reference(request_id: UUID) -> str:
    return "GAR-" + uuid.uuid5(_NAMESPACE, f"{request_id}:reference").hex[:8].upper()


def received(required: GuaranteeRequired, at: datetime) -> GuaranteeRequestReceived:
    """The acknowledgement, sent on reading the request whatever the answer will be. One id per
    request: a request sent again is acknowledged again under the same id, applied once."""
    p = required.payload
    return GuaranteeRequestReceived.build(
        GuaranteeRequestReceivedPayload(
            request_id=p.request_id, affiliate=p.affiliate, perception=p.perception.code, received_at=at
        ),
        producer=PRODUCER,
        occurred_at=at,
        correlation_id=required.correlation_id,
        event_id=answer_id(p.request_id, "received"),
    )


def deposited(
    request_id: UUID,
    affiliate: str,
    perception: str,
    at: datetime,
    *,
    guarantee_type: GuaranteeType | str = "CAUTION_BANCAIRE",
    reference: str | None = None,
    correlation_id: str | None = None,
) -> GuaranteeDeposited:
    return GuaranteeDeposited.build(
        GuaranteeDepositedPayload(
            request_id=request_id,
            affiliate=affiliate,
            perception=perception,
            reference=reference or default_reference(request_id),
            guarantee_type=guarantee_type,
            deposited_at=at,
        ),
        producer=PRODUCER,
        occurred_at=at,
        correlation_id=correlation_id,
        event_id=answer_id(request_id, "deposit"),
    )


def refused(
    request_id: UUID, affiliate: str, perception: str, at: datetime, reason: str, *, correlation_id: str | None = None
) -> GuaranteeRefused:
    return GuaranteeRefused.build(
        GuaranteeRefusedPayload(
            request_id=request_id,
            affiliate=affiliate,
            perception=perception,
            reason=reason,
            refused_at=at,
        ),
        producer=PRODUCER,
        occurred_at=at,
        correlation_id=correlation_id,
        event_id=answer_id(request_id, "refuse"),
    )


def answer(
    answer_rules: AnswerRules,
    required: GuaranteeRequired,
    at: datetime,
    *,
    guarantee_type: GuaranteeType,
    refusal_reason: str,
) -> GuaranteeDeposited | GuaranteeRefused | None:
    """What the rules say to one request; ``None``: the perception stays silent (the deadline will pass)."""
    p = required.payload
    match answer_rules.issue(p.affiliate):
        case "deposit":
            return deposited(
                p.request_id,
                p.affiliate,
                p.perception.code,
                at,
                guarantee_type=guarantee_type,
                correlation_id=required.correlation_id,
            )
        case "refuse":
            return refused(
                p.request_id, p.affiliate, p.perception.code, at, refusal_reason, correlation_id=required.correlation_id
            )
        case _:
            return None
