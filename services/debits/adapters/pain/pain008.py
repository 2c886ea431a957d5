"""Debit orders as an ISO 20022 pain.008.001.02 file (CustomerDirectDebitInitiationV02). Pure: no I/O.

Layout, in the schema's element order:

- ``GrpHdr``: MsgId, CreDtTm, NbOfTxs, CtrlSum, InitgPty (CNSS: name, scheme id);
- one ``PmtInf`` per requested collection date: PmtInfId, PmtMtd ``DD``, NbOfTxs, CtrlSum,
  PmtTpInf (SvcLvl/Cd, LclInstrm/Cd), ReqdColltnDt, Cdtr, CdtrAcct, CdtrAgt, CdtrSchmeId;
- one ``DrctDbtTxInf`` per order: PmtId/EndToEndId, PmtTpInf/SeqTp, InstdAmt Ccy="MAD",
  DrctDbtTx/MndtRltdInf (MndtId, DtOfSgntr), DbtrAgt, Dbtr (name; the affiliation number as its
  identification), DbtrAcct, RmtInf/Ustrd.

Choices:

- **Sequence type per transaction**: ``FRST`` for the first attempt of the first debit of a plan (the
  mandate's first use), ``RCUR`` for every other one. One collection date mixes both (new plans and
  running ones), and the issue asks one block per date, so ``SeqTp`` sits in each transaction's
  ``PmtTpInf`` (the schema allows it there) while the block's ``PmtTpInf`` carries what is common.
  A bank that wants SeqTp at block level (SEPA rulebook style) needs one block per (date, SeqTp):
  change ``_blocks``' key.
- **Accounts**: a Moroccan RIB is not an IBAN, so accounts go under ``Id/Othr/Id`` with
  ``SchmeNm/Prtry`` ``RIB``; agents are identified by their bank code (RIB digits 1-3) under
  ``FinInstnId/ClrSysMmbId/MmbId`` (no BIC is known).
- **Ids**: MsgId = ``CNSS-<bank>-<run date>-<digest of the end-to-end ids>``: exporting the same run
  twice gives the same MsgId, so a bank's duplicate check refuses the second file.

``schemas/pain.008.001.02.xsd`` is ISO 20022's own schema for this message, unchanged (taken from the
``sepaxml`` 2.7.0 source distribution, which ships ISO's files as they are; its first comment says
where ISO publishes it). The tests validate every export against it; the service does not, so the
schema and its validator stay out of the run time.
"""

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from itertools import groupby
from xml.etree import ElementTree as ET

from contracts.debits import DebitOrderPayload
from contracts.identifiers import bank_code as rib_bank_code

NAMESPACE = "urn:iso:std:iso:20022:tech:xsd:pain.008.001.02"
ACCOUNT_SCHEME = "RIB"
DEBTOR_ID_SCHEME = "CNSS"  # Dbtr/Id/OrgId/Othr: the affiliation number
CREDITOR_ID_SCHEME = "ICS"  # CdtrSchmeId/Id/OrgId/Othr: the creditor scheme id


class Pain008Error(ValueError):
    pass


@dataclass(frozen=True)
class Pain008Options:
    """Codes the bank agreement fixes; the defaults suit a domestic business-to-business debit."""

    service_level: str = "NURG"  # ExternalServiceLevel1Code: non-urgent
    local_instrument: str = "B2B"  # ExternalLocalInstrument1Code: business-to-business direct debit


def sequence_type(order: DebitOrderPayload) -> str:
    return "FRST" if order.sequence == 1 and order.attempt == 1 else "RCUR"


def control_sum(orders: Iterable[DebitOrderPayload]) -> Decimal:
    return sum((o.instructed_amount for o in orders), Decimal("0.00"))


def message_id(bank: str, on_date: date, orders: Sequence[DebitOrderPayload]) -> str:
    """≤ 35 characters; the same orders give the same id."""
    digest = hashlib.sha256("\n".join(sorted(o.end_to_end_id for o in orders)).encode()).hexdigest()
    return f"CNSS-{bank}-{on_date:%Y%m%d}-{digest[:12].upper()}"


def _amount(value: Decimal) -> str:
    return f"{value:.2f}"


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{NAMESPACE}}}{tag}", attrs)
    if text is not None:
        element.text = text
    return element


def _path(parent: ET.Element, tags: str, text: str) -> ET.Element:
    """``_path(e, "Id/Othr/Id", "x")`` builds the chain and puts the text on the last element."""
    element = parent
    for tag in tags.split("/"):
        element = _sub(element, tag)
    element.text = text
    return element


def _account(parent: ET.Element, tag: str, number: str) -> None:
    othr = _sub(_sub(_sub(parent, tag), "Id"), "Othr")
    _sub(othr, "Id", number)
    _path(othr, "SchmeNm/Prtry", ACCOUNT_SCHEME)


def _agent(parent: ET.Element, tag: str, account: str) -> None:
    institution = _sub(_sub(parent, tag), "FinInstnId")
    code = account[:3]
    if code.isdigit() and len(code) == 3:
        _path(institution, "ClrSysMmbId/MmbId", code)
    else:
        _path(institution, "Othr/Id", "NOTPROVIDED")


def _party(parent: ET.Element, tag: str, name: str, identifier: str, scheme: str) -> None:
    party = _sub(parent, tag)
    _sub(party, "Nm", name)
    othr = _sub(_sub(_sub(party, "Id"), "OrgId"), "Othr")
    _sub(othr, "Id", identifier)
    _path(othr, "SchmeNm/Prtry", scheme)


def _blocks(orders: Sequence[DebitOrderPayload]) -> list[tuple[date, list[DebitOrderPayload]]]:
    ordered = sorted(orders, key=lambda o: (o.requested_collection_date, o.end_to_end_id))
    return [(day, list(items)) for day, items in groupby(ordered, key=lambda o: o.requested_collection_date)]


def build_pain008(
    orders: Sequence[DebitOrderPayload],
    *,
    bank: str,
    on_date: date,
    created_at: datetime,
    options: Pain008Options | None = None,
    msg_id: str | None = None,
) -> ET.Element:
    """The ``Document`` element for ``orders``, all of them for accounts of ``bank``."""
    options = options or Pain008Options()
    if not orders:
        raise Pain008Error(f"aucun ordre pour la banque {bank} le {on_date.isoformat()}")
    others = sorted({rib_bank_code(o.debtor_account) for o in orders} - {bank})
    if others:
        raise Pain008Error(f"ordres pour d'autres banques que {bank} : {', '.join(others)}")
    if len({o.end_to_end_id for o in orders}) != len(orders):
        raise Pain008Error("un même identifiant de bout en bout apparaît deux fois")
    creditors = {o.creditor for o in orders}
    if len(creditors) != 1:
        raise Pain008Error("un fichier porte les ordres d'un seul créancier")
    (creditor,) = creditors
    msg_id = msg_id or message_id(bank, on_date, orders)

    ET.register_namespace("", NAMESPACE)
    document = ET.Element(f"{{{NAMESPACE}}}Document")
    initiation = _sub(document, "CstmrDrctDbtInitn")
    header = _sub(initiation, "GrpHdr")
    _sub(header, "MsgId", msg_id)
    _sub(header, "CreDtTm", created_at.isoformat(timespec="seconds"))
    _sub(header, "NbOfTxs", str(len(orders)))
    _sub(header, "CtrlSum", _amount(control_sum(orders)))
    _party(header, "InitgPty", creditor.name, creditor.scheme_id, CREDITOR_ID_SCHEME)

    for day, block in _blocks(orders):
        info = _sub(initiation, "PmtInf")
        _sub(info, "PmtInfId", f"{msg_id[:26]}-{day:%Y%m%d}")
        _sub(info, "PmtMtd", "DD")
        _sub(info, "NbOfTxs", str(len(block)))
        _sub(info, "CtrlSum", _amount(control_sum(block)))
        payment_type = _sub(info, "PmtTpInf")
        _path(payment_type, "SvcLvl/Cd", options.service_level)
        _path(payment_type, "LclInstrm/Cd", options.local_instrument)
        _sub(info, "ReqdColltnDt", day.isoformat())
        _path(info, "Cdtr/Nm", creditor.name)
        _account(info, "CdtrAcct", creditor.account)
        _agent(info, "CdtrAgt", creditor.account)
        _party(info, "CdtrSchmeId", creditor.name, creditor.scheme_id, CREDITOR_ID_SCHEME)
        for order in block:
            tx = _sub(info, "DrctDbtTxInf")
            _path(tx, "PmtId/EndToEndId", order.end_to_end_id)
            _path(tx, "PmtTpInf/SeqTp", sequence_type(order))
            _sub(tx, "InstdAmt", _amount(order.instructed_amount), Ccy=order.currency)
            mandate = _sub(_sub(tx, "DrctDbtTx"), "MndtRltdInf")
            _sub(mandate, "MndtId", order.mandate_id)
            _sub(mandate, "DtOfSgntr", order.mandate_signed_on.isoformat())
            _agent(tx, "DbtrAgt", order.debtor_account)
            _party(tx, "Dbtr", order.debtor_name, order.affiliate, DEBTOR_ID_SCHEME)
            _account(tx, "DbtrAcct", order.debtor_account)
            _path(tx, "RmtInf/Ustrd", order.remittance_information)
    return document


def render_pain008(
    orders: Sequence[DebitOrderPayload],
    *,
    bank: str,
    on_date: date,
    created_at: datetime,
    options: Pain008Options | None = None,
    msg_id: str | None = None,
) -> bytes:
    """The file's bytes: UTF-8 with its XML declaration, indented for a human reader."""
    document = build_pain008(orders, bank=bank, on_date=on_date, created_at=created_at, options=options, msg_id=msg_id)
    ET.indent(document)
    data: bytes = ET.tostring(document, encoding="UTF-8", xml_declaration=True)
    return data + b"\n"
