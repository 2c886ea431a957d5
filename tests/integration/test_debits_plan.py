"""debits with its real database and broker: a validated request's plan, the debit run, the banks' results.

requests, auth and the banks are played by messages on their topics, as in production.
"""

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg
import httpx
import pytest
import typer
from aiokafka import ConsumerRecord
from typer.testing import CliRunner

from contracts.auth import AffiliateRegistered
from contracts.banks import orders_topic
from contracts.debits import (
    DebitChanged,
    DebitExecuted,
    DebitOrder,
    DebitRejected,
    PlanCompleted,
    PlanDefaulted,
    PlanScheduled,
)
from contracts.envelope import Envelope
from contracts.requests import RequestStateChanged
from contracts.topics import AUTH_AFFILIATES, BANK_RESULTS, DEBITS_EVENTS, REQUESTS_EVENTS
from services.debits.adapters.plan_repository import PlanRepository
from services.debits.config import DebitsSettings
from services.debits.domain.debits import order_event_id
from services.debits.entrypoints.cli import held_command, release_command, run_command
from services.debits.entrypoints.operations import (
    flagged_orders,
    follow_up,
    held_plans,
    import_bank_accounts,
    release_plans,
    run_debit_run,
)
from services.debits.main import create_app
from services.debits.service import debit_run as debit_run_module
from services.debits.service.debit_history import debits_of_request
from services.debits.service.debit_run import RunSummary, count_due
from services.runtime.clock import FrozenClock
from services.runtime.outbox_log import ReplayPolicy, replay_lost
from services.runtime.tokens import Principal, TokenIssuer
from tests import messages
from tests.conftest import Infra
from tests.support import eventually, header, new_affiliate, publish, read_to_end, read_topic, running

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
V = date(2026, 11, 28)
RIB_ATTIJARI = "007780000123456789123461"  # bank 007
RIB_CIH = "230110000000000000424292"  # bank 230
INSTALLMENTS = [  # as requests sends it: dated from V, collections on business days
    (1, "ADVANCE", "2026-12-10", "2026-12-10", "4150.00"),
    (2, "INSTALLMENT", "2027-01-10", "2027-01-12", "3000.00"),  # a Sunday, then a public holiday
    (3, "INSTALLMENT", "2027-04-10", "2027-04-12", "3000.00"),  # a Saturday
]
FULL = [(1, "FULL", "2026-12-10", "2026-12-10", "10120.00")]
EVENTS = DEBITS_EVENTS.adapter()


@dataclass
class Debits:
    client: httpx.AsyncClient
    issuer: TokenIssuer
    infra: Infra
    database: str

    async def register(self, affiliate: str, rib: str, *, name: str | None = "Atlas Test SARL") -> str:
        account_id = f"compte-{affiliate}"
        await import_bank_accounts(
            self.database,
            [
                {
                    "affiliate": affiliate,
                    "rib": rib,
                    "bank_name": "Banque",
                    "holder": "Titulaire du compte",
                    "id": account_id,
                }
            ],
        )
        if name is not None:
            await publish(self.infra.bootstrap, AUTH_AFFILIATES.name, [(affiliate, profile(affiliate, name))])
        return account_id

    async def validate(self, affiliate: str, account_id: str, schedule: list[tuple[Any, ...]]) -> uuid.UUID:
        request_id = uuid.uuid4()
        await publish(
            self.infra.bootstrap,
            REQUESTS_EVENTS.name,
            [(affiliate, validated(request_id, affiliate, account_id, schedule))],
        )
        return request_id

    async def debits(self, request_id: uuid.UUID, affiliate: str, *held: str) -> httpx.Response:
        principal = Principal(str(uuid.uuid4()), "test", frozenset(held or (affiliate,)))
        token = self.issuer.issue(principal, datetime.now(UTC))[0]
        return await self.client.get(f"/v1/requests/{request_id}/debits", headers={"authorization": f"Bearer {token}"})

    async def states(self, request_id: uuid.UUID, affiliate: str) -> list[tuple[str, int]]:
        response = await self.debits(request_id, affiliate)
        if response.status_code != 200:
            return []
        return [(d["state"], d["attempts"]) for d in response.json()]

    async def until_states(self, request_id: uuid.UUID, affiliate: str, expected: list[tuple[str, int]]) -> None:
        async def reached() -> bool:
            return await self.states(request_id, affiliate) == expected

        await eventually(reached)

    async def run(self, on: date) -> RunSummary:
        return await run_debit_run(self.database, on, clock=FrozenClock(NOW))

    async def events(self, affiliate: str, until: Any) -> list[Any]:
        found = await read_topic(
            self.infra.bootstrap,
            DEBITS_EVENTS.name,
            lambda r: until([EVENTS.validate_json(x.value) for x in r]),
            key=affiliate,
        )
        return [EVENTS.validate_json(r.value) for r in found]

    async def orders(self, bank: str, affiliate: str, count: int) -> list[DebitOrder]:
        found = await read_topic(self.infra.bootstrap, orders_topic(bank), lambda r: len(r) >= count, key=affiliate)
        return [DebitOrder.model_validate_json(r.value) for r in found]

    async def result(self, affiliate: str, message: DebitExecuted | DebitRejected) -> None:
        await publish(self.infra.bootstrap, BANK_RESULTS.name, [(affiliate, message)])


def profile(affiliate: str, name: str) -> AffiliateRegistered:
    return messages.profile(affiliate, name=name, at=NOW)


def validated(
    request_id: uuid.UUID, affiliate: str, account_id: str, schedule: list[tuple[Any, ...]]
) -> RequestStateChanged:
    installments = len(schedule) > 1
    debits = [
        {"sequence": s, "kind": k, "due_date": d, "collection_date": c, "amount": a} for s, k, d, c, a in schedule
    ]
    total = sum(Decimal(a) for *_, a in schedule)
    quote = {
        "quote_id": uuid.uuid4(),
        "affiliate": affiliate,
        "debt_version": 1,
        "issued_at": NOW,
        "expires_at": NOW + timedelta(minutes=30),
        "programme": "DEC-05-2023",
        "modality": "INSTALLMENTS" if installments else "FULL",
        "tier": "INSTALLMENTS_1_24" if installments else "FULL",
        "rates": {"majorations": "0.50", "frais": "0.50", "astreintes": "0.80"},
        "advance": schedule[0][4] if installments else "0.00",
        "installments": len(schedule) - 1 if installments else 0,
        "eligible_periods": ["2023-05"],
        "eligible": {"principal": "10000.00", "majorations": "300.00", "frais": "0.00", "astreintes": "0.00"},
        "remise": {
            "principal": "0.00",
            "majorations": "150.00",
            "frais": "0.00",
            "astreintes": "0.00",
            "total": "150.00",
        },
        "to_pay": f"{total:.2f}",
        "validation_date": V,
        "schedule": debits,
    }
    return RequestStateChanged.build(
        {
            "request_id": request_id,
            "affiliate": affiliate,
            "programme": "DEC-05-2023",
            "state": "VALIDATED",
            "previous_state": "AWAITING_GUARANTEE" if installments else "DRAFT",
            "at": NOW,
            "actor": {"kind": "affiliate", "id": "compte-test"},
            "reason": "validation",
            "modality": "INSTALLMENTS" if installments else "FULL",
            "plan": {
                "quote": quote,
                "bank_account_id": account_id,
                "cg_version": "CG-2023-1",
                "validation_date": V,
                "schedule": debits,
            },
        },
        producer="requests",
        occurred_at=NOW,
    )


def executed(order: DebitOrder, bank: str, on: date | None = None) -> DebitExecuted:
    p = order.payload
    return DebitExecuted.build(
        {
            "end_to_end_id": p.end_to_end_id,
            "bank_code": bank,
            "amount": p.instructed_amount,
            "settled_on": on or p.requested_collection_date,
        },
        producer="bank",
        occurred_at=NOW,
    )


def rejected(end_to_end_id: str, bank: str, code: str, on: date) -> DebitRejected:
    return DebitRejected.build(
        {"end_to_end_id": end_to_end_id, "bank_code": bank, "reason_code": code, "rejected_on": on},
        producer="bank",
        occurred_at=NOW,
    )


@pytest.fixture
def settings(infra: Infra, database: str) -> DebitsSettings:
    return DebitsSettings(
        database_url=database,
        kafka_bootstrap_servers=infra.bootstrap,
        token_public_key_file=infra.public_key,
        debit_run_interval_seconds=0,  # the tests run it for the dates they choose
    )


@pytest.fixture
async def debits(settings: DebitsSettings, infra: Infra, database: str) -> AsyncIterator[Debits]:
    s = DebitsSettings()
    issuer = TokenIssuer(
        infra.private_key.read_bytes(), issuer=s.token_issuer, audience=s.token_audience, ttl=timedelta(minutes=15)
    )
    async with running(create_app(settings, FrozenClock(NOW))) as client:
        yield Debits(client, issuer, infra, database)


async def test_a_validated_request_is_scheduled_ordered_on_its_bank_only_and_completed(debits: Debits) -> None:
    mine, other = new_affiliate(), new_affiliate()
    account = await debits.register(mine, RIB_ATTIJARI)
    other_account = await debits.register(other, RIB_CIH, name=None)  # no profile: the holder's name
    request_id = await debits.validate(mine, account, INSTALLMENTS)
    other_request = await debits.validate(other, other_account, FULL)
    await debits.until_states(request_id, mine, [("SCHEDULED", 0)] * 3)

    body = (await debits.debits(request_id, mine)).json()
    assert [(d["sequence"], d["kind"], d["due_date"], d["collection_date"], d["amount"]) for d in body] == [
        (s, k, d, c, a) for s, k, d, c, a in INSTALLMENTS
    ]
    assert [h["to_state"] for h in body[0]["history"]] == ["SCHEDULED"]
    (scheduled,) = await debits.events(mine, lambda e: len(e) >= 1)
    assert scheduled.type == "debits.plan_scheduled" and scheduled.payload.request_id == request_id
    assert [d.sequence for d in scheduled.payload.debits] == [1, 2, 3]

    # The same validation announced again (a new event id): nothing changes, nothing is announced.
    await publish(
        debits.infra.bootstrap, REQUESTS_EVENTS.name, [(mine, validated(request_id, mine, account, INSTALLMENTS))]
    )

    # Nothing is due before its collection date.
    assert (await debits.run(date(2026, 12, 9))).orders == 0
    summary = await debits.run(date(2026, 12, 10))
    assert {b: (t.orders, t.amount) for b, t in summary.banks.items()} == {
        "007": (1, Decimal("4150.00")),
        "230": (1, Decimal("10120.00")),
    }
    (order,) = await debits.orders("007", mine, 1)
    p = order.payload
    assert (p.request_id, p.affiliate, p.sequence, p.installments_total, p.attempt) == (request_id, mine, 1, 3, 1)
    assert (p.instructed_amount, p.currency, p.requested_collection_date) == (
        Decimal("4150.00"),
        "MAD",
        date(2026, 12, 10),
    )
    assert p.creditor.name == "Caisse Nationale de Sécurité Sociale" and p.creditor.scheme_id and p.creditor.account
    assert (p.debtor_name, p.debtor_account) == ("Atlas Test SARL", RIB_ATTIJARI)
    assert p.mandate_id.startswith("MDT-") and p.mandate_signed_on == V
    assert p.remittance_information == f"Demande {request_id} échéance 1/3"
    assert len(p.end_to_end_id) <= 35
    (other_order,) = await debits.orders("230", other, 1)
    assert other_order.payload.debtor_name == "Titulaire du compte"  # no profile known
    assert other_order.payload.request_id == other_request
    # Each bank reads its own customers' orders only.
    everything_230 = await read_topic(debits.infra.bootstrap, orders_topic("230"), lambda r: len(r) >= 1, key=other)
    assert all(RIB_ATTIJARI.encode() not in r.value for r in everything_230)
    on_007 = await read_topic(debits.infra.bootstrap, orders_topic("007"), lambda r: len(r) >= 1, key=mine)
    assert all(RIB_CIH.encode() not in r.value for r in on_007)

    # The same date again, or the CLI for it: nothing new.
    assert (await debits.run(date(2026, 12, 10))).orders == 0
    await debits.until_states(request_id, mine, [("ORDERED", 1), ("SCHEDULED", 0), ("SCHEDULED", 0)])

    # A late run (January's debit still unsent in April, April's due too): one debit of the plan,
    # the oldest; April's slides to May (one a month, never two in one run).
    result = await asyncio.to_thread(run_cli, debits.database, "2027-04-12")
    assert result.exit_code == 0, result.output
    assert "total" in result.output and "3\u00a0000,00" in result.output
    orders = await debits.orders("007", mine, 2)
    assert [o.payload.sequence for o in orders] == [1, 2]
    assert orders[1].payload.requested_collection_date == date(2027, 4, 12)  # a late run: never in the past
    third = (await debits.debits(request_id, mine)).json()[2]
    assert (third["state"], third["due_date"], third["collection_date"]) == ("SCHEDULED", "2027-05-10", "2027-05-10")
    assert (await debits.run(date(2027, 5, 10))).orders == 1
    orders = await debits.orders("007", mine, 3)
    assert [o.payload.sequence for o in orders] == [1, 2, 3]
    assert len({o.payload.end_to_end_id for o in orders}) == 3

    for o in orders:
        await debits.result(mine, executed(o, "007"))
    await debits.until_states(request_id, mine, [("SETTLED", 1)] * 3)
    events = await debits.events(mine, lambda e: any(x.type == "debits.plan_completed" for x in e))
    completed = next(e for e in events if isinstance(e, PlanCompleted))
    assert completed.payload.total_paid == Decimal("10150.00")
    assert completed.payload.completed_on == date(2027, 5, 10)
    assert sum(e.type == "debits.plan_scheduled" for e in events) == 1  # the replay announced nothing
    changed = [e for e in events if isinstance(e, DebitChanged)]
    assert [(e.payload.debit.sequence, e.payload.debit.state) for e in changed] == [
        (1, "ORDERED"),
        (2, "ORDERED"),
        (3, "SCHEDULED"),  # moved to May
        (3, "ORDERED"),
        (1, "SETTLED"),
        (2, "SETTLED"),
        (3, "SETTLED"),
    ]


def operator(database: str, command: Any, *args: str) -> Any:
    app = typer.Typer()
    app.command()(command)
    return CliRunner().invoke(app, [*args, "--database-url", database])


def run_cli(database: str, on: str) -> Any:
    app = typer.Typer()
    app.command()(run_command)
    return CliRunner().invoke(app, ["--date", on, "--database-url", database])


async def test_am04_once_then_paid_settles_with_two_attempts(debits: Debits) -> None:
    affiliate = new_affiliate()
    request_id = await debits.validate(affiliate, await debits.register(affiliate, RIB_ATTIJARI), FULL)
    await debits.until_states(request_id, affiliate, [("SCHEDULED", 0)])
    await debits.run(date(2026, 12, 10))
    (first,) = await debits.orders("007", affiliate, 1)

    rejection = rejected(first.payload.end_to_end_id, "007", "AM04", date(2026, 12, 11))
    await debits.result(affiliate, rejection)
    await debits.until_states(request_id, affiliate, [("FAILED", 1)])
    (debit,) = (await debits.debits(request_id, affiliate)).json()
    assert debit["next_attempt_on"] == "2026-12-18"  # 5 business days after the rejection
    failed = debit["history"][-1]
    assert (failed["reason_code"], failed["end_to_end_id"], failed["final"]) == (
        "AM04",
        first.payload.end_to_end_id,
        False,
    )
    await debits.result(affiliate, rejection)  # delivered twice: the inbox stops it

    assert (await debits.run(date(2026, 12, 17))).orders == 0
    assert (await debits.run(date(2026, 12, 18))).orders == 1
    _, second = await debits.orders("007", affiliate, 2)
    assert second.payload.attempt == 2 and second.payload.end_to_end_id != first.payload.end_to_end_id
    assert second.payload.requested_collection_date == date(2026, 12, 18)
    await debits.result(affiliate, executed(second, "007"))
    await debits.until_states(request_id, affiliate, [("SETTLED", 2)])
    events = await debits.events(affiliate, lambda e: any(x.type == "debits.plan_completed" for x in e))
    retry = [e for e in events if isinstance(e, DebitChanged) and e.payload.debit.state == "FAILED"]
    assert len(retry) == 1 and retry[0].payload.next_attempt_on == date(2026, 12, 18) and not retry[0].payload.final
    (debit,) = (await debits.debits(request_id, affiliate)).json()
    assert [h["to_state"] for h in debit["history"]] == ["SCHEDULED", "ORDERED", "FAILED", "ORDERED", "SETTLED"]

    # A late second answer for the first order: dead-lettered, nothing changes.
    await debits.result(affiliate, executed(first, "007", date(2026, 12, 20)))
    dead = await read_topic(
        debits.infra.bootstrap,
        BANK_RESULTS.dlq,
        lambda r: any(first.payload.end_to_end_id.encode() in x.value and b"executed" in x.value for x in r),
        key=affiliate,
    )
    assert any("déjà un résultat" in (header(r, "x-dlq-reason") or "") for r in dead)
    assert await debits.states(request_id, affiliate) == [("SETTLED", 2)]


class AnswerBetweenReads:
    """A connection that lets a bank's answer commit after its first many-row read: what a busy day
    does, at random, between two statements of one page."""

    def __init__(self, conn: asyncpg.Connection, answer: Any) -> None:
        self._conn, self._answer, self._answered = conn, answer, False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)

    async def fetch(self, *args: Any) -> list[asyncpg.Record]:
        found: list[asyncpg.Record] = await self._conn.fetch(*args)
        if not self._answered:
            self._answered = True
            await self._answer()
        return found


async def test_a_debit_and_its_history_are_read_as_of_one_instant(debits: Debits) -> None:
    """Seen in CI before the fix: the page read the history, the bank's AM04 committed, then it read
    the debits: a debit FAILED whose history ended at ORDERED, without the rejection's reason."""
    affiliate = new_affiliate()
    request_id = await debits.validate(affiliate, await debits.register(affiliate, RIB_ATTIJARI), FULL)
    await debits.until_states(request_id, affiliate, [("SCHEDULED", 0)])
    await debits.run(date(2026, 12, 10))
    (order,) = await debits.orders("007", affiliate, 1)
    watcher = await asyncpg.connect(debits.database)
    reader = await asyncpg.connect(debits.database)
    try:

        async def rejected_meanwhile() -> None:
            await debits.result(affiliate, rejected(order.payload.end_to_end_id, "007", "AM04", date(2026, 12, 11)))

            async def failed() -> bool:
                state = await watcher.fetchval("SELECT state FROM debit WHERE request_id = $1", request_id)
                return bool(state == "FAILED")

            await eventually(failed)

        found = await debits_of_request(AnswerBetweenReads(reader, rejected_meanwhile), request_id)  # type: ignore[arg-type]
    finally:
        await watcher.close()
        await reader.close()
    assert found is not None
    [debit] = found[1]
    assert [h["to_state"] for h in debit["history"]] == ["SCHEDULED", "ORDERED"]
    assert (debit["state"], debit["attempts"]) == ("ORDERED", 1)  # as of the first read
    await debits.until_states(request_id, affiliate, [("FAILED", 1)])
    (debit,) = (await debits.debits(request_id, affiliate)).json()
    assert (debit["history"][-1]["to_state"], debit["history"][-1]["reason_code"]) == ("FAILED", "AM04")


async def test_ac04_defaults_the_plan_and_cancels_the_pending_debits(debits: Debits) -> None:
    affiliate = new_affiliate()
    request_id = await debits.validate(affiliate, await debits.register(affiliate, RIB_ATTIJARI), INSTALLMENTS)
    await debits.until_states(request_id, affiliate, [("SCHEDULED", 0)] * 3)
    await debits.run(date(2026, 12, 10))
    (order,) = await debits.orders("007", affiliate, 1)
    await debits.result(affiliate, rejected(order.payload.end_to_end_id, "007", "AC04", date(2026, 12, 11)))
    await debits.until_states(request_id, affiliate, [("FAILED", 1), ("CANCELLED", 0), ("CANCELLED", 0)])
    events = await debits.events(affiliate, lambda e: any(x.type == "debits.plan_defaulted" for x in e))
    defaulted = next(e for e in events if isinstance(e, PlanDefaulted))
    assert defaulted.payload.cancelled_sequences == [2, 3]
    assert defaulted.payload.paid_so_far == Decimal("0.00")
    assert defaulted.payload.defaulted_on == date(2026, 12, 11)
    final = next(e for e in events if isinstance(e, DebitChanged) and e.payload.debit.state == "FAILED")
    assert final.payload.final and final.payload.reason_code == "AC04"
    assert (await debits.run(date(2027, 12, 31))).orders == 0  # cancelled debits are never sent


async def test_unknown_or_misdirected_results_are_dead_lettered(debits: Debits) -> None:
    affiliate = new_affiliate()
    request_id = await debits.validate(affiliate, await debits.register(affiliate, RIB_ATTIJARI), FULL)
    await debits.until_states(request_id, affiliate, [("SCHEDULED", 0)])
    await debits.run(date(2026, 12, 10))
    (order,) = await debits.orders("007", affiliate, 1)

    await debits.result(affiliate, rejected("INCONNU-1-1", "007", "AM04", date(2026, 12, 11)))
    await debits.result(affiliate, executed(order, "230"))  # another bank answering for this order

    def both(records: list[ConsumerRecord[Any, Any]]) -> bool:
        reasons = [header(r, "x-dlq-reason") or "" for r in records]
        return any("INCONNU-1-1 inconnu" in x for x in reasons) and any("banque 007" in x for x in reasons)

    await read_topic(debits.infra.bootstrap, BANK_RESULTS.dlq, both, key=affiliate)
    assert await debits.states(request_id, affiliate) == [("ORDERED", 1)]


async def dead_letters_of(debits: Debits, affiliate: str) -> list[str]:
    """The reasons of the results dead-lettered for ``affiliate`` so far (read until idle)."""
    records = await read_to_end(debits.infra.bootstrap, BANK_RESULTS.dlq, key=affiliate)
    return [header(r, "x-dlq-reason") or "" for r in records]


async def test_a_duplicate_answer_changes_nothing_and_is_no_failure(debits: Debits) -> None:
    """A bank that deduplicates by end-to-end id answers AM05 to an order presented twice; a careless
    one repeats its answer under another event id. Neither fails nor re-presents the debit."""
    affiliate = new_affiliate()
    request_id = await debits.validate(affiliate, await debits.register(affiliate, RIB_ATTIJARI), INSTALLMENTS)
    await debits.until_states(request_id, affiliate, [("SCHEDULED", 0)] * 3)
    await debits.run(date(2026, 12, 10))
    (order,) = await debits.orders("007", affiliate, 1)
    e2e = order.payload.end_to_end_id

    # AM05 before any result: the bank booked this id already; its first answer is on its way.
    await debits.result(affiliate, rejected(e2e, "007", "AM05", date(2026, 12, 10)))
    await debits.result(affiliate, executed(order, "007"))
    await debits.until_states(request_id, affiliate, [("SETTLED", 1), ("SCHEDULED", 0), ("SCHEDULED", 0)])
    # AM05 again, and the execution repeated under a new event id, once the order has its result.
    await debits.result(affiliate, rejected(e2e, "007", "AM05", date(2026, 12, 10)))
    await debits.result(affiliate, executed(order, "007"))
    # A third order of business proves the consumer read past them: the next debit's run and answer.
    await debits.run(date(2027, 1, 12))
    (_, second) = await debits.orders("007", affiliate, 2)
    await debits.result(affiliate, executed(second, "007"))
    await debits.until_states(request_id, affiliate, [("SETTLED", 1), ("SETTLED", 1), ("SCHEDULED", 0)])

    assert await dead_letters_of(debits, affiliate) == []
    (first, *_) = (await debits.debits(request_id, affiliate)).json()
    assert [h["to_state"] for h in first["history"]] == ["SCHEDULED", "ORDERED", "SETTLED"]
    conn = await asyncpg.connect(debits.database)
    try:
        row = await conn.fetchrow("SELECT outcome, reason_code FROM debit_order WHERE end_to_end_id = $1", e2e)
    finally:
        await conn.close()
    assert (row["outcome"], row["reason_code"]) == ("EXECUTED", None)


async def test_a_result_dated_where_no_bank_could_date_it_moves_nothing(debits: Debits) -> None:
    affiliate = new_affiliate()
    request_id = await debits.validate(affiliate, await debits.register(affiliate, RIB_ATTIJARI), FULL)
    await debits.until_states(request_id, affiliate, [("SCHEDULED", 0)])
    await debits.run(date(2026, 12, 10))
    (order,) = await debits.orders("007", affiliate, 1)
    e2e = order.payload.end_to_end_id

    await debits.result(affiliate, rejected(e2e, "007", "AM04", date(9999, 12, 31)))  # a typo
    await debits.result(affiliate, executed(order, "007", date(2026, 12, 9)))  # before the collection date

    def both(records: list[ConsumerRecord[Any, Any]]) -> bool:
        reasons = [header(r, "x-dlq-reason") or "" for r in records]
        return any("9999-12-31, dans le futur" in x for x in reasons) and any("avant l'échéance" in x for x in reasons)

    await read_topic(debits.infra.bootstrap, BANK_RESULTS.dlq, both, key=affiliate)
    assert await debits.states(request_id, affiliate) == [("ORDERED", 1)]
    await debits.result(affiliate, executed(order, "007"))  # the true answer still applies
    await debits.until_states(request_id, affiliate, [("SETTLED", 1)])


async def test_debits_of_someone_elses_request_are_not_found(debits: Debits) -> None:
    affiliate, stranger = new_affiliate(), new_affiliate()
    request_id = await debits.validate(affiliate, await debits.register(affiliate, RIB_ATTIJARI), FULL)
    await debits.until_states(request_id, affiliate, [("SCHEDULED", 0)])
    response = await debits.debits(request_id, affiliate, stranger)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "demande-introuvable"
    assert (await debits.debits(uuid.uuid4(), affiliate)).status_code == 404
    assert (await debits.client.get(f"/v1/requests/{request_id}/debits")).status_code == 401


async def test_a_validation_naming_an_unknown_account_is_dead_lettered(debits: Debits) -> None:
    affiliate = new_affiliate()
    request_id = await debits.validate(affiliate, "compte-inconnu", FULL)
    dead = await read_topic(debits.infra.bootstrap, REQUESTS_EVENTS.dlq, lambda r: len(r) >= 1, key=affiliate)
    assert "compte bancaire compte-inconnu inconnu" in (header(dead[0], "x-dlq-reason") or "")
    assert (await debits.debits(request_id, affiliate)).status_code == 404


async def test_concurrent_runs_order_each_due_debit_exactly_once(debits: Debits) -> None:
    affiliates = [new_affiliate() for _ in range(30)]
    await import_bank_accounts(
        debits.database,
        [
            {"affiliate": a, "rib": RIB_ATTIJARI, "bank_name": "B", "holder": "T", "id": f"compte-{a}"}
            for a in affiliates
        ],
    )
    await publish(
        debits.infra.bootstrap,
        REQUESTS_EVENTS.name,
        [(a, validated(uuid.uuid4(), a, f"compte-{a}", FULL)) for a in affiliates],
    )
    conn = await asyncpg.connect(debits.database)
    try:

        async def all_scheduled() -> bool:
            return bool(await conn.fetchval("SELECT count(*) = 30 FROM debit WHERE state = 'SCHEDULED'"))

        await eventually(all_scheduled)
        # Three runs at once in small pages (three replicas, or the job and an operator's CLI).
        summaries = await asyncio.gather(
            *(run_debit_run(debits.database, date(2026, 12, 10), clock=FrozenClock(NOW), page_size=4) for _ in range(3))
        )
        assert sum(s.orders for s in summaries) == 30
        assert await conn.fetchval("SELECT count(*) FROM debit_order") == 30
        assert await conn.fetchval("SELECT count(*) FROM debit WHERE state = 'ORDERED' AND attempts = 1") == 30
        assert (await debits.run(date(2026, 12, 10))).orders == 0
    finally:
        await conn.close()


async def test_a_plan_a_bank_answer_holds_during_the_run_is_ordered_by_that_run(debits: Debits) -> None:
    """Seen flaky before the fix: a repeated bank answer locked the plan at the instant the run
    claimed it; SKIP LOCKED passed it over and its debit waited for the next day's run."""
    affiliate = new_affiliate()
    request_id = await debits.validate(affiliate, await debits.register(affiliate, RIB_ATTIJARI), FULL)
    await debits.until_states(request_id, affiliate, [("SCHEDULED", 0)])
    holder = await asyncpg.connect(debits.database)
    try:
        answer = holder.transaction()
        await answer.start()
        await holder.execute("SELECT 1 FROM plan WHERE request_id = $1 FOR UPDATE", request_id)
        run = asyncio.create_task(debits.run(date(2026, 12, 10)))
        await asyncio.sleep(0.3)  # the run's first pass skips the plan
        await answer.commit()
        assert (await run).orders == 1
    finally:
        await holder.close()
    (order,) = await debits.orders("007", affiliate, 1)
    assert order.payload.request_id == request_id


# V on 2026-11-28, six debits from 10 December; the service does not run until 15 March: four due.
LATE = [
    (1, "ADVANCE", "2026-12-10", "2026-12-10", "4150.00"),
    (2, "INSTALLMENT", "2027-01-10", "2027-01-12", "3000.00"),
    (3, "INSTALLMENT", "2027-02-10", "2027-02-10", "3000.00"),
    (4, "INSTALLMENT", "2027-03-10", "2027-03-11", "3000.00"),
    (5, "INSTALLMENT", "2027-04-10", "2027-04-12", "3000.00"),
    (6, "INSTALLMENT", "2027-05-10", "2027-05-10", "3000.01"),
]


async def test_a_plan_three_months_late_orders_one_installment_and_the_others_are_redated(debits: Debits) -> None:
    """Issue 13: never bunch overdue installments. Three plans three months late, three runs at once
    in pages of one debit (three replicas): one order per plan, the rest of each plan one a month
    from the month after, announced; nothing lost, the amounts unchanged to the centime."""
    affiliates = [new_affiliate() for _ in range(3)]
    requests = {}
    for affiliate in affiliates:
        requests[affiliate] = await debits.validate(affiliate, await debits.register(affiliate, RIB_ATTIJARI), LATE)
    for affiliate, request_id in requests.items():
        await debits.until_states(request_id, affiliate, [("SCHEDULED", 0)] * 6)
    conn = await asyncpg.connect(debits.database)
    try:
        assert await count_due(conn, date(2027, 3, 15)) == 3  # the orders the run will make: one a plan
    finally:
        await conn.close()

    summaries = await asyncio.gather(
        *(run_debit_run(debits.database, date(2027, 3, 15), clock=FrozenClock(NOW), page_size=1) for _ in range(3))
    )
    assert sum(s.orders for s in summaries) == 3
    assert sum(s.amount for s in summaries) == Decimal("12450.00")  # three advances
    assert (await debits.run(date(2027, 3, 15))).orders == 0  # nothing of these plans is due any more

    for affiliate, request_id in requests.items():
        (order,) = await debits.orders("007", affiliate, 1)
        assert (order.payload.sequence, order.payload.requested_collection_date) == (1, date(2027, 3, 15))
        body = (await debits.debits(request_id, affiliate)).json()
        # January to May slide three months: April (the 10th a Saturday) to August, one a month
        assert [(d["sequence"], d["state"], d["due_date"], d["collection_date"], d["amount"]) for d in body] == [
            (1, "ORDERED", "2026-12-10", "2026-12-10", "4150.00"),
            (2, "SCHEDULED", "2027-04-10", "2027-04-12", "3000.00"),
            (3, "SCHEDULED", "2027-05-10", "2027-05-10", "3000.00"),
            (4, "SCHEDULED", "2027-06-10", "2027-06-10", "3000.00"),
            (5, "SCHEDULED", "2027-07-10", "2027-07-12", "3000.00"),
            (6, "SCHEDULED", "2027-08-10", "2027-08-10", "3000.01"),
        ]
        assert sum(Decimal(d["amount"]) for d in body) == sum(Decimal(a) for *_, a in LATE) == Decimal("19150.01")
        moved = body[1]["history"][-1]
        assert (moved["from_state"], moved["to_state"], moved["next_attempt_on"]) == (
            "SCHEDULED",
            "SCHEDULED",
            "2027-04-12",
        )
        assert moved["reason"].startswith("échéance reportée du 2027-01-10 au 2027-04-10")
        # debits.events.v1 tells requests and debt: each moved debit, its new dates, state unchanged
        events = await debits.events(affiliate, lambda e: sum(isinstance(x, DebitChanged) for x in e) >= 6)
        changed = [e.payload for e in events if isinstance(e, DebitChanged)]
        assert [(c.debit.sequence, c.debit.state, c.next_attempt_on) for c in changed] == [
            (1, "ORDERED", None),
            (2, "SCHEDULED", date(2027, 4, 12)),
            (3, "SCHEDULED", date(2027, 5, 10)),
            (4, "SCHEDULED", date(2027, 6, 10)),
            (5, "SCHEDULED", date(2027, 7, 12)),
            (6, "SCHEDULED", date(2027, 8, 10)),
        ]

    # The plan goes on at its new rhythm: the run of the new date orders the next one only.
    assert (await debits.run(date(2027, 4, 11))).orders == 0
    summary = await debits.run(date(2027, 4, 12))
    assert (summary.orders, summary.amount) == (3, Decimal("9000.00"))


async def test_metrics_count_debits_per_state(debits: Debits) -> None:
    def scheduled(text: str) -> float:
        wanted = 'recouvrement_debits{service="debits",state="SCHEDULED"} '
        return float(next(line for line in text.splitlines() if line.startswith(wanted)).split()[-1])

    before = scheduled((await debits.client.get("/metrics")).text)
    affiliate = new_affiliate()
    request_id = await debits.validate(affiliate, await debits.register(affiliate, RIB_ATTIJARI), INSTALLMENTS)
    await debits.until_states(request_id, affiliate, [("SCHEDULED", 0)] * 3)
    after = (await debits.client.get("/metrics")).text
    assert scheduled(after) == before + 3  # read from debits' database at the scrape
    assert 'recouvrement_debits{service="debits",state="ORDERED"}' in after  # every state, 0 included


async def test_after_a_broker_loss_only_the_orders_still_awaiting_their_answer_are_presented_again(
    debits: Debits,
) -> None:
    """The outbox's log is replayed to a broker that lost it; debits drops from that replay every
    order its bank answered (a bank that lost its own record would collect it twice)."""
    answered, waiting = new_affiliate(), new_affiliate()
    paid = await debits.validate(answered, await debits.register(answered, RIB_ATTIJARI), FULL)
    pending = await debits.validate(waiting, await debits.register(waiting, RIB_ATTIJARI), FULL)
    await debits.until_states(paid, answered, [("SCHEDULED", 0)])
    await debits.until_states(pending, waiting, [("SCHEDULED", 0)])
    assert (await debits.run(date(2026, 12, 10))).orders == 2
    (settled,) = await debits.orders("007", answered, 1)
    (awaited,) = await debits.orders("007", waiting, 1)
    await debits.result(answered, executed(settled, "007"))
    await debits.until_states(paid, answered, [("SETTLED", 1)])

    async def logged() -> bool:
        conn = await asyncpg.connect(debits.database)
        try:
            return bool(await conn.fetchval("SELECT count(*) = 0 FROM outbox"))
        finally:
            await conn.close()

    await eventually(logged)
    conn = await asyncpg.connect(debits.database)
    try:
        async with conn.transaction():
            policy = ReplayPolicy(prune=lambda c: PlanRepository(c).drop_replayed_orders_moved_on())
            left = await replay_lost(conn, {orders_topic("007")}, policy)
    finally:
        await conn.close()

    assert left == 1
    again = await read_topic(debits.infra.bootstrap, orders_topic("007"), lambda r: len(r) >= 2, key=waiting)
    assert [DebitOrder.model_validate_json(r.value).event_id for r in again] == [awaited.event_id] * 2
    assert len(await read_to_end(debits.infra.bootstrap, orders_topic("007"), key=answered)) == 1
    assert await debits.states(paid, answered) == [("SETTLED", 1)]
    assert await debits.states(pending, waiting) == [("ORDERED", 1)]


def gauge(text: str, name: str, state: str) -> float:
    wanted = f'recouvrement_{name}{{service="debits",state="{state}"}} '
    return float(next(line for line in text.splitlines() if line.startswith(wanted)).split()[-1])


INVALID_KEY_RIB = RIB_ATTIJARI[:-2] + f"{(int(RIB_ATTIJARI[-2:]) + 1) % 100:02d}"  # the same bank, a wrong key


async def test_a_plan_no_order_can_be_made_of_is_held_and_the_run_orders_every_other(debits: Debits) -> None:
    """Security review 2026-12-04 §F: a page was one transaction; one plan that raised rolled back
    its page on every pass, and as the oldest due it was in every run's first page: nothing went
    out for anyone. Here a plan whose RIB was corrupted after its validation (a restored row, a
    migration): its order cannot be built (DebitOrder refuses the key)."""
    healthy, broken = new_affiliate(), new_affiliate()
    ids = {}
    for affiliate in (healthy, broken):
        ids[affiliate] = await debits.validate(affiliate, await debits.register(affiliate, RIB_ATTIJARI), FULL)
    for affiliate, request_id in ids.items():
        await debits.until_states(request_id, affiliate, [("SCHEDULED", 0)])
    conn = await asyncpg.connect(debits.database)
    try:
        await conn.execute("UPDATE plan SET rib = $1 WHERE request_id = $2", INVALID_KEY_RIB, ids[broken])
    finally:
        await conn.close()

    summary = await debits.run(date(2026, 12, 10))
    assert (summary.orders, summary.held) == (1, [ids[broken]])
    (order,) = await debits.orders("007", healthy, 1)
    assert order.payload.request_id == ids[healthy]
    assert await debits.states(ids[broken], broken) == [("SCHEDULED", 0)]
    [held] = await held_plans(debits.database)
    assert (held["request_id"], held["affiliate"], held["due_since"]) == (ids[broken], broken, date(2026, 12, 10))
    assert "RIB invalide" in held["held_reason"] and INVALID_KEY_RIB not in held["held_reason"]
    assert gauge((await debits.client.get("/metrics")).text, "debit_plans_held", "held") == 1

    again = await debits.run(date(2026, 12, 11))  # held: no run takes it, and nothing fails
    assert (again.orders, again.held) == (0, [])

    conn = await asyncpg.connect(debits.database)
    try:
        await conn.execute("UPDATE plan SET rib = $1 WHERE request_id = $2", RIB_ATTIJARI, ids[broken])
    finally:
        await conn.close()
    # the operator's commands
    listed = await asyncio.to_thread(operator, debits.database, held_command)
    assert listed.exit_code == 0 and broken in listed.output and "1 plans mis de côté" in listed.output, listed.output
    refused = await asyncio.to_thread(operator, debits.database, release_command, "--all")
    assert refused.exit_code == 2  # no reason given
    released = await asyncio.to_thread(operator, debits.database, release_command, "--all", "--why", "RIB restored")
    assert (released.exit_code, released.output.strip()) == (0, "1 plans rendus à la tournée"), released.output
    assert await held_plans(debits.database) == []
    assert await release_plans(debits.database, [ids[broken]], "twice") == []  # nothing held any more
    assert (await debits.run(date(2026, 12, 11))).orders == 1
    (late,) = await debits.orders("007", broken, 1)
    assert (late.payload.request_id, late.payload.requested_collection_date) == (ids[broken], date(2026, 12, 11))


async def test_a_fault_every_plan_meets_holds_none(debits: Debits, monkeypatch: pytest.MonkeyPatch) -> None:
    """Not one plan's data (a bug in the run, an error not known as an outage): the run fails as it
    did, and no plan is set aside (an operator would have to release them all)."""
    affiliates = [new_affiliate(), new_affiliate()]
    for affiliate in affiliates:
        request_id = await debits.validate(affiliate, await debits.register(affiliate, RIB_ATTIJARI), FULL)
        await debits.until_states(request_id, affiliate, [("SCHEDULED", 0)])

    def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError("a bug every plan meets")

    monkeypatch.setattr(debit_run_module, "order_message", broken)
    with pytest.raises(RuntimeError, match="a bug every plan meets"):
        await debits.run(date(2026, 12, 10))
    assert await held_plans(debits.database) == []
    monkeypatch.undo()
    assert (await debits.run(date(2026, 12, 10))).orders == 2


async def test_an_order_its_bank_never_answers_is_sent_again_as_the_same_message_then_flagged(debits: Debits) -> None:
    """Three business days after the collection date without an answer, the same order (same event id,
    same end-to-end id) goes to the bank again, twice at most; then it is flagged to operators. A late
    answer still applies, once."""
    affiliate, answered = new_affiliate(), new_affiliate()
    request_id = await debits.validate(affiliate, await debits.register(affiliate, RIB_ATTIJARI), FULL)
    paid = await debits.validate(answered, await debits.register(answered, RIB_ATTIJARI), FULL)
    await debits.until_states(request_id, affiliate, [("SCHEDULED", 0)])
    await debits.until_states(paid, answered, [("SCHEDULED", 0)])
    await debits.run(date(2026, 12, 10))
    (first,) = await debits.orders("007", affiliate, 1)
    (settled,) = await debits.orders("007", answered, 1)
    assert first.event_id == order_event_id(first.payload.end_to_end_id)
    await debits.result(answered, executed(settled, "007"))
    await debits.until_states(paid, answered, [("SETTLED", 1)])
    flagged_before = gauge((await debits.client.get("/metrics")).text, "debit_orders_unanswered", "flagged")

    async def follow(on: date) -> tuple[int, int]:
        summary = await follow_up(debits.database, on, FrozenClock(NOW))
        return summary.resent, summary.flagged

    assert await follow(date(2026, 12, 15)) == (0, 0)  # within the wait: Fri 11, Mon 14, Tue 15
    assert await follow(date(2026, 12, 16)) == (1, 0)
    assert await follow(date(2026, 12, 16)) == (0, 0)  # the same day again: nothing more
    orders = await debits.orders("007", affiliate, 2)
    assert [o.event_id for o in orders] == [first.event_id] * 2
    assert orders[1].payload == first.payload  # the very same order: same id, amount, date, account
    assert await follow(date(2026, 12, 21)) == (0, 0)
    assert await follow(date(2026, 12, 22)) == (1, 0)
    assert await follow(date(2026, 12, 25)) == (0, 0)
    assert await follow(date(2026, 12, 28)) == (0, 1)  # after two sendings: flagged
    assert await follow(date(2027, 1, 30)) == (0, 0)  # flagged once: an operator has it
    assert len(await debits.orders("007", affiliate, 3)) == 3
    assert len(await read_to_end(debits.infra.bootstrap, orders_topic("007"), key=answered)) == 1  # answered: never

    (debit,) = (await debits.debits(request_id, affiliate)).json()
    lines = debit["history"][2:]
    assert [(h["from_state"], h["to_state"], h["attempt"], h["end_to_end_id"]) for h in lines] == [
        ("ORDERED", "ORDERED", 1, first.payload.end_to_end_id)
    ] * 3
    assert "(1/2)" in lines[0]["reason"] and "(2/2)" in lines[1]["reason"]
    assert "signalé aux opérateurs" in lines[2]["reason"]
    (listed,) = [o for o in await flagged_orders(debits.database) if o["request_id"] == request_id]
    assert (listed["end_to_end_id"], listed["resends"], listed["flagged_on"]) == (
        first.payload.end_to_end_id,
        2,
        date(2026, 12, 28),
    )
    text = (await debits.client.get("/metrics")).text
    assert gauge(text, "debit_orders_unanswered", "flagged") == flagged_before + 1

    # The bank's answer comes at last (it had collected on the 10th): applied once, the flag lifts.
    await debits.result(affiliate, executed(first, "007"))
    await debits.until_states(request_id, affiliate, [("SETTLED", 1)])
    assert not [o for o in await flagged_orders(debits.database) if o["request_id"] == request_id]
    text = (await debits.client.get("/metrics")).text
    assert gauge(text, "debit_orders_unanswered", "flagged") == flagged_before
    events = await debits.events(affiliate, lambda e: any(x.type == "debits.plan_completed" for x in e))
    changed = [(e.payload.debit.state, e.payload.end_to_end_id) for e in events if isinstance(e, DebitChanged)]
    assert changed == [("ORDERED", first.payload.end_to_end_id)] * 4 + [("SETTLED", first.payload.end_to_end_id)]


def defaulted(request_id: uuid.UUID, affiliate: str) -> RequestStateChanged:
    """requests' article-2 default of a running plan."""
    return RequestStateChanged.build(
        {  # type: ignore[arg-type]
            "request_id": request_id,
            "affiliate": affiliate,
            "programme": "DEC-05-2023",
            "state": "DEFAULTED",
            "previous_state": "VALIDATED",
            "at": NOW + timedelta(hours=1),
            "actor": {"kind": "system", "id": "sweep"},
            "reason": "déchéance : cotisations courantes impayées (période 2026-12)",
            "modality": "INSTALLMENTS",
        },
        producer="requests",
        occurred_at=NOW,
    )


async def test_validations_published_together_are_scheduled_together_and_one_refused_alone(debits: Debits) -> None:
    """The intake applies a batch's validations at once (plan_intake): a bad one among them (an account
    that is not the affiliate's) is dead-lettered alone, a validation announced twice schedules one
    plan, and a default after its validation in the same batch forfeits the plan just created."""
    good = [new_affiliate() for _ in range(20)]
    twice, bad, forfeited = new_affiliate(), new_affiliate(), new_affiliate()
    await import_bank_accounts(
        debits.database,
        [
            {"affiliate": a, "rib": RIB_ATTIJARI, "bank_name": "B", "holder": "T", "id": f"compte-{a}"}
            for a in (*good, twice, bad, forfeited)
        ],
    )
    ids = {a: uuid.uuid4() for a in (*good, twice, bad, forfeited)}
    batch: list[tuple[str, Envelope | bytes]] = [
        (a, validated(ids[a], a, f"compte-{a}", INSTALLMENTS)) for a in good[:10]
    ]
    batch += [(bad, validated(ids[bad], bad, f"compte-{good[0]}", INSTALLMENTS))]  # someone else's account
    batch += [(twice, validated(ids[twice], twice, f"compte-{twice}", INSTALLMENTS))] * 2  # two event ids
    batch += [(twice, validated(ids[twice], twice, f"compte-{twice}", INSTALLMENTS))]
    batch += [(forfeited, validated(ids[forfeited], forfeited, f"compte-{forfeited}", INSTALLMENTS))]
    batch += [(forfeited, defaulted(ids[forfeited], forfeited))]
    batch += [(a, validated(ids[a], a, f"compte-{a}", INSTALLMENTS)) for a in good[10:]]
    await publish(debits.infra.bootstrap, REQUESTS_EVENTS.name, batch)

    dead = await read_topic(debits.infra.bootstrap, REQUESTS_EVENTS.dlq, lambda r: len(r) >= 1, key=bad)
    assert f"compte bancaire compte-{good[0]} inconnu pour l'affilié {bad}" in (header(dead[0], "x-dlq-reason") or "")
    for a in (*good, twice):
        await debits.until_states(ids[a], a, [("SCHEDULED", 0)] * 3)
    await debits.until_states(ids[forfeited], forfeited, [("CANCELLED", 0)] * 3)
    assert (await debits.debits(ids[bad], bad)).status_code == 404
    conn = await asyncpg.connect(debits.database)
    try:
        plans = dict(
            await conn.fetch(
                "SELECT affiliate, state FROM plan WHERE affiliate = ANY($1::text[])", [*good, twice, bad, forfeited]
            )
        )
        assert plans == {a: "ACTIVE" for a in (*good, twice)} | {forfeited: "DEFAULTED"}
        amounts = await conn.fetch(
            "SELECT sequence, amount FROM debit WHERE request_id = $1 ORDER BY sequence", ids[good[-1]]
        )
        assert [(r["sequence"], r["amount"]) for r in amounts] == [
            (1, Decimal("4150.00")),
            (2, Decimal("3000.00")),
            (3, Decimal("3000.00")),
        ]
        history = await conn.fetchval("SELECT count(*) FROM debit_history WHERE request_id = $1", ids[twice])
        assert history == 3  # one "scheduled" line per debit, not two
    finally:
        await conn.close()
    scheduled = await debits.events(twice, lambda found: any(isinstance(e, PlanScheduled) for e in found))
    assert sum(isinstance(e, PlanScheduled) for e in scheduled) == 1
    told = await debits.events(forfeited, lambda found: any(isinstance(e, PlanDefaulted) for e in found))
    assert [type(e).__name__ for e in told if isinstance(e, PlanScheduled | PlanDefaulted)] == [
        "PlanScheduled",
        "PlanDefaulted",
    ]
