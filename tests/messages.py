"""One set of message factories for the tests: each builds a contract model with believable values,
every one of them a keyword a test can change. A test says only what matters to it.

Built from the payload models, as the services build theirs (``Envelope.build`` takes a model).
"""

import uuid
from datetime import UTC, date, datetime

from contracts.auth import AffiliateProfilePayload, AffiliateRegistered
from contracts.debits import Creditor, DebitOrder, DebitOrderPayload
from contracts.debt import ChargeBooked, ChargeBookedPayload, PaymentReceived, PaymentReceivedPayload, Perception
from contracts.identifiers import rib_key
from contracts.requests import GuaranteeRequired, GuaranteeRequiredPayload

AT = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
ANFA = Perception(code="CAS-01", name="Perception Casablanca Anfa")
CNSS = Creditor(name="CNSS", scheme_id="MA00ZZZCNSS000001", account="011780000000000123456706")


def rib(bank: str = "007", account: int = 42) -> str:
    """A RIB whose key is right: bank code, city 780, 16 digits of account, key modulo 97."""
    first = f"{bank}780{account:016d}"
    return first + rib_key(first)


def charge(
    affiliate: str,
    period: str,
    *,
    category: str = "frais",
    amount: str = "10.00",
    entry_id: str | None = None,
    at: datetime = AT,
    booked_on: date = date(2025, 1, 10),
) -> ChargeBooked:
    payload = ChargeBookedPayload.model_validate(
        {
            "entry_id": entry_id or f"T-{uuid.uuid4().hex[:12]}",
            "affiliate": affiliate,
            "period": period,
            "category": category,
            "amount": amount,
            "booked_on": booked_on,
        }
    )
    return ChargeBooked.build(payload, producer="test", occurred_at=at)


def payment(
    affiliate: str,
    period: str,
    *,
    category: str,
    amount: str,
    at: datetime = AT,
    received_on: date = date(2025, 2, 1),
) -> PaymentReceived:
    payload = PaymentReceivedPayload.model_validate(
        {
            "entry_id": f"P-{uuid.uuid4().hex[:12]}",
            "affiliate": affiliate,
            "period": period,
            "category": category,
            "amount": amount,
            "received_on": received_on,
        }
    )
    return PaymentReceived.build(payload, producer="test", occurred_at=at)


def profile(
    affiliate: str, *, name: str = "Atlas Test SARL", perception: Perception = ANFA, at: datetime = AT
) -> AffiliateRegistered:
    payload = AffiliateProfilePayload(
        affiliate=affiliate, raison_sociale=name, ice="001000000000001", perception=perception
    )
    return AffiliateRegistered.build(payload, producer="auth", occurred_at=at)


def guarantee_required(
    affiliate: str,
    *,
    request_id: uuid.UUID | None = None,
    perception: Perception = ANFA,
    deadline: date = date(2026, 12, 2),
    at: datetime = AT,
) -> GuaranteeRequired:
    payload = GuaranteeRequiredPayload.model_validate(
        {
            "request_id": request_id or uuid.uuid4(),
            "affiliate": affiliate,
            "perception": perception,
            "amount": "36000.00",
            "installments": 12,
            "deadline": deadline,
            "quote_id": uuid.uuid4(),
        }
    )
    return GuaranteeRequired.build(payload, producer="requests", occurred_at=at)


def order_payload(
    affiliate: str,
    *,
    request_id: uuid.UUID | None = None,
    sequence: int = 1,
    installments_total: int = 1,
    attempt: int = 1,
    amount: str = "4250.75",
    collection: date = date(2026, 12, 10),
    debtor_name: str = "Atlas SARL",
    debtor_account: str | None = None,
    end_to_end_id: str | None = None,
    mandate_id: str | None = None,
    remittance_information: str | None = None,
    creditor: Creditor = CNSS,
) -> DebitOrderPayload:
    request_id = request_id or uuid.uuid4()
    return DebitOrderPayload.model_validate(
        {
            "end_to_end_id": end_to_end_id or f"{request_id.hex[:25].upper()}-{sequence}-{attempt}",
            "request_id": request_id,
            "affiliate": affiliate,
            "sequence": sequence,
            "installments_total": installments_total,
            "attempt": attempt,
            "instructed_amount": amount,
            "requested_collection_date": collection,
            "creditor": creditor,
            "debtor_name": debtor_name,
            "debtor_account": debtor_account or rib(),
            "mandate_id": mandate_id or f"MDT-{request_id.hex[:20]}",
            "mandate_signed_on": date(2026, 11, 2),
            "remittance_information": remittance_information
            or f"Demande {request_id} échéance {sequence}/{installments_total}",
        }
    )


def debit_order(
    affiliate: str, *, at: datetime = AT, correlation_id: str | None = None, **payload: object
) -> DebitOrder:
    """A debit order as debits publishes it; ``payload`` takes ``order_payload``'s keywords."""
    return DebitOrder.build(
        order_payload(affiliate, **payload),  # type: ignore[arg-type]
        producer="debits",
        occurred_at=at,
        correlation_id=correlation_id,
    )
