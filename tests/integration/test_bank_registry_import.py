"""The bank registry at debits' door, on a real database (issue 13): an account of a bank in no
registry (050) refuses the whole accounts file, by the use case and by the command line, and leaves
nothing behind; provisioning creates the order topic of every registered bank, and of no other."""

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import typer
from aiokafka import AIOKafkaConsumer
from typer.testing import CliRunner

from contracts.banks import BANKS, orders_topic
from contracts.identifiers import rib_key
from services.debits.entrypoints.cli import import_accounts_command
from services.debits.entrypoints.operations import MIGRATIONS, import_bank_accounts
from services.debits.service.accounts import FileRefused
from services.runtime.db import migrate
from services.stack.provisioning import provision_topics
from tests.conftest import Infra
from tests.support import new_affiliate

pytestmark = pytest.mark.integration


def rib(bank: str) -> str:
    first = f"{bank}780{uuid.uuid4().int % 10**16:016d}"
    return first + rib_key(first)


def record(affiliate: str, account_rib: str) -> dict[str, str]:
    return {"affiliate": affiliate, "rib": account_rib, "bank_name": "Banque", "holder": "Atlas Test SARL"}


async def left_behind(database: str) -> dict[str, int]:
    conn = await asyncpg.connect(database)
    try:
        return {
            table: int(await conn.fetchval(f"SELECT count(*) FROM {table}"))  # our own constant table names
            for table in ("bank_accounts", "affiliate_accounts_version", "outbox")
        }
    finally:
        await conn.close()


@pytest.fixture
async def debits_database(database: str) -> str:
    """debits' tables in place, as on a running platform: 'nothing left behind' then says something."""
    conn = await asyncpg.connect(database)
    try:
        await migrate(conn, MIGRATIONS)
    finally:
        await conn.close()
    return database


def run_cli(file: Path, database: str) -> Any:
    app = typer.Typer()
    app.command()(import_accounts_command)
    return CliRunner().invoke(app, [str(file), "--database-url", database])


async def test_the_use_case_refuses_the_whole_batch_naming_the_account_affiliate_and_bank(
    debits_database: str,
) -> None:
    database = debits_database
    mine, theirs = new_affiliate(), new_affiliate()
    unknown = rib("050")
    batch = [record(mine, rib("007")), record(theirs, rib("230")), record(theirs, unknown), record(mine, rib("050"))]
    with pytest.raises(FileRefused) as refused:
        await import_bank_accounts(database, batch)
    message = str(refused.value)
    assert message.startswith(
        f"compte n° 3 : affilié {theirs}, banque 050 inconnue du registre des banques (contracts/banks.csv)"
    ), message
    assert message.endswith("(et 1 autre erreur)"), message  # the fourth account, the same fault
    assert unknown not in message and "\n" not in message
    assert await left_behind(database) == {"bank_accounts": 0, "affiliate_accounts_version": 0, "outbox": 0}

    # Without its faulty lines the same batch goes in.
    outcome = await import_bank_accounts(database, batch[:2])
    assert (outcome.accounts, outcome.affiliates_announced) == (2, 2)
    assert (await left_behind(database))["bank_accounts"] == 2


async def test_the_command_refuses_the_file_in_one_line_and_imports_it_once_fixed(
    debits_database: str, tmp_path: Path
) -> None:
    database = debits_database
    affiliate = new_affiliate()
    unknown = rib("050")
    file = tmp_path / "comptes.json"
    file.write_text(json.dumps([record(affiliate, unknown)]))
    result = await asyncio.to_thread(run_cli, file, database)
    assert result.exit_code == 2, result.output
    message = result.stderr.strip()
    assert message.startswith(
        "fichier refusé, rien n'est importé : compte n° 1 : "
        f"affilié {affiliate}, banque 050 inconnue du registre des banques (contracts/banks.csv) : "
        "aucun prélèvement possible"
    ), message
    assert "\n" not in message and unknown not in result.output
    assert "comptes enregistrés" not in result.stdout
    assert (await left_behind(database))["bank_accounts"] == 0

    file.write_text(json.dumps([record(affiliate, rib("145"))]))
    result = await asyncio.to_thread(run_cli, file, database)
    assert result.exit_code == 0, result.output
    assert "1 comptes enregistrés, 1 affiliés annoncés" in result.stdout


async def test_provisioning_creates_the_order_topic_of_every_registered_bank_and_no_other(infra: Infra) -> None:
    outcome = await provision_topics(infra.bootstrap, partitions=3)  # idempotent: the session made them
    for code in BANKS:
        assert outcome[orders_topic(code)] in ("created", "exists")
        assert outcome[orders_topic(code) + ".dlq"] in ("created", "exists")
    consumer = AIOKafkaConsumer(bootstrap_servers=infra.bootstrap)
    await consumer.start()
    try:
        topics = await consumer.topics()
    finally:
        await consumer.stop()
    assert {orders_topic(code) for code in BANKS} <= topics
    provisioned_orders = {t for t in outcome if t.startswith("debits.orders.") and not t.endswith(".dlq")}
    assert provisioned_orders == {orders_topic(code) for code in BANKS}
    assert orders_topic("050") not in provisioned_orders
