"""A bank's ISO 20022 pain.002.001.03 status report as ``banks.debit-results.v1`` messages. Pure: no I/O.

Each ``TxInfAndSts`` gives one result for its ``OrgnlEndToEndId``:

- ``TxSts`` ACSC (settled) or ACCP (accepted, customer profile) → ``DebitExecuted``; the amount is
  ``OrgnlTxRef/Amt/InstdAmt`` (or, when the bank leaves it out, the one of the order, from
  ``amounts``); the date is ``AccptncDtTm``, else ``OrgnlTxRef/ReqdColltnDt``, else the report's
  ``CreDtTm``;
- ``TxSts`` RJCT → ``DebitRejected`` with ``StsRsnInf/Rsn/Cd`` (or a 4-character ``Prtry``; MS03
  "reason not specified" when the bank gives none), dated by the report's ``CreDtTm``;
- any other status (PDNG, ACTC, ACSP, …) is not final: it is listed in ``pending`` and not sent.

The event id is ``uuid5(end-to-end id + outcome)`` in the same namespace as the reference bank's
answers on Kafka: importing the same file twice, or a report about an order the bank also answered
on the topic, gives the same event ids, which debits' inbox applies once.

The bank code comes from the caller (``--bank``) or from the report: ``GrpHdr/DbtrAgt`` (or
``GrpHdr/InitgPty``) identified by a 3-digit code, else each transaction's original debtor account
(``OrgnlTxRef/DbtrAcct``, RIB digits 1-3).

A report that rejects a whole group or payment block without listing its transactions cannot be
mapped to end-to-end ids here: it is refused with that reason (an operator asks the bank for the
detailed report).
"""

import re
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Literal
from xml.etree import ElementTree as ET

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as parse_untrusted
from pydantic import ValidationError

from contracts.debits import DebitExecuted, DebitExecutedPayload, DebitRejected, DebitRejectedPayload
from contracts.identifiers import AFFILIATE_PATTERN
from services.runtime.clock import BUSINESS_TZ

NAMESPACE = "urn:iso:std:iso:20022:tech:xsd:pain.002.001.03"
PRODUCER = "debits-pain002"
# Same namespace as partners/bank/answers.py (the two cannot import each other).
RESULTS_NAMESPACE = uuid.UUID("5b0c7e2a-4f43-4d43-9b7e-2f0d6c1a8e11")
EXECUTED_STATUSES = frozenset({"ACSC", "ACCP"})
REJECTED_STATUS = "RJCT"
UNSPECIFIED_REASON = "MS03"

Outcome = Literal["executed", "rejected"]
_BANK = re.compile(r"^[0-9]{3}$")
_REASON = re.compile(r"^[A-Z0-9]{4}$")
_AFFILIATE = re.compile(AFFILIATE_PATTERN)


class Pain002Error(ValueError):
    pass


def result_id(end_to_end_id: str, outcome: Outcome) -> uuid.UUID:
    return uuid.uuid5(RESULTS_NAMESPACE, f"{end_to_end_id}:{outcome}")


@dataclass(frozen=True)
class ImportedResult:
    message: DebitExecuted | DebitRejected
    affiliate: str | None  # the Kafka key when the report names the debtor (Dbtr/Id), else unknown here


@dataclass
class Pain002Report:
    message_id: str
    original_message_id: str | None
    created_at: datetime
    results: list[ImportedResult] = field(default_factory=list)
    pending: list[tuple[str, str]] = field(default_factory=list)  # (end-to-end id, status)


def _q(path: str) -> str:
    return "/".join(f"{{{NAMESPACE}}}{tag}" for tag in path.split("/"))


def _text(element: ET.Element | None, path: str) -> str | None:
    if element is None:
        return None
    found = element.find(_q(path))
    if found is None or found.text is None or not found.text.strip():
        return None
    return found.text.strip()


def _datetime(text: str, what: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise Pain002Error(f"{what} : date et heure illisibles « {text} »") from None


def _bank_of(element: ET.Element | None) -> str | None:
    for path in ("FinInstnId/ClrSysMmbId/MmbId", "FinInstnId/Othr/Id", "Id/OrgId/Othr/Id"):
        value = _text(element, path)
        if value and _BANK.match(value):
            return value
    return None


def _affiliate(reference: ET.Element | None) -> str | None:
    if reference is None:
        return None
    for othr in reference.findall(_q("Dbtr/Id/OrgId/Othr")):
        value = _text(othr, "Id")
        if value and _AFFILIATE.match(value):
            return value
    return None


def _reason(tx: ET.Element) -> str:
    for info in tx.findall(_q("StsRsnInf")):
        for path in ("Rsn/Cd", "Rsn/Prtry"):
            value = _text(info, path)
            if value and _REASON.match(value.upper()):
                return value.upper()
    return UNSPECIFIED_REASON


def _report(data: bytes) -> ET.Element:
    try:
        # A bank's file is not trusted: a status report never needs a DTD, and one lets a file define
        # entities (a value spelled elsewhere than where it is read, or a bomb expat's amplification
        # limit lets through below 8 MiB), so any DTD refuses the whole file.
        root: ET.Element = parse_untrusted(data, forbid_dtd=True)  # defusedxml ships no types
    except ET.ParseError as exc:
        raise Pain002Error(f"XML illisible : {exc}") from None
    except DefusedXmlException as exc:
        raise Pain002Error(f"XML refusé : DTD ou entités interdites dans un rapport de banque ({exc!r})") from None
    if root.tag != f"{{{NAMESPACE}}}Document":
        raise Pain002Error(f"pas un rapport pain.002.001.03 (racine {root.tag}, attendu l'espace {NAMESPACE})")
    report = root.find(_q("CstmrPmtStsRpt"))
    if report is None:
        raise Pain002Error("élément CstmrPmtStsRpt absent")
    return report


def parse_pain002(
    data: bytes, *, bank_code: str | None = None, amounts: dict[str, Decimal] | None = None
) -> Pain002Report:
    """The results a status report carries, as contract messages (validated); raises ``Pain002Error``."""
    report = _report(data)
    header = report.find(_q("GrpHdr"))
    msg_id, created = _text(header, "MsgId"), _text(header, "CreDtTm")
    if header is None or msg_id is None or created is None:
        raise Pain002Error("GrpHdr sans MsgId ou CreDtTm")
    created_at = _datetime(created, "GrpHdr/CreDtTm")
    group = report.find(_q("OrgnlGrpInfAndSts"))
    result = Pain002Report(msg_id, _text(group, "OrgnlMsgId"), created_at)
    header_bank = bank_code or _bank_of(header.find(_q("DbtrAgt"))) or _bank_of(header.find(_q("InitgPty")))

    blocks = report.findall(_q("OrgnlPmtInfAndSts"))
    transactions = [tx for block in blocks for tx in block.findall(_q("TxInfAndSts"))]
    if not transactions:
        status = _text(group, "GrpSts") or next((s for b in blocks if (s := _text(b, "PmtInfSts"))), None)
        if status == REJECTED_STATUS:
            raise Pain002Error("rejet global sans détail des transactions : demander le rapport détaillé")
        return result

    seen: dict[str, str] = {}
    for tx in transactions:
        e2e, status = _text(tx, "OrgnlEndToEndId"), _text(tx, "TxSts")
        if e2e is None or status is None:
            raise Pain002Error("TxInfAndSts sans OrgnlEndToEndId ou TxSts")
        if seen.setdefault(e2e, status) != status:
            raise Pain002Error(f"{e2e} : deux statuts contradictoires dans le même rapport")
        if status not in EXECUTED_STATUSES and status != REJECTED_STATUS:
            result.pending.append((e2e, status))
            continue
        reference = tx.find(_q("OrgnlTxRef"))
        bank = header_bank or _bank_from_account(reference)
        if bank is None:
            raise Pain002Error(f"{e2e} : banque inconnue (préciser --bank)")
        try:
            message: DebitExecuted | DebitRejected = (
                _executed(tx, reference, e2e, bank, created_at, amounts)
                if status in EXECUTED_STATUSES
                else _rejected(tx, e2e, bank, created_at)
            )
        except ValidationError as exc:
            raise Pain002Error(f"{e2e} : {exc.errors(include_url=False)[0]['msg']}") from None
        result.results.append(ImportedResult(message, _affiliate(reference)))
    return result


def _bank_from_account(reference: ET.Element | None) -> str | None:
    rib = _text(reference, "DbtrAcct/Id/Othr/Id") if reference is not None else None
    return rib[:3] if rib and len(rib) == 24 and rib.isdigit() else None


def _executed(
    tx: ET.Element,
    reference: ET.Element | None,
    e2e: str,
    bank: str,
    created_at: datetime,
    amounts: dict[str, Decimal] | None,
) -> DebitExecuted:
    instructed = reference.find(_q("Amt/InstdAmt")) if reference is not None else None
    text = instructed.text.strip() if instructed is not None and instructed.text else None
    if instructed is not None and text:
        currency = instructed.get("Ccy")
        if currency not in (None, "MAD"):
            raise Pain002Error(f"{e2e} : devise {currency}, attendu MAD")
        try:
            amount = Decimal(text)
        except InvalidOperation:
            raise Pain002Error(f"{e2e} : montant illisible « {text} »") from None
    elif amounts is not None and e2e in amounts:
        amount = amounts[e2e]
    else:
        raise Pain002Error(f"{e2e} : montant absent du rapport (OrgnlTxRef/Amt/InstdAmt) et ordre inconnu")
    accepted, requested = _text(tx, "AccptncDtTm"), _text(reference, "ReqdColltnDt")
    settled_on: date
    if accepted is not None:
        settled_on = _datetime(accepted, f"{e2e} AccptncDtTm").date()
    elif requested is not None:
        try:
            settled_on = date.fromisoformat(requested)
        except ValueError:
            raise Pain002Error(f"{e2e} : date illisible « {requested} »") from None
    else:
        settled_on = created_at.date()
    return DebitExecuted.build(
        DebitExecutedPayload(
            end_to_end_id=e2e,
            bank_code=bank,
            amount=amount,
            settled_on=settled_on,
        ),
        producer=PRODUCER,
        occurred_at=_aware(created_at),
        event_id=result_id(e2e, "executed"),
    )


def _rejected(tx: ET.Element, e2e: str, bank: str, created_at: datetime) -> DebitRejected:
    return DebitRejected.build(
        DebitRejectedPayload(
            end_to_end_id=e2e,
            bank_code=bank,
            reason_code=_reason(tx),
            rejected_on=created_at.date(),
        ),
        producer=PRODUCER,
        occurred_at=_aware(created_at),
        event_id=result_id(e2e, "rejected"),
    )


def _aware(at: datetime) -> datetime:
    """A report's local time without offset is Moroccan business time."""
    return at if at.tzinfo is not None else at.replace(tzinfo=BUSINESS_TZ)
