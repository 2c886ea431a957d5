"""The bank's answers as ``banks.debit-results.v1`` messages.

The event id is derived from the end-to-end id and the outcome: a redelivered order, or a bank that
restarted before committing its offset, produces the same event id, which debits' inbox applies once.
The end-to-end id is unique per request, installment and attempt, so each attempt has its own answer.

The bank executes on the requested collection date: ``settled_on`` / ``rejected_on`` are that date,
not the bank's wall clock, so a debit run for a given date (``recouvrement debits run --date``)
gives the same dates whatever day the demo runs.
"""

import uuid
from datetime import datetime

from contracts.debits import DebitExecuted, DebitExecutedPayload, DebitOrder, DebitRejected, DebitRejectedPayload
from partners.bank.rules import BankRules, Outcome

PRODUCER = "bank"
DUPLICATE_COLLECTION = "AM05"
# The same namespace as debits' pain.002 import (services/debits/adapters/pain/pain002.py): a result for one
# end-to-end id has one event id whichever way it arrives (Kafka or a status report file).
RESULTS_NAMESPACE = uuid.UUID("5b0c7e2a-4f43-4d43-9b7e-2f0d6c1a8e11")


def result_id(end_to_end_id: str, outcome: Outcome) -> uuid.UUID:
    return uuid.uuid5(RESULTS_NAMESPACE, f"{end_to_end_id}:{outcome}")


def executed(order: DebitOrder, bank_code: str, at: datetime) -> DebitExecuted:
    p = order.payload
    return DebitExecuted.build(
        DebitExecutedPayload(
            end_to_end_id=p.end_to_end_id,
            bank_code=bank_code,
            amount=p.instructed_amount,
            settled_on=p.requested_collection_date,
        ),
        producer=PRODUCER,
        occurred_at=at,
        correlation_id=order.correlation_id,
        event_id=result_id(p.end_to_end_id, "executed"),
    )


def rejected(
    order: DebitOrder, bank_code: str, reason_code: str, at: datetime, event_id: uuid.UUID | None = None
) -> DebitRejected:
    p = order.payload
    return DebitRejected.build(
        DebitRejectedPayload(
            end_to_end_id=p.end_to_end_id,
            bank_code=bank_code,
            reason_code=reason_code,
            rejected_on=p.requested_collection_date,
        ),
        producer=PRODUCER,
        occurred_at=at,
        correlation_id=order.correlation_id,
        event_id=event_id or result_id(p.end_to_end_id, "rejected"),
    )


def duplicate(order: DebitOrder, bank_code: str, at: datetime, where: tuple[str, int, int]) -> DebitRejected:
    """AM05 for an end-to-end id already presented; its event id names the duplicate record, so
    each duplicate gets its own answer and a re-read of the same record the same one."""
    topic, partition, offset = where
    event_id = uuid.uuid5(RESULTS_NAMESPACE, f"{order.payload.end_to_end_id}:duplicate:{topic}:{partition}:{offset}")
    return rejected(order, bank_code, DUPLICATE_COLLECTION, at, event_id)


def answer(rules: BankRules, order: DebitOrder, bank_code: str, at: datetime) -> DebitExecuted | DebitRejected:
    p = order.payload
    decision = rules.decide(p.affiliate, p.debtor_account, p.attempt)
    if decision.reason_code is None:
        return executed(order, bank_code, at)
    return rejected(order, bank_code, decision.reason_code, at)
