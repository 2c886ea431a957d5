"""A careless accounts file: a RIB of bank 050, which is in no registry (issue 13).

``recouvrement debits import-accounts`` used to take it ("1 comptes enregistrés"); its orders then
went to ``debits.orders.050.v1``, a topic no bank reads and nobody created, and the outbox relay
retried that row forever. Now the registry is data (``contracts/banks.csv``) and the import refuses
the whole file, naming the account's line, its affiliate and the bank code, and registers nothing of
it. The same file without that line goes in, and an affiliate pays a FULL plan from an account it
brought (bank 145): its order goes to ``debits.orders.145.v1``, the reference bank settles it.
"""

import json
import subprocess
import sys
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer

from contracts.banks import BANKS, orders_topic
from contracts.identifiers import rib_key
from services.stack.provisioning import database_url
from tests.e2e.conftest import RunningStack
from tests.e2e.test_debits_flow import answered, debit_run, events_until, orders_of, plan_of, request_reaches
from tests.e2e.test_requests_flow import Employer
from tests.support import eventually

pytestmark = pytest.mark.faults

NOTHING_TO_REMIT, NOTHING_TO_REMIT_LOGIN = "1000109", "demo.affilie.010"
OTHER, OTHER_LOGIN = "1000110", "demo.affilie.011"
PAYER, PAYER_LOGIN = "1000112", "demo.affilie.013"  # penalties to remit in the demo data
UNKNOWN_BANK = "050"


def new_rib(bank: str) -> str:
    first = f"{bank}999{uuid.uuid4().int % 10**16:016d}"
    return first + rib_key(first)


def debits_database(stack: RunningStack) -> str:
    pg = stack.env.get("DATABASE_URL") or f"postgresql://postgres@127.0.0.1:{stack.env['RECOUVREMENT_PG_PORT']}"
    return database_url(pg, "debits")


def import_accounts(stack: RunningStack, file: Path) -> subprocess.CompletedProcess[str]:
    """``recouvrement debits import-accounts FILE`` as an operator runs it."""
    return subprocess.run(
        [sys.executable, "-m", "services.cli", "debits", "import-accounts", str(file)],
        env=stack.env | {"DATABASE_URL": debits_database(stack)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def accounts_of(employer: Employer) -> list[dict[str, Any]]:
    answer = await employer.call("GET", f"{employer.stack.debits}/v1/affiliates/{employer.affiliate}/bank-accounts")
    assert answer.status_code == 200, answer.text
    return list(answer.json())


async def registered(stack: RunningStack, ribs: list[str]) -> int:
    conn = await asyncpg.connect(debits_database(stack))
    try:
        return int(await conn.fetchval("SELECT count(*) FROM bank_accounts WHERE rib = ANY($1::text[])", ribs))
    finally:
        await conn.close()


async def topics_on_broker(stack: RunningStack) -> set[str]:
    consumer = AIOKafkaConsumer(bootstrap_servers=stack.bootstrap)
    await consumer.start()
    try:
        return set(await consumer.topics())
    finally:
        await consumer.stop()


def account(affiliate: str, rib: str, bank_name: str, holder: str) -> dict[str, str]:
    return {"affiliate": affiliate, "rib": rib, "bank_name": bank_name, "holder": holder}


async def test_an_account_of_a_bank_in_no_registry_refuses_the_file_and_the_rest_still_works(
    faults_stack: RunningStack, tmp_path: Path
) -> None:
    assert UNKNOWN_BANK not in BANKS
    first, other, payer = (
        Employer(faults_stack, NOTHING_TO_REMIT_LOGIN, NOTHING_TO_REMIT),
        Employer(faults_stack, OTHER_LOGIN, OTHER),
        Employer(faults_stack, PAYER_LOGIN, PAYER),
    )
    before = {e.affiliate: await accounts_of(e) for e in (first, other, payer)}
    good_first, bad, good_payer = new_rib("007"), new_rib(UNKNOWN_BANK), new_rib("145")
    lines = [
        account(NOTHING_TO_REMIT, good_first, "Attijariwafa bank", "[DEMO] titulaire"),
        account(OTHER, bad, "Banque inconnue", "[DEMO] titulaire"),
        account(PAYER, good_payer, "Banque Populaire", "[DEMO] titulaire"),
    ]
    file = tmp_path / "comptes.json"
    file.write_text(json.dumps(lines))

    refused = import_accounts(faults_stack, file)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    message = refused.stderr.strip()
    assert "\n" not in message, message
    assert message.startswith(
        f"fichier refusé, rien n'est importé : compte n° 2 : affilié {OTHER}, banque {UNKNOWN_BANK} inconnue du "
        "registre des banques (contracts/banks.csv)"
    ), message
    assert bad not in refused.stdout + refused.stderr and bad[:20] not in message  # no full RIB in a message
    assert "comptes enregistrés" not in refused.stdout
    # Nothing of the file: not the bad account, not the good ones beside it.
    assert await registered(faults_stack, [good_first, bad, good_payer]) == 0
    assert {e.affiliate: await accounts_of(e) for e in (first, other, payer)} == before
    assert orders_topic(UNKNOWN_BANK) not in await topics_on_broker(faults_stack)

    # The operator removes the line named and imports the file again: the rest goes in.
    file.write_text(json.dumps([lines[0], lines[2]]))
    accepted = import_accounts(faults_stack, file)
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    assert "2 comptes enregistrés, 2 affiliés annoncés" in accepted.stdout
    assert await registered(faults_stack, [good_first, bad, good_payer]) == 2
    assert [a["rib_masked"][-4:] for a in await accounts_of(first)][-1] == good_first[-4:]

    # An ordinary flow on the account just brought: a FULL plan paid from bank 145.
    [brought] = [a for a in await accounts_of(payer) if a["rib_masked"][-4:] == good_payer[-4:]]
    assert brought["bank_code"] == "145" and brought["bank_name"] == "Banque Populaire"
    await payer.eligible()
    created = await payer.call("POST", f"{faults_stack.requests}/v1/requests", {"affiliate": PAYER})
    assert created.status_code == 201, created.text
    request_id = str(created.json()["id"])
    base = f"{faults_stack.requests}/v1/requests/{request_id}"
    chosen = await payer.call("PUT", f"{base}/modality", {"modality": "FULL", "guarantee_obligation_accepted": False})
    assert chosen.status_code == 200, chosen.text

    async def account_chosen() -> bool:
        # requests learns of the new account from debits.accounts.v1
        answer = await payer.call("PUT", f"{base}/bank-account", {"bank_account_id": brought["id"]})
        return answer.status_code == 200

    await eventually(account_chosen, timeout=60, interval=0.5)
    quote = await payer.simulate("FULL")
    assert quote.status_code == 201, quote.text
    validated = await payer.validate(request_id, quote.json()["quote_id"])
    assert validated.status_code == 200, validated.text
    assert validated.json()["state"] == "VALIDATED"

    [debit] = await plan_of(payer, request_id)
    debit_run(faults_stack, date.fromisoformat(debit["collection_date"]))
    [settled] = await answered(payer, request_id)
    assert (settled["state"], settled["attempts"]) == ("SETTLED", 1), settled
    await events_until(faults_stack, PAYER, request_id, "debits.plan_completed")
    await request_reaches(payer, request_id, "COMPLETED")
    orders = await orders_of(faults_stack, request_id)
    assert list(orders) == [orders_topic("145")], orders
