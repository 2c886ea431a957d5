"""``recouvrement debits export-pain008`` on debits' real tables (migrations of services/debits)."""

import asyncio
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from xml.etree import ElementTree as ET

import asyncpg
import pytest
import typer
from typer.testing import CliRunner

from contracts.identifiers import rib_key
from contracts.topics import BANK_RESULTS
from services.debits.adapters.pain.pain008 import NAMESPACE
from services.debits.domain.debits import end_to_end_id, mandate_id
from services.debits.entrypoints.cli import export_pain008_command, import_pain002_command
from services.runtime.db import migrate
from tests.conftest import Infra
from tests.support import header, new_affiliate, read_topic

pytestmark = pytest.mark.integration

MIGRATIONS = Path(__file__).parents[2] / "services" / "debits" / "migrations"
NS = {"p": NAMESPACE}
RUN = date(2026, 12, 10)
AT = datetime(2026, 12, 10, 6, 0, tzinfo=UTC)


def rib(bank: str, n: int) -> str:
    first = f"{bank}780{n:016d}"
    return first + rib_key(first)


async def seed(conn: asyncpg.Connection, n: int, bank: str, *, on: date, sequence: int = 1, attempt: int = 1) -> str:
    request_id, account, affiliate = uuid.UUID(int=n), rib(bank, n), f"{1000000 + n}"
    await conn.execute(
        "INSERT INTO bank_accounts VALUES ($1, $2, $3, $4, 'Banque', 'Titulaire', $5)",
        f"acc-{n}",
        affiliate,
        account,
        bank,
        AT,
    )
    await conn.execute("INSERT INTO affiliate_profile VALUES ($1, $2)", affiliate, f"Société {n}")
    await conn.execute(
        "INSERT INTO plan VALUES ($1, $2, 'DEC-05-2023', 'INSTALLMENTS', $3, $4, $5, 'Titulaire', $6, $7, 3,"
        " 'ACTIVE', NULL, $8)",
        request_id,
        affiliate,
        f"acc-{n}",
        account,
        bank,
        mandate_id(request_id),
        date(2026, 11, 2),
        AT,
    )
    await conn.execute(
        "INSERT INTO debit VALUES ($1, $2, 'INSTALLMENT', $3, $3, $4, 'ORDERED', $5, NULL)",
        request_id,
        sequence,
        on,
        Decimal("100.25") * n,
        attempt,
    )
    e2e = end_to_end_id(request_id, sequence, attempt)
    await conn.execute(
        "INSERT INTO debit_order (end_to_end_id, request_id, sequence, attempt, bank_code, amount,"
        " requested_collection_date, run_date, ordered_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        e2e,
        request_id,
        sequence,
        attempt,
        bank,
        Decimal("100.25") * n,
        on,
        RUN,
        AT,
    )
    return e2e


def export(args: list[str]) -> object:
    app = typer.Typer()
    app.command()(export_pain008_command)
    return CliRunner().invoke(app, args)


async def test_the_orders_of_a_run_for_one_bank_become_a_pain008_file(database: str, tmp_path: Path) -> None:
    conn = await asyncpg.connect(database)
    try:
        await migrate(conn, [("debits", MIGRATIONS)])
        ours = [
            await seed(conn, 1, "007", on=RUN),
            await seed(conn, 2, "007", on=date(2026, 12, 11), sequence=2, attempt=2),
        ]
        await seed(conn, 3, "011", on=RUN)  # another bank: not in 007's file
    finally:
        await conn.close()

    out = tmp_path / "007.xml"
    args = ["--bank", "007", "--date", "2026-12-10", "--out", str(out), "--database-url", database]
    result = await asyncio.to_thread(export, args)
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    root = ET.fromstring(out.read_bytes())  # noqa: S314
    assert root.findtext("p:CstmrDrctDbtInitn/p:GrpHdr/p:NbOfTxs", namespaces=NS) == "2"
    assert root.findtext("p:CstmrDrctDbtInitn/p:GrpHdr/p:CtrlSum", namespaces=NS) == "300.75"
    e2e = [e.text for e in root.iter(f"{{{NAMESPACE}}}EndToEndId")]
    assert e2e == ours
    assert len(root.findall("p:CstmrDrctDbtInitn/p:PmtInf", NS)) == 2
    assert root.findtext(".//p:Dbtr/p:Nm", namespaces=NS) == "Société 1"

    nothing = await asyncio.to_thread(export, [*args[:2], "--date", "2026-12-09", *args[4:]])
    assert nothing.exit_code == 1  # type: ignore[attr-defined]


def import_report(args: list[str]) -> object:
    app = typer.Typer()
    app.command()(import_pain002_command)
    return CliRunner().invoke(app, args)


async def test_importing_a_status_report_twice_publishes_the_same_events(infra: Infra, tmp_path: Path) -> None:
    affiliate = new_affiliate()  # this test's key on the shared topic, used by no other test of the session
    sample = (Path(__file__).parents[1] / "data" / "pain002-007-sample.xml").read_text()
    report = tmp_path / "pain002.xml"
    report.write_text(sample.replace("<Id>1000001</Id>", f"<Id>{affiliate}</Id>"))
    for _ in range(2):
        result = await asyncio.to_thread(import_report, [str(report), "--bootstrap", infra.bootstrap])
        assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
        assert "4 résultats publiés (2 exécutés, 2 rejetés), 1 en attente" in result.output  # type: ignore[attr-defined]

    records = await read_topic(infra.bootstrap, BANK_RESULTS.name, lambda r: len(r) >= 2, key=affiliate)
    messages = [BANK_RESULTS.adapter().validate_json(r.value) for r in records]
    assert len(messages) == 2 and messages[0] == messages[1]  # same event id: debits' inbox applies it once
    assert header(records[0], "traceparent") is not None
