"""ISO 20022 files: the pain.008.001.02 export (structure, sums, blocks) and the pain.002.001.03 import.

The export is validated against the official ISO 20022 schema, shipped beside the generator in
``services/debits/adapters/pain/schemas/`` (``xmlschema`` is a development dependency only: the
service does not validate its own files at run time, these tests do).
"""

import re
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
import xmlschema

from contracts.debits import Creditor, DebitExecuted, DebitOrderPayload, DebitRejected
from contracts.identifiers import rib_key
from contracts.topics import BANK_RESULTS
from partners.bank.answers import result_id as bank_result_id
from services.debits.adapters.pain import pain008
from services.debits.adapters.pain.pain002 import Pain002Error, parse_pain002, result_id
from services.debits.adapters.pain.pain008 import NAMESPACE, Pain008Error, build_pain008, render_pain008, sequence_type
from services.debits.adapters.pain.publish_results import result_key
from tests import messages

NS = {"p": NAMESPACE}
CREATED = datetime(2026, 12, 10, 6, 0, tzinfo=UTC)
RUN = date(2026, 12, 10)
DATA = Path(__file__).parents[1] / "data"
SCHEMA = Path(pain008.__file__).parent / "schemas" / "pain.008.001.02.xsd"
CREDITOR = {
    "name": "Caisse Nationale de Sécurité Sociale",
    "scheme_id": "MA00ZZZCNSS000001",
    "account": "011780000000000123456706",
}


def rib(account: int, bank: str = "007") -> str:
    first = f"{bank}780{account:016d}"
    return first + rib_key(first)


def order(
    n: int, amount: str, *, on: date = RUN, sequence: int = 1, attempt: int = 1, bank: str = "007"
) -> DebitOrderPayload:
    request_id = uuid.UUID(int=n)
    return messages.order_payload(
        f"{1000000 + n}",
        request_id=request_id,
        end_to_end_id=f"R{n:08d}-{sequence}-{attempt}",
        sequence=sequence,
        installments_total=3,
        attempt=attempt,
        amount=amount,
        collection=on,
        creditor=Creditor.model_validate(CREDITOR),
        debtor_name=f"Société n°{n} & fils <Casablanca>",
        debtor_account=rib(n, bank),
        mandate_id=f"MDT-{n:08d}",
    )


ORDERS = [
    order(1, "1200.50"),  # FRST: first debit, first attempt
    order(2, "3000.00", sequence=2),  # RCUR
    order(3, "0.01", sequence=1, attempt=2),  # RCUR: a re-presentation
    order(4, "5250.49", on=date(2026, 12, 11)),  # another collection date (a re-presentation run)
    order(5, "999999999.99", on=date(2026, 12, 11), sequence=3),
]


def document(orders: list[DebitOrderPayload] = ORDERS) -> ET.Element:
    return ET.fromstring(render_pain008(orders, bank="007", on_date=RUN, created_at=CREATED))  # noqa: S314


@pytest.fixture(scope="module")
def schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(SCHEMA))


def test_the_export_is_valid_against_the_official_xsd(schema: xmlschema.XMLSchema) -> None:
    schema.validate(render_pain008(ORDERS, bank="007", on_date=RUN, created_at=CREATED).decode())


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("<PmtMtd>DD</PmtMtd>", "<PmtMtd>TRF</PmtMtd>"),  # a code the schema does not list
        ("<SeqTp>FRST</SeqTp>", "<SeqTp>FIRST</SeqTp>"),
        ('<InstdAmt Ccy="MAD">1200.50</InstdAmt>', '<InstdAmt Ccy="MAD">1200.505001</InstdAmt>'),  # > 5 decimals
        ("<NbOfTxs>5</NbOfTxs>", ""),  # a required element
        ("<ReqdColltnDt>2026-12-10</ReqdColltnDt>", "<ReqdColltnDt>10/12/2026</ReqdColltnDt>"),
    ],
)
def test_the_schema_check_would_catch_a_file_a_bank_refuses(schema: xmlschema.XMLSchema, old: str, new: str) -> None:
    # The test above can fail: the same file with one field a bank's validator refuses is refused here.
    text = render_pain008(ORDERS, bank="007", on_date=RUN, created_at=CREATED).decode()
    assert old in text
    with pytest.raises(xmlschema.XMLSchemaValidationError):
        schema.validate(text.replace(old, new, 1))


def test_group_header_counts_and_control_sums_add_up() -> None:
    root = document()
    header = root.find("p:CstmrDrctDbtInitn/p:GrpHdr", NS)
    assert header is not None
    assert header.findtext("p:NbOfTxs", namespaces=NS) == "5"
    assert header.findtext("p:CtrlSum", namespaces=NS) == "1000009450.99"
    assert header.findtext("p:CreDtTm", namespaces=NS) == "2026-12-10T06:00:00+00:00"
    msg_id = header.findtext("p:MsgId", namespaces=NS) or ""
    assert re.fullmatch(r"CNSS-007-20261210-[0-9A-F]{12}", msg_id)
    assert header.findtext("p:InitgPty/p:Id/p:OrgId/p:Othr/p:Id", namespaces=NS) == "MA00ZZZCNSS000001"
    blocks = root.findall("p:CstmrDrctDbtInitn/p:PmtInf", NS)
    total = sum(Decimal(b.findtext("p:CtrlSum", namespaces=NS) or "") for b in blocks)
    amounts = [Decimal(a.text or "") for a in root.iter(f"{{{NAMESPACE}}}InstdAmt")]
    assert total == sum(amounts) == Decimal("1000009450.99")
    for block in blocks:
        txs = block.findall("p:DrctDbtTxInf", NS)
        assert block.findtext("p:NbOfTxs", namespaces=NS) == str(len(txs))
        assert Decimal(block.findtext("p:CtrlSum", namespaces=NS) or "") == sum(
            Decimal(t.findtext("p:InstdAmt", namespaces=NS) or "") for t in txs
        )


def test_one_payment_block_per_collection_date_with_the_creditor() -> None:
    blocks = document().findall("p:CstmrDrctDbtInitn/p:PmtInf", NS)
    assert [b.findtext("p:ReqdColltnDt", namespaces=NS) for b in blocks] == ["2026-12-10", "2026-12-11"]
    assert [len(b.findall("p:DrctDbtTxInf", NS)) for b in blocks] == [3, 2]
    ids = [b.findtext("p:PmtInfId", namespaces=NS) or "" for b in blocks]
    assert len(set(ids)) == 2 and all(len(i) <= 35 for i in ids)
    for block in blocks:
        assert block.findtext("p:PmtMtd", namespaces=NS) == "DD"
        assert block.findtext("p:PmtTpInf/p:SvcLvl/p:Cd", namespaces=NS) == "NURG"
        assert block.findtext("p:PmtTpInf/p:LclInstrm/p:Cd", namespaces=NS) == "B2B"
        assert block.findtext("p:Cdtr/p:Nm", namespaces=NS) == CREDITOR["name"]
        assert block.findtext("p:CdtrAcct/p:Id/p:Othr/p:Id", namespaces=NS) == CREDITOR["account"]
        assert block.findtext("p:CdtrAgt/p:FinInstnId/p:ClrSysMmbId/p:MmbId", namespaces=NS) == "011"
        assert block.findtext("p:CdtrSchmeId/p:Id/p:OrgId/p:Othr/p:Id", namespaces=NS) == CREDITOR["scheme_id"]


def test_each_order_is_one_transaction_with_its_mandate_rib_and_sequence_type() -> None:
    txs = {
        t.findtext("p:PmtId/p:EndToEndId", namespaces=NS): t for t in document().iter(f"{{{NAMESPACE}}}DrctDbtTxInf")
    }
    assert set(txs) == {o.end_to_end_id for o in ORDERS}
    for o in ORDERS:
        tx = txs[o.end_to_end_id]
        amount = tx.find("p:InstdAmt", NS)
        assert amount is not None and amount.get("Ccy") == "MAD" and amount.text == f"{o.instructed_amount:.2f}"
        assert tx.findtext("p:PmtTpInf/p:SeqTp", namespaces=NS) == sequence_type(o)
        assert tx.findtext("p:DrctDbtTx/p:MndtRltdInf/p:MndtId", namespaces=NS) == o.mandate_id
        assert tx.findtext("p:DrctDbtTx/p:MndtRltdInf/p:DtOfSgntr", namespaces=NS) == "2026-11-02"
        assert tx.findtext("p:DbtrAgt/p:FinInstnId/p:ClrSysMmbId/p:MmbId", namespaces=NS) == "007"
        assert tx.findtext("p:Dbtr/p:Nm", namespaces=NS) == o.debtor_name  # escaped and read back intact
        assert tx.findtext("p:Dbtr/p:Id/p:OrgId/p:Othr/p:Id", namespaces=NS) == o.affiliate
        assert tx.findtext("p:DbtrAcct/p:Id/p:Othr/p:Id", namespaces=NS) == o.debtor_account  # a RIB, not an IBAN
        assert tx.findtext("p:DbtrAcct/p:Id/p:Othr/p:SchmeNm/p:Prtry", namespaces=NS) == "RIB"
        assert tx.findtext("p:RmtInf/p:Ustrd", namespaces=NS) == o.remittance_information
    assert [sequence_type(o) for o in ORDERS] == ["FRST", "RCUR", "RCUR", "FRST", "RCUR"]


def test_the_file_is_utf8_deterministic_and_refuses_what_a_bank_would_refuse() -> None:
    data = render_pain008(ORDERS, bank="007", on_date=RUN, created_at=CREATED)
    assert data.startswith(b"<?xml version='1.0' encoding='UTF-8'?>\n<Document xmlns=\"" + NAMESPACE.encode())
    assert "Sécurité".encode() in data
    assert render_pain008(list(reversed(ORDERS)), bank="007", on_date=RUN, created_at=CREATED) == data
    with pytest.raises(Pain008Error, match="aucun ordre"):
        build_pain008([], bank="007", on_date=RUN, created_at=CREATED)
    with pytest.raises(Pain008Error, match="autres banques que 007 : 011"):
        build_pain008([*ORDERS, order(9, "10.00", bank="011")], bank="007", on_date=RUN, created_at=CREATED)
    with pytest.raises(Pain008Error, match="deux fois"):
        build_pain008([ORDERS[0], ORDERS[0]], bank="007", on_date=RUN, created_at=CREATED)


# --- pain.002 import ------------------------------------------------------------------------------


def test_a_status_report_becomes_executed_and_rejected_results() -> None:
    report = parse_pain002((DATA / "pain002-007-sample.xml").read_bytes())
    assert (report.message_id, report.original_message_id) == (
        "AWB-PSR-20261211-0001",
        "CNSS-007-20261210-0123456789AB",
    )
    assert report.pending == [("0ABCDEFGHIJKLMNOPQRSTUVX0-3-1", "PDNG")]
    by_id = {r.message.payload.end_to_end_id: r for r in report.results}
    assert len(by_id) == 4

    paid = by_id["0ABCDEFGHIJKLMNOPQRSTUVWX-1-1"]
    assert isinstance(paid.message, DebitExecuted) and paid.affiliate == "1000001"
    assert (str(paid.message.payload.amount), paid.message.payload.settled_on) == ("1200.50", date(2026, 12, 10))
    assert paid.message.payload.bank_code == "007"

    accepted = by_id["0ABCDEFGHIJKLMNOPQRSTUVX1-1-1"]  # ACCP, no acceptance time: the requested date
    assert isinstance(accepted.message, DebitExecuted) and accepted.affiliate is None
    assert accepted.message.payload.settled_on == date(2026, 12, 10)

    short = by_id["0ABCDEFGHIJKLMNOPQRSTUVWY-2-1"]
    assert isinstance(short.message, DebitRejected) and short.affiliate == "1000004"
    assert (short.message.payload.reason_code, short.message.payload.rejected_on) == ("AM04", date(2026, 12, 11))
    closed = by_id["0ABCDEFGHIJKLMNOPQRSTUVWZ-1-2"]
    assert isinstance(closed.message, DebitRejected) and closed.message.payload.reason_code == "AC04"
    assert result_key(closed) == "0ABCDEFGHIJKLMNOPQRSTUVWZ-1-2" and result_key(short) == "1000004"

    for item in report.results:  # what goes on the topic is what the catalogue says
        assert BANK_RESULTS.adapter().validate_json(item.message.model_dump_json()) == item.message


def test_importing_twice_gives_the_same_event_ids_as_the_bank_on_kafka() -> None:
    data = (DATA / "pain002-007-sample.xml").read_bytes()
    first, second = parse_pain002(data), parse_pain002(data)
    assert [r.message.event_id for r in first.results] == [r.message.event_id for r in second.results]
    assert [r.message for r in first.results] == [r.message for r in second.results]
    paid = next(r.message for r in first.results if isinstance(r.message, DebitExecuted))
    e2e = paid.payload.end_to_end_id
    assert paid.event_id == result_id(e2e, "executed") == bank_result_id(e2e, "executed")


def sample_with(old: str, new: str) -> bytes:
    text = (DATA / "pain002-007-sample.xml").read_text()
    assert old in text
    return text.replace(old, new, 1).encode()


def test_the_bank_code_comes_from_the_caller_or_the_accounts() -> None:
    data = (DATA / "pain002-007-sample.xml").read_bytes()
    assert {r.message.payload.bank_code for r in parse_pain002(data, bank_code="011").results} == {"011"}
    no_agent = sample_with("<MmbId>007</MmbId>", "<MmbId>AWB</MmbId>")
    with pytest.raises(Pain002Error, match="banque inconnue"):
        parse_pain002(no_agent)
    # without a bank in the header, each transaction's original debtor account names it (RIB digits 1-3)
    account = f"<DbtrAcct><Id><Othr><Id>{rib(1, '145')}</Id></Othr></Id></DbtrAcct>"
    text = no_agent.decode().replace("</OrgnlTxRef>", account + "</OrgnlTxRef>")
    text = text.replace(
        "<Cd>AC04</Cd>\n          </Rsn>\n        </StsRsnInf>",
        f"<Cd>AC04</Cd></Rsn></StsRsnInf><OrgnlTxRef>{account}</OrgnlTxRef>",
    )
    report = parse_pain002(text.encode())
    assert len(report.results) == 4
    assert {r.message.payload.bank_code for r in report.results} == {"145"}


def test_a_reason_that_is_no_code_reads_as_ms03() -> None:
    report = parse_pain002(sample_with("<Cd>AM04</Cd>", "<Prtry>insuffisant</Prtry>"))
    reasons = {r.message.payload.end_to_end_id: r.message.payload for r in report.results}
    assert reasons["0ABCDEFGHIJKLMNOPQRSTUVWY-2-1"].reason_code == "MS03"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.03">', "<Document>", "pas un rapport"),
        ("<MsgId>AWB-PSR-20261211-0001</MsgId>", "", "sans MsgId"),
        ('<InstdAmt Ccy="MAD">1200.50</InstdAmt>', '<InstdAmt Ccy="EUR">1200.50</InstdAmt>', "devise EUR"),
        ('<InstdAmt Ccy="MAD">1200.50</InstdAmt>', '<InstdAmt Ccy="MAD">-1</InstdAmt>', "-1-1 : "),
        ('<InstdAmt Ccy="MAD">1200.50</InstdAmt>', '<InstdAmt Ccy="MAD">beaucoup</InstdAmt>', "montant illisible"),
        ("<TxSts>PDNG</TxSts>", "<TxSts>ACSC</TxSts>", "montant absent"),
        ("<TxSts>PDNG</TxSts>", "", "sans OrgnlEndToEndId ou TxSts"),
        ("0ABCDEFGHIJKLMNOPQRSTUVX1-1-1", "0ABCDEFGHIJKLMNOPQRSTUVWY-2-1", "contradictoires"),
        ("</Document>", "", "XML illisible"),
    ],
)
def test_a_report_that_cannot_be_applied_is_refused_whole(old: str, new: str, message: str) -> None:
    with pytest.raises(Pain002Error, match=message):
        parse_pain002(sample_with(old, new))


def test_a_report_with_a_dtd_is_refused_whole_even_when_its_entities_are_harmless() -> None:
    # Before defusedxml, ElementTree expanded the internal entity and the AM04 below was applied.
    with_dtd = sample_with("<Cd>AM04</Cd>", "<Cd>&reason;</Cd>").replace(
        b"<Document ", b'<!DOCTYPE Document [<!ENTITY reason "AM04">]>\n<Document ', 1
    )
    with pytest.raises(Pain002Error, match="DTD ou entités interdites"):
        parse_pain002(with_dtd)
    laughs = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 7))
    bomb = sample_with("<Cd>AM04</Cd>", "<Cd>&l6;</Cd>").replace(
        b"<Document ", f'<!DOCTYPE Document [<!ENTITY l0 "ha">{laughs}]>\n<Document '.encode(), 1
    )
    with pytest.raises(Pain002Error, match="DTD ou entités interdites"):
        parse_pain002(bomb)


def test_a_pending_report_or_a_global_rejection() -> None:
    empty = b"""<?xml version="1.0"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.03"><CstmrPmtStsRpt>
    <GrpHdr><MsgId>R1</MsgId><CreDtTm>2026-12-10T10:00:00</CreDtTm></GrpHdr>
    <OrgnlGrpInfAndSts><OrgnlMsgId>CNSS-007-X</OrgnlMsgId><OrgnlMsgNmId>pain.008.001.02</OrgnlMsgNmId>
    <GrpSts>ACTC</GrpSts></OrgnlGrpInfAndSts></CstmrPmtStsRpt></Document>"""
    report = parse_pain002(empty)
    assert (report.results, report.pending) == ([], [])
    with pytest.raises(Pain002Error, match="rejet global"):
        parse_pain002(empty.replace(b"ACTC", b"RJCT"))
    amounts = {"E-1-1": Decimal("10.00")}
    tx = (
        b"<OrgnlPmtInfAndSts><OrgnlPmtInfId>P</OrgnlPmtInfId><TxInfAndSts><OrgnlEndToEndId>E-1-1</OrgnlEndToEndId>"
        b"<TxSts>ACSC</TxSts></TxInfAndSts></OrgnlPmtInfAndSts></CstmrPmtStsRpt>"
    )
    with_tx = empty.replace(b"</CstmrPmtStsRpt>", tx)
    (paid,) = parse_pain002(with_tx, bank_code="007", amounts=amounts).results
    assert isinstance(paid.message, DebitExecuted)
    assert paid.message.payload.settled_on == date(2026, 12, 10)  # the report's date
    assert paid.message.occurred_at.utcoffset() is not None  # a local time is Casablanca's
