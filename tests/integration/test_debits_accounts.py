"""debits with its real database and broker: bank accounts in, masked list and events out."""

import asyncio
import json
import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import typer
from typer.testing import CliRunner

from contracts.debits import BankAccountsChanged
from contracts.topics import DEBITS_ACCOUNTS
from services.debits.config import DebitsSettings
from services.debits.entrypoints.cli import cli as debits_cli
from services.debits.entrypoints.cli import import_accounts_command
from services.debits.entrypoints.operations import import_bank_accounts
from services.debits.main import create_app
from services.debits.service.accounts import FileRefused
from services.runtime.clock import FrozenClock
from services.runtime.tokens import Principal, TokenIssuer
from tests.conftest import Infra
from tests.support import eventually, new_affiliate, read_topic, running

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
# Valid RIBs (mod-97 keys computed once, written out so the masks below are checked literally).
RIB_A = "007780000123456789123461"
RIB_B = "230110000000000000424292"
RIB_C = "011540000987654321098785"  # banks of the registry (contracts/banks.csv) only
RIB_BAD_KEY = "007780000123456789123400"


def record(affiliate: str, rib: str, bank_name: str, **extra: str) -> dict[str, str]:
    return {"affiliate": affiliate, "rib": rib, "bank_name": bank_name, "holder": "Atlas Test SARL"} | extra


@pytest.fixture
def settings(infra: Infra, database: str) -> DebitsSettings:
    return DebitsSettings(
        database_url=database,
        kafka_bootstrap_servers=infra.bootstrap,
        token_public_key_file=infra.public_key,
    )


@pytest.fixture
def issuer(infra: Infra) -> TokenIssuer:
    s = DebitsSettings()
    return TokenIssuer(
        infra.private_key.read_bytes(), issuer=s.token_issuer, audience=s.token_audience, ttl=timedelta(minutes=15)
    )


@pytest.fixture
async def client(settings: DebitsSettings) -> AsyncIterator[httpx.AsyncClient]:
    async with running(create_app(settings, FrozenClock(NOW))) as client:
        yield client


async def get_accounts(client: httpx.AsyncClient, issuer: TokenIssuer, affiliate: str, *held: str) -> httpx.Response:
    principal = Principal(str(uuid.uuid4()), "test", frozenset(held or (affiliate,)))
    token = issuer.issue(principal, datetime.now(UTC))[0]
    return await client.get(f"/v1/affiliates/{affiliate}/bank-accounts", headers={"authorization": f"Bearer {token}"})


async def announcements(bootstrap: str, affiliate: str, count: int) -> list[BankAccountsChanged]:
    found = await read_topic(bootstrap, DEBITS_ACCOUNTS.name, lambda r: len(r) >= count, key=affiliate)
    for r in found:
        assert RIB_A.encode() not in r.value and RIB_B.encode() not in r.value  # the full RIB stays in debits
    return [BankAccountsChanged.model_validate_json(r.value) for r in found]


async def test_imported_accounts_are_listed_masked_and_announced(
    client: httpx.AsyncClient, issuer: TokenIssuer, database: str, infra: Infra
) -> None:
    affiliate = new_affiliate()
    records = [
        record(affiliate, RIB_A, "Attijariwafa bank", bank_code="007", id="compte-a"),
        record(affiliate, RIB_B, "Banque Populaire"),
    ]
    outcome = await import_bank_accounts(database, records)
    assert (outcome.accounts, outcome.affiliates_announced) == (2, 1)

    response = await get_accounts(client, issuer, affiliate)
    assert response.status_code == 200
    body: list[dict[str, Any]] = response.json()
    assert [a["rib_masked"] for a in body] == ["********************3461", "********************4292"]
    assert body[0] == {
        "id": "compte-a",
        "bank_code": "007",
        "bank_name": "Attijariwafa bank",
        "rib_masked": "********************3461",
        "holder": "Atlas Test SARL",
    }
    assert body[1]["bank_code"] == "230"  # from the RIB when the file does not say
    assert RIB_A not in response.text and RIB_B not in response.text

    (event,) = await announcements(infra.bootstrap, affiliate, 1)
    assert event.payload.version == 1
    assert [a.model_dump() for a in event.payload.accounts] == body


async def test_reimport_changes_nothing_and_a_new_account_bumps_the_version(
    client: httpx.AsyncClient, issuer: TokenIssuer, database: str, infra: Infra
) -> None:
    affiliate = new_affiliate()
    records = [record(affiliate, RIB_A, "Attijariwafa bank"), record(affiliate, RIB_B, "Banque Populaire")]
    await import_bank_accounts(database, records)
    first = (await get_accounts(client, issuer, affiliate)).json()

    again = await import_bank_accounts(database, records)
    assert again.affiliates_announced == 0
    assert (await get_accounts(client, issuer, affiliate)).json() == first  # same ids, no duplicate

    await import_bank_accounts(database, [*records, record(affiliate, RIB_C, "BMCE Bank")])
    assert len((await get_accounts(client, issuer, affiliate)).json()) == 3
    events = await announcements(infra.bootstrap, affiliate, 2)
    assert [(e.payload.version, len(e.payload.accounts)) for e in events] == [(1, 2), (2, 3)]


def run_cli(file: Path, database: str) -> Any:
    app = typer.Typer()
    app.command()(import_accounts_command)
    return CliRunner().invoke(app, [str(file), "--database-url", database])


async def test_an_invalid_rib_refuses_the_whole_file(
    client: httpx.AsyncClient, issuer: TokenIssuer, database: str, tmp_path: Path
) -> None:
    affiliate = new_affiliate()
    file = tmp_path / "comptes.json"
    file.write_text(
        json.dumps([record(affiliate, RIB_A, "Attijariwafa bank"), record(affiliate, RIB_BAD_KEY, "Autre")])
    )
    result = await asyncio.to_thread(run_cli, file, database)
    assert result.exit_code == 2
    message = result.stderr.strip()
    assert "\n" not in message
    assert message.startswith("fichier refusé, rien n'est importé : compte n° 2 (rib) : RIB invalide")
    assert RIB_BAD_KEY not in result.output and RIB_BAD_KEY not in message
    assert (await get_accounts(client, issuer, affiliate)).json() == []

    with pytest.raises(FileRefused, match="code banque"):
        await import_bank_accounts(database, [record(affiliate, RIB_A, "X", bank_code="999")])

    file.write_text(json.dumps([record(affiliate, RIB_A, "Attijariwafa bank")]))
    result = await asyncio.to_thread(run_cli, file, database)
    assert result.exit_code == 0, result.output
    assert "1 comptes enregistrés, 1 affiliés annoncés" in result.output
    assert len((await get_accounts(client, issuer, affiliate)).json()) == 1


async def test_another_affiliates_accounts_are_not_found(
    client: httpx.AsyncClient, issuer: TokenIssuer, database: str
) -> None:
    mine, theirs = new_affiliate(), new_affiliate()
    await import_bank_accounts(database, [record(theirs, RIB_A, "Attijariwafa bank")])
    response = await get_accounts(client, issuer, theirs, mine)
    assert response.status_code == 404
    assert response.json()["code"] == "affilie-introuvable"
    assert (await client.get(f"/v1/affiliates/{mine}/bank-accounts")).status_code == 401


async def outbox_empty(database: str) -> bool:
    conn = await asyncpg.connect(database)
    try:
        return bool(await conn.fetchval("SELECT count(*) = 0 FROM outbox"))
    finally:
        await conn.close()


async def test_accounts_are_announced_again_at_start(settings: DebitsSettings, database: str, infra: Infra) -> None:
    affiliate = new_affiliate()
    async with running(create_app(settings, FrozenClock(NOW))):
        await import_bank_accounts(database, [record(affiliate, RIB_A, "Attijariwafa bank")])
        await announcements(infra.bootstrap, affiliate, 1)
        await eventually(lambda: outbox_empty(database))  # else the next start would resend it anyway
    republishing = settings.model_copy(update={"republish_accounts_on_start": True})
    async with running(create_app(republishing, FrozenClock(NOW))):
        events = await announcements(infra.bootstrap, affiliate, 2)
    assert [e.payload.version for e in events] == [1, 1]
    assert events[0].event_id != events[1].event_id
    assert events[0].payload.accounts == events[1].payload.accounts


async def test_an_operator_has_every_list_announced_again_by_a_command(
    settings: DebitsSettings, database: str, infra: Infra
) -> None:
    affiliate = new_affiliate()
    async with running(create_app(settings, FrozenClock(NOW))):
        await import_bank_accounts(database, [record(affiliate, RIB_A, "Attijariwafa bank")])
        await announcements(infra.bootstrap, affiliate, 1)
        await eventually(lambda: outbox_empty(database))
        said = await asyncio.to_thread(
            CliRunner().invoke, debits_cli, ["republish", "--database-url", database], catch_exceptions=False
        )
        assert said.exit_code == 0, said.output
        assert re.fullmatch(
            r"comptes bancaires de [0-9]+ affiliés mis dans l'outbox \(le service debits les publie\)\n", said.output
        )
        events = await announcements(infra.bootstrap, affiliate, 2)  # the running service relays them
    assert [e.payload.version for e in events] == [1, 1]
    assert events[0].payload.accounts == events[1].payload.accounts
