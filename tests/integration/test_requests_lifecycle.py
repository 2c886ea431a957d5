"""requests over HTTP and Kafka, with its real database and broker: the lifecycle of domain.md.

The other services are played by messages on their topics (positions, profiles, bank accounts,
quotes, perception answers), exactly as they would arrive in production.
"""

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from contracts.auth import AffiliateRegistered
from contracts.debits import (
    BankAccountsChanged,
    DebitChanged,
    PlanCompleted,
    PlanDefaulted,
    PlanScheduled,
    PlanScheduledPayload,
)
from contracts.debt import PositionChanged
from contracts.envelope import Envelope
from contracts.perception import GuaranteeDeposited, GuaranteeRefused, GuaranteeRequestReceived
from contracts.programme import shipped_programme
from contracts.refusals import Refusal
from contracts.simulation import QuoteIssued
from contracts.topics import (
    AUTH_AFFILIATES,
    DEBITS_ACCOUNTS,
    DEBITS_EVENTS,
    DEBT_POSITIONS,
    PERCEPTION_GUARANTEES,
    REQUESTS_EVENTS,
    SIMULATION_QUOTES,
    guarantee_requests,
)
from services.requests.adapters.repository import ProjectionRepository, RequestRepository
from services.requests.config import RequestsSettings
from services.requests.main import create_app
from services.requests.service.context import RequestsContext
from services.requests.service.lifecycle import reopen, sweep
from services.runtime.clock import FrozenClock
from services.runtime.tokens import Principal, TokenIssuer
from tests import messages
from tests.conftest import Infra
from tests.support import eventually, header, new_affiliate, publish, read_topic, running

pytestmark = pytest.mark.integration

PROGRAMME = shipped_programme("DEC-05-2023")
OFFICE_TOPIC = guarantee_requests("CAS-01")
"""Where the guarantees of the affiliates of ``profile`` (office CAS-01) go: that office's topic."""
CG = PROGRAMME.conditions.version
ACCOUNT_ID = "0b5d7c1e-7f3a-4c55-9d7e-2a41f1c0a001"
LINE = {"due": "0.00", "paid": "0.00", "outstanding": "0.00"}


def line(amount: str) -> dict[str, str]:
    return {"due": amount, "paid": "0.00", "outstanding": amount}


def position(
    affiliate: str, version: int, *, majorations: str = "300.00", arrangement: bool = False
) -> PositionChanged:
    return PositionChanged.build(
        {
            "affiliate": affiliate,
            "version": version,
            "periods": [
                {
                    "period": "2023-05",
                    "principal": line("10000.00"),
                    "majorations": line(majorations) if majorations != "0.00" else LINE,
                    "astreintes": LINE,
                    "frais": LINE,
                }
            ],
            "arrangement": (
                {
                    "arrangement_id": "ARR-1",
                    "perception": {"code": "RAB-02", "name": "Perception Rabat Agdal"},
                    "opened_on": "2025-03-01",
                }
                if arrangement
                else None
            ),
        },
        producer="debt",
        occurred_at=datetime.now(UTC),
    )


def quote(affiliate: str, *, version: int = 1, modality: str = "FULL", issued: datetime | None = None) -> QuoteIssued:
    issued = issued or datetime.now(UTC)
    installments = modality == "INSTALLMENTS"
    schedule = (
        [
            {
                "sequence": 1,
                "kind": "ADVANCE",
                "due_date": "2026-12-10",
                "collection_date": "2026-12-10",
                "amount": "4150.00",
            },
            {
                "sequence": 2,
                "kind": "INSTALLMENT",
                "due_date": "2027-01-10",
                "collection_date": "2027-01-12",
                "amount": "3000.00",
            },
            {
                "sequence": 3,
                "kind": "INSTALLMENT",
                "due_date": "2027-02-10",
                "collection_date": "2027-02-10",
                "amount": "3000.00",
            },
        ]
        if installments
        else [
            {
                "sequence": 1,
                "kind": "FULL",
                "due_date": "2026-12-10",
                "collection_date": "2026-12-10",
                "amount": "10120.00",
            }
        ]
    )
    return QuoteIssued.build(
        {
            "quote_id": uuid.uuid4(),
            "affiliate": affiliate,
            "debt_version": version,
            "issued_at": issued,
            "expires_at": issued + timedelta(minutes=30),
            "programme": PROGRAMME.code,
            "modality": modality,
            "tier": "INSTALLMENTS_1_24" if installments else "FULL",
            "rates": {"majorations": "0.50", "frais": "0.50", "astreintes": "0.80"}
            if installments
            else {"majorations": "0.60", "frais": "0.60", "astreintes": "0.90"},
            "advance": "4150.00" if installments else "0.00",
            "installments": 2 if installments else 0,
            "eligible_periods": ["2023-05"],
            "eligible": {"principal": "10000.00", "majorations": "300.00", "frais": "0.00", "astreintes": "0.00"},
            "remise": {
                "principal": "0.00",
                "majorations": "150.00" if installments else "180.00",
                "frais": "0.00",
                "astreintes": "0.00",
                "total": "150.00" if installments else "180.00",
            },
            "to_pay": "10150.00" if installments else "10120.00",
            "validation_date": "2026-11-28",
            "schedule": schedule,
        },
        producer="simulation",
        occurred_at=issued,
    )


def profile(affiliate: str) -> AffiliateRegistered:
    return messages.profile(affiliate, at=datetime.now(UTC))


def accounts(affiliate: str) -> BankAccountsChanged:
    return BankAccountsChanged.build(
        {
            "affiliate": affiliate,
            "version": 1,
            "accounts": [
                {
                    "id": ACCOUNT_ID,
                    "bank_code": "007",
                    "bank_name": "Attijariwafa bank",
                    "rib_masked": "********************1234",
                    "holder": "Atlas Test SARL",
                }
            ],
        },
        producer="debits",
        occurred_at=datetime.now(UTC),
    )


@dataclass
class Requests:
    client: httpx.AsyncClient
    issuer: TokenIssuer
    infra: Infra
    database: str
    clock: FrozenClock
    ctx: RequestsContext
    quote_wait: float

    def headers(self, *affiliates: str) -> dict[str, str]:
        token = self.issuer.issue(Principal(str(uuid.uuid4()), "test", frozenset(affiliates)), datetime.now(UTC))[0]
        return {"authorization": f"Bearer {token}"}

    async def send(self, topic: str, affiliate: str, *messages: Envelope) -> None:
        await publish(self.infra.bootstrap, topic, [(affiliate, m) for m in messages])

    async def known(self, affiliate: str, *, accounts_too: bool = True, version: int = 1) -> None:
        """Publish what the other services would have said about this affiliate, and wait for it."""
        await self.send(DEBT_POSITIONS.name, affiliate, position(affiliate, version))
        await self.send(AUTH_AFFILIATES.name, affiliate, profile(affiliate))
        if accounts_too:
            await self.send(DEBITS_ACCOUNTS.name, affiliate, accounts(affiliate))

        async def arrived() -> bool:
            conn = await asyncpg.connect(self.database)
            try:
                found = await conn.fetchval(
                    "SELECT (SELECT count(*) FROM debt_position WHERE affiliate = $1)"
                    " + (SELECT count(*) FROM affiliate_profile WHERE affiliate = $1)"
                    " + (SELECT count(*) FROM bank_accounts WHERE affiliate = $1)",
                    affiliate,
                )
            finally:
                await conn.close()
            return found == (3 if accounts_too else 2)

        await eventually(arrived)

    async def create(self, affiliate: str) -> httpx.Response:
        return await self.client.post("/v1/requests", json={"affiliate": affiliate}, headers=self.headers(affiliate))

    async def act(self, affiliate: str, method: str, path: str, body: Any = None) -> httpx.Response:
        return await self.client.request(method, path, json=body, headers=self.headers(affiliate))

    async def draft_ready(self, affiliate: str, modality: str = "FULL") -> str:
        await self.known(affiliate)
        created = await self.create(affiliate)
        assert created.status_code == 201, created.text
        request_id = created.json()["id"]
        chosen = await self.act(
            affiliate,
            "PUT",
            f"/v1/requests/{request_id}/modality",
            {"modality": modality, "guarantee_obligation_accepted": modality == "INSTALLMENTS"},
        )
        assert chosen.status_code == 200, chosen.text
        account = await self.act(
            affiliate, "PUT", f"/v1/requests/{request_id}/bank-account", {"bank_account_id": ACCOUNT_ID}
        )
        assert account.status_code == 200, account.text
        return str(request_id)

    async def validate(self, affiliate: str, request_id: str, quote_id: Any) -> httpx.Response:
        return await self.act(
            affiliate,
            "POST",
            f"/v1/requests/{request_id}/validation",
            {"quote_id": str(quote_id), "cg_version": CG, "cg_accepted": True},
        )


@pytest.fixture
async def svc(infra: Infra, database: str) -> AsyncIterator[Requests]:
    settings = RequestsSettings(
        database_url=database,
        kafka_bootstrap_servers=infra.bootstrap,
        kafka_group_id=f"requests-{uuid.uuid4().hex[:8]}",
        token_public_key_file=infra.public_key,
        sweep_interval_seconds=0,
        quote_wait_seconds=8,
    )
    clock = FrozenClock(datetime.now(UTC))
    issuer = TokenIssuer(
        infra.private_key.read_bytes(),
        issuer=settings.token_issuer,
        audience=settings.token_audience,
        ttl=timedelta(minutes=15),
    )
    app = create_app(settings, clock)
    async with running(app) as client:
        yield Requests(
            client, issuer, infra, database, clock, app.state.dependencies.context, settings.quote_wait_seconds
        )


def states(records: list[Any], request_id: str) -> list[str]:
    payloads = [json.loads(r.value)["payload"] for r in records]
    return [p["state"] for p in payloads if p["request_id"] == request_id]


async def test_full_payment_goes_from_draft_to_validated_with_history_and_events(svc: Requests) -> None:
    affiliate = new_affiliate()
    request_id = await svc.draft_ready(affiliate)
    issued = quote(affiliate)
    await svc.send(SIMULATION_QUOTES.name, affiliate, issued)

    validated = await svc.validate(affiliate, request_id, issued.payload.quote_id)

    assert validated.status_code == 200, validated.text
    body = validated.json()
    assert body["state"] == "VALIDATED"
    assert body["quote"]["quote_id"] == str(issued.payload.quote_id)
    assert body["quote"]["to_pay"] == "10120.00"
    assert body["cg_version"] == CG
    assert body["bank_account"]["rib_masked"] == "********************1234"
    assert [(h["event"], h["to_state"]) for h in body["history"]] == [
        ("created", "DRAFT"),
        ("modality_chosen", "DRAFT"),
        ("bank_account_chosen", "DRAFT"),
        ("validated", "VALIDATED"),
    ]
    assert all(h["actor"] == {"kind": "affiliate", "id": "test"} for h in body["history"])
    # V is today; the first debit is the 10th of next month, on a business day
    v = datetime.fromisoformat(body["validation_date"]).date()
    first = body["schedule"][0]
    assert first["amount"] == "10120.00"
    assert (
        first["due_date"].endswith("-10")
        and first["due_date"][:7] == f"{(v.replace(day=1) + timedelta(days=32)):%Y-%m}"
    )
    records = await read_topic(
        svc.infra.bootstrap, REQUESTS_EVENTS.name, lambda r: "VALIDATED" in states(r, request_id), key=affiliate
    )
    assert states(records, request_id) == ["DRAFT", "VALIDATED"]
    plan = json.loads(records[-1].value)["payload"]["plan"]
    assert plan["bank_account_id"] == ACCOUNT_ID and plan["quote"]["to_pay"] == "10120.00"


async def test_validation_right_after_simulation_waits_for_the_quote(svc: Requests) -> None:
    affiliate = new_affiliate()
    request_id = await svc.draft_ready(affiliate)
    issued = quote(affiliate)
    # the listening connection dies (a Postgres restart, a proxy): the service listens again
    listening = (
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%quote_arrived%'"
    )
    admin = await asyncpg.connect(svc.database)
    try:
        (before,) = await admin.fetch(listening)
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", before["pid"])
        # the service listens again, on a new connection, after its reconnection pause
        await eventually(lambda: admin.fetch(listening + " AND pid <> $1", before["pid"]), timeout=10)
    finally:
        await admin.close()

    async def late_quote() -> None:
        await asyncio.sleep(0.5)  # the scenario: the quote crosses the broker while validation waits
        await svc.send(SIMULATION_QUOTES.name, affiliate, issued)

    sender = asyncio.create_task(late_quote())
    started = time.monotonic()
    validated = await svc.validate(affiliate, request_id, issued.payload.quote_id)
    waited = time.monotonic() - started
    await sender
    assert validated.status_code == 200, validated.text
    assert validated.json()["state"] == "VALIDATED"
    assert waited < 4, f"woken by the notification, not by the {svc.quote_wait}s timeout: {waited:.1f}s"


async def test_stale_other_and_unknown_quotes_are_refused_with_a_reason(svc: Requests) -> None:
    affiliate, other = new_affiliate(), new_affiliate()
    request_id = await svc.draft_ready(affiliate)
    foreign = quote(other)
    expired = quote(affiliate, issued=datetime.now(UTC) - timedelta(hours=1))
    await svc.send(SIMULATION_QUOTES.name, other, foreign)
    await svc.send(SIMULATION_QUOTES.name, affiliate, expired)
    # the debt changed after this quote: version 2 is known, the quote used version 1
    old = quote(affiliate, version=1)
    await svc.send(SIMULATION_QUOTES.name, affiliate, old)
    await svc.send(DEBT_POSITIONS.name, affiliate, position(affiliate, 2))

    async def at_version_2() -> bool:
        conn = await asyncpg.connect(svc.database)
        try:
            return await conn.fetchval("SELECT version FROM debt_position WHERE affiliate = $1", affiliate) == 2
        finally:
            await conn.close()

    await eventually(at_version_2)
    # two fresh quotes on version 2: only the last one shown binds
    shown_before = quote(affiliate, version=2, issued=datetime.now(UTC) - timedelta(minutes=1))
    last_shown = quote(affiliate, version=2, modality="INSTALLMENTS")
    await svc.send(SIMULATION_QUOTES.name, affiliate, shown_before, last_shown)
    group = svc.headers(affiliate, other)  # a group account holding both affiliates

    answers = {
        "foreign": await svc.validate(affiliate, request_id, foreign.payload.quote_id),
        "foreign, group": await svc.client.post(
            f"/v1/requests/{request_id}/validation",
            json={"quote_id": str(foreign.payload.quote_id), "cg_version": CG, "cg_accepted": True},
            headers=group,
        ),
        "expired": await svc.validate(affiliate, request_id, expired.payload.quote_id),
        "stale": await svc.validate(affiliate, request_id, old.payload.quote_id),
        "superseded": await svc.validate(affiliate, request_id, shown_before.payload.quote_id),
    }
    assert {k: (r.status_code, r.json()["code"]) for k, r in answers.items()} == {
        "foreign": (409, "devis-introuvable"),  # another account's quote: as if it did not exist
        "foreign, group": (409, "devis-autre-affilie"),
        "expired": (409, "devis-expire"),
        "stale": (409, "devis-perime"),
        "superseded": (409, "devis-remplace"),
    }
    assert all(r.headers["content-type"] == "application/problem+json" for r in answers.values())
    assert "simulation" in answers["stale"].json()["title"]
    # an unknown quote is refused after the short wait
    unknown = await svc.validate(affiliate, request_id, uuid.uuid4())
    assert (unknown.status_code, unknown.json()["code"]) == (409, "devis-introuvable")
    current = await svc.act(affiliate, "GET", f"/v1/requests/{request_id}")
    assert current.json()["state"] == "DRAFT"


async def test_installments_wait_for_the_guarantee_and_the_deposit_validates_them(svc: Requests) -> None:
    svc.clock.advance(datetime(2026, 12, 5, 9, 0, tzinfo=UTC) - svc.clock.now())  # submitted on 5 December
    affiliate = new_affiliate()
    request_id = await svc.draft_ready(affiliate, "INSTALLMENTS")
    issued = quote(affiliate, modality="INSTALLMENTS", issued=svc.clock.now())
    await svc.send(SIMULATION_QUOTES.name, affiliate, issued)

    waiting = await svc.validate(affiliate, request_id, issued.payload.quote_id)
    assert waiting.status_code == 200, waiting.text
    assert waiting.json()["state"] == "AWAITING_GUARANTEE"
    deadline = waiting.json()["guarantee_deadline"]

    records = await read_topic(svc.infra.bootstrap, OFFICE_TOPIC.name, bool, key=affiliate)
    required = json.loads(records[-1].value)
    assert required["type"] == "requests.guarantee_required"
    assert required["payload"] | {"quote_id": None} == {
        "request_id": request_id,
        "affiliate": affiliate,
        "raison_sociale": "Atlas Test SARL",
        "perception": {"code": "CAS-01", "name": "Perception Casablanca Anfa"},
        "amount": "6000.00",  # to pay 10150.00 less the advance 4150.00
        "installments": 2,
        "deadline": deadline,
        "quote_id": None,
    }
    deposited_at = datetime(2026, 12, 15, 10, 0, tzinfo=UTC)
    svc.clock.advance(timedelta(days=10, hours=3))  # a deposit is dated no later than today
    deposit = deposited(request_id, affiliate, "GAR-0001", deposited_at)
    await svc.send(PERCEPTION_GUARANTEES.name, affiliate, deposit, deposit)  # redelivered: applied once

    async def validated() -> Any:
        body = (await svc.act(affiliate, "GET", f"/v1/requests/{request_id}")).json()
        return body if body["state"] == "VALIDATED" else None

    body = await eventually(validated)
    assert body["validation_date"] == "2026-12-15"
    assert body["guarantee"]["reference"] == "GAR-0001"
    # V = 2026-12-15: advance on 2027-01-10 (a Sunday; the 11th is a holiday: collected the 12th);
    # 2027-03-10 is Aïd al-Fitr in the calendar (estimated): collected the 11th
    assert [(d["kind"], d["due_date"], d["collection_date"], d["amount"]) for d in body["schedule"]] == [
        ("ADVANCE", "2027-01-10", "2027-01-12", "4150.00"),
        ("INSTALLMENT", "2027-02-10", "2027-02-10", "3000.00"),
        ("INSTALLMENT", "2027-03-10", "2027-03-11", "3000.00"),
    ]
    assert [h["event"] for h in body["history"]].count("guarantee_deposited") == 1
    assert body["history"][-1]["actor"] == {"kind": "perception", "id": "CAS-01"}


async def test_a_refused_guarantee_rejects_the_request(svc: Requests) -> None:
    affiliate = new_affiliate()
    request_id = await svc.draft_ready(affiliate, "INSTALLMENTS")
    issued = quote(affiliate, modality="INSTALLMENTS")
    await svc.send(SIMULATION_QUOTES.name, affiliate, issued)
    assert (await svc.validate(affiliate, request_id, issued.payload.quote_id)).json()["state"] == "AWAITING_GUARANTEE"
    refused = GuaranteeRefused.build(
        {
            "request_id": request_id,
            "affiliate": affiliate,
            "perception": "CAS-01",
            "reason": "caution insuffisante",
            "refused_at": datetime.now(UTC),
        },
        producer="perception",
        occurred_at=datetime.now(UTC),
    )
    await svc.send(PERCEPTION_GUARANTEES.name, affiliate, refused)

    async def rejected() -> Any:
        body = (await svc.act(affiliate, "GET", f"/v1/requests/{request_id}")).json()
        return body if body["state"] == "REJECTED" else None

    body = await eventually(rejected)
    assert "caution insuffisante" in body["history"][-1]["reason"]
    # a terminal request frees the affiliate for a new one
    assert (await svc.create(affiliate)).status_code == 201


async def test_the_sweep_expires_late_guarantees_and_cancels_idle_drafts(svc: Requests) -> None:
    waiting, idle, idle_installments = new_affiliate(), new_affiliate(), new_affiliate()
    waiting_id = await svc.draft_ready(waiting, "INSTALLMENTS")
    issued = quote(waiting, modality="INSTALLMENTS")
    await svc.send(SIMULATION_QUOTES.name, waiting, issued)
    body = (await svc.validate(waiting, waiting_id, issued.payload.quote_id)).json()
    deadline = datetime.fromisoformat(body["guarantee_deadline"])
    idle_id = await svc.draft_ready(idle)
    # a draft that chose installments never asked the perception for anything: it closes quietly
    idle_installments_id = await svc.draft_ready(idle_installments, "INSTALLMENTS")

    pool = await asyncpg.create_pool(svc.database, min_size=1, max_size=2)
    try:
        async with pool.acquire() as conn:
            # the drafts' last activity is the service clock's now: 23 hours later they stay
            almost = svc.clock.now() + timedelta(hours=23)
            nothing = {"expired": 0, "cancelled": 0, "reannounced": 0, "guarantees_reannounced": 0, "failed": 0}
            nothing |= {"contributions_noticed": 0, "contributions_cured": 0, "contributions_defaulted": 0}
            # (no office acknowledged the guarantee request: each sweep an hour apart sends it again)
            assert await sweep(conn, svc.ctx, almost) == nothing | {"guarantees_reannounced": 1}
            # the deadline day itself still counts for the guarantee
            on_deadline = deadline.replace(hour=12, tzinfo=UTC)
            assert await sweep(conn, svc.ctx, on_deadline) == nothing | {"cancelled": 2, "guarantees_reannounced": 1}
            after = deadline.replace(tzinfo=UTC) + timedelta(days=1, hours=12)
            assert await sweep(conn, svc.ctx, after) == nothing | {"expired": 1}
    finally:
        await pool.close()

    expired = (await svc.act(waiting, "GET", f"/v1/requests/{waiting_id}")).json()
    cancelled = (await svc.act(idle, "GET", f"/v1/requests/{idle_id}")).json()
    quiet = (await svc.act(idle_installments, "GET", f"/v1/requests/{idle_installments_id}")).json()
    assert (expired["state"], expired["history"][-1]["actor"]) == ("EXPIRED", {"kind": "system", "id": "sweep"})
    assert (cancelled["state"], cancelled["history"][-1]["event"]) == ("CANCELLED", "cancelled_inactive")
    assert (quiet["state"], quiet["history"][-1]["event"]) == ("CANCELLED", "cancelled_inactive")
    records = await read_topic(
        svc.infra.bootstrap,
        OFFICE_TOPIC.name,
        lambda r: any(b"guarantee_deadline_passed" in x.value for x in r),
        key=waiting,
    )
    assert json.loads(records[-1].value)["payload"]["request_id"] == waiting_id

    # The office's deposit, dated on the deadline day, arrives after the sweep: kept on the request,
    # which stays EXPIRED until an operator reopens it (`recouvrement requests reopen`).
    svc.clock.advance(after - svc.clock.now())
    late = GuaranteeDeposited.build(
        {
            "request_id": waiting_id,
            "affiliate": waiting,
            "perception": "CAS-01",
            "reference": "GAR-LATE",
            "guarantee_type": "CAUTION_BANCAIRE",
            "deposited_at": deadline.replace(hour=10, tzinfo=UTC),
        },
        producer="perception",
        occurred_at=datetime.now(UTC),
    )
    await svc.send(PERCEPTION_GUARANTEES.name, waiting, late)

    async def kept() -> Any:
        body = (await svc.act(waiting, "GET", f"/v1/requests/{waiting_id}")).json()
        return body if body["history"][-1]["event"] == "late_guarantee_deposited" else None

    body = await eventually(kept)
    assert body["state"] == "EXPIRED" and body["guarantee"]["reference"] == "GAR-LATE"
    assert "dans le délai : un opérateur peut rouvrir la demande" in body["history"][-1]["reason"]
    conn = await asyncpg.connect(svc.database)
    try:
        reopened = await reopen(conn, svc.ctx, uuid.UUID(waiting_id), "a.benali", "dépôt du jour limite reçu tard")
        with pytest.raises(Refusal) as twice:
            await reopen(conn, svc.ctx, uuid.UUID(waiting_id), "a.benali", "encore")
    finally:
        await conn.close()
    assert twice.value.code == "demande-non-expiree"
    assert (reopened.state, reopened.validation_date) == ("VALIDATED", deadline.date())
    body = (await svc.act(waiting, "GET", f"/v1/requests/{waiting_id}")).json()
    line = body["history"][-1]
    assert (line["event"], line["from_state"], line["to_state"], line["actor"]) == (
        "reopened",
        "EXPIRED",
        "VALIDATED",
        {"kind": "system", "id": "operateur:a.benali"},
    )
    assert line["reason"].startswith("rouverte par a.benali : dépôt du jour limite reçu tard ; garanties déposées le")
    records = await read_topic(
        svc.infra.bootstrap, REQUESTS_EVENTS.name, lambda r: "VALIDATED" in states(r, waiting_id), key=waiting
    )
    (validated,) = [
        json.loads(r.value)["payload"] for r in records if json.loads(r.value)["payload"]["state"] == "VALIDATED"
    ]
    assert validated["previous_state"] == "EXPIRED" and validated["plan"] is not None  # debits will schedule it


async def test_a_deposit_dated_after_the_deadline_keeps_the_request_expired(svc: Requests) -> None:
    affiliate = new_affiliate()
    request_id = await svc.draft_ready(affiliate, "INSTALLMENTS")
    issued = quote(affiliate, modality="INSTALLMENTS")
    await svc.send(SIMULATION_QUOTES.name, affiliate, issued)
    deadline = date.fromisoformat(
        (await svc.validate(affiliate, request_id, issued.payload.quote_id)).json()["guarantee_deadline"]
    )
    after = datetime.combine(deadline, datetime.min.time(), UTC) + timedelta(days=2, hours=12)
    conn = await asyncpg.connect(svc.database)
    try:
        assert (await sweep(conn, svc.ctx, after))["expired"] == 1
        svc.clock.advance(after - svc.clock.now())
        late = GuaranteeDeposited.build(
            {
                "request_id": request_id,
                "affiliate": affiliate,
                "perception": "CAS-01",
                "reference": "GAR-TROP-TARD",
                "guarantee_type": "NANTISSEMENT",
                "deposited_at": after - timedelta(hours=2),  # the day after the deadline
            },
            producer="perception",
            occurred_at=after,
        )
        await svc.send(PERCEPTION_GUARANTEES.name, affiliate, late)

        async def kept() -> Any:
            body = (await svc.act(affiliate, "GET", f"/v1/requests/{request_id}")).json()
            return body if body["history"][-1]["event"] == "late_guarantee_deposited" else None

        body = await eventually(kept)
        assert f"après le délai du {deadline.isoformat()} : la demande reste expirée" in body["history"][-1]["reason"]
        with pytest.raises(Refusal) as refused:
            await reopen(conn, svc.ctx, uuid.UUID(request_id), "a.benali", "à la demande de l'affilié")
    finally:
        await conn.close()
    assert refused.value.code == "depot-hors-delai"
    assert (await svc.act(affiliate, "GET", f"/v1/requests/{request_id}")).json()["state"] == "EXPIRED"


async def test_an_installments_draft_is_withdrawn_without_troubling_the_perception(svc: Requests) -> None:
    affiliate = new_affiliate()
    request_id = await svc.draft_ready(affiliate, "INSTALLMENTS")
    withdrawn = await svc.act(affiliate, "POST", f"/v1/requests/{request_id}/withdrawal")
    assert (withdrawn.status_code, withdrawn.json()["state"]) == (200, "CANCELLED")
    records = await read_topic(
        svc.infra.bootstrap, REQUESTS_EVENTS.name, lambda r: "CANCELLED" in states(r, request_id), key=affiliate
    )
    assert states(records, request_id) == ["DRAFT", "CANCELLED"]
    assert await read_topic(svc.infra.bootstrap, OFFICE_TOPIC.name, lambda r: True, key=affiliate) == []


async def test_withdrawal_of_a_waiting_request_tells_the_perception(svc: Requests) -> None:
    affiliate = new_affiliate()
    request_id = await svc.draft_ready(affiliate, "INSTALLMENTS")
    issued = quote(affiliate, modality="INSTALLMENTS")
    await svc.send(SIMULATION_QUOTES.name, affiliate, issued)
    await svc.validate(affiliate, request_id, issued.payload.quote_id)

    withdrawn = await svc.act(affiliate, "POST", f"/v1/requests/{request_id}/withdrawal")
    assert (withdrawn.status_code, withdrawn.json()["state"]) == (200, "CANCELLED")
    again = await svc.act(affiliate, "POST", f"/v1/requests/{request_id}/withdrawal")
    assert (again.status_code, again.json()["code"]) == (409, "retrait-impossible")
    records = await read_topic(
        svc.infra.bootstrap,
        OFFICE_TOPIC.name,
        lambda r: any(b"guarantee_withdrawn" in x.value for x in r),
        key=affiliate,
    )
    assert json.loads(records[-1].value)["payload"]["request_id"] == request_id


async def test_two_simultaneous_creations_give_one_request_and_one_conflict(svc: Requests) -> None:
    affiliate = new_affiliate()
    await svc.known(affiliate)
    answers = await asyncio.gather(*(svc.create(affiliate) for _ in range(2)))
    assert sorted(a.status_code for a in answers) == [201, 409]
    conflict = next(a for a in answers if a.status_code == 409).json()
    created = next(a for a in answers if a.status_code == 201).json()
    assert conflict["code"] == "demande-en-cours"
    assert conflict["request_id"] == created["id"]


async def test_each_reason_not_to_open_a_request_has_its_code(svc: Requests) -> None:
    arrangement, nothing, unknown = new_affiliate(), new_affiliate(), new_affiliate()
    await svc.send(DEBT_POSITIONS.name, arrangement, position(arrangement, 1, arrangement=True))
    await svc.send(DEBT_POSITIONS.name, nothing, position(nothing, 1, majorations="0.00"))

    async def projected() -> bool:
        conn = await asyncpg.connect(svc.database)
        try:
            return (
                await conn.fetchval(
                    "SELECT count(*) FROM debt_position WHERE affiliate = ANY($1::text[])", [arrangement, nothing]
                )
                == 2
            )
        finally:
            await conn.close()

    await eventually(projected)
    answer = await svc.create(arrangement)
    assert (answer.status_code, answer.json()["code"]) == (409, "arrangement-actif")
    assert answer.json()["perception"] == {"code": "RAB-02", "name": "Perception Rabat Agdal"}
    assert "Perception Rabat Agdal" in answer.json()["title"]
    assert (await svc.create(nothing)).json()["code"] == "rien-a-remettre"
    assert (await svc.create(unknown)).json()["code"] == "creance-inconnue"
    someone_else = await svc.client.post("/v1/requests", json={"affiliate": arrangement}, headers=svc.headers(nothing))
    assert (someone_else.status_code, someone_else.json()["code"]) == (404, "affilie-introuvable")
    eligibility = await svc.act(arrangement, "GET", f"/v1/affiliates/{arrangement}/eligibility")
    assert eligibility.json()["eligible"] is False
    assert [r["code"] for r in eligibility.json()["refusals"]] == ["arrangement-actif"]


async def test_the_draft_steps_refuse_what_the_rules_forbid(svc: Requests) -> None:
    affiliate = new_affiliate()
    await svc.known(affiliate)
    request_id = (await svc.create(affiliate)).json()["id"]
    base = f"/v1/requests/{request_id}"
    no_obligation = await svc.act(affiliate, "PUT", f"{base}/modality", {"modality": "INSTALLMENTS"})
    assert (no_obligation.status_code, no_obligation.json()["code"]) == (422, "obligation-garanties-requise")
    other_account = await svc.act(affiliate, "PUT", f"{base}/bank-account", {"bank_account_id": "pas-le-mien"})
    assert (other_account.status_code, other_account.json()["code"]) == (422, "compte-bancaire-inconnu")
    too_early = await svc.validate(affiliate, request_id, uuid.uuid4())
    assert too_early.status_code == 409  # unknown quote (after waiting) before anything else
    no_cg = await svc.act(
        affiliate, "POST", f"{base}/validation", {"quote_id": str(uuid.uuid4()), "cg_version": CG, "cg_accepted": False}
    )
    assert (no_cg.status_code, no_cg.json()["code"]) == (422, "cg-non-acceptees")
    foreign = await svc.client.get(base, headers=svc.headers(new_affiliate()))
    assert (foreign.status_code, foreign.json()["code"]) == (404, "demande-introuvable")
    conditions = await svc.client.get("/v1/conditions")
    assert conditions.json()["version"] == CG and "remise" in conditions.json()["text"]


async def test_a_position_the_database_refuses_is_dead_lettered_and_the_batch_stands(svc: Requests) -> None:
    good, bad = new_affiliate(), new_affiliate()
    huge = position(bad, 1, majorations="90000000000000.00")
    overflowing = huge.model_copy(
        update={
            "payload": huge.payload.model_copy(
                update={
                    "periods": [*huge.payload.periods, huge.payload.periods[0].model_copy(update={"period": "2023-06"})]
                }
            )
        }
    )
    # one batch: both positions arrive together; the sum of the bad one overflows NUMERIC(16,2)
    await publish(
        svc.infra.bootstrap,
        DEBT_POSITIONS.name,
        [(bad, overflowing), (good, position(good, 1)), (good, position(good, 3)), (good, position(good, 2))],
    )
    letters = await read_topic(svc.infra.bootstrap, DEBT_POSITIONS.dlq, bool, key=bad)
    assert "refusé par la base" in (header(letters[-1], "x-dlq-reason") or "")

    async def projected() -> Any:
        conn = await asyncpg.connect(svc.database)
        try:
            return await conn.fetchrow("SELECT version, remissible FROM debt_position WHERE affiliate = $1", good)
        finally:
            await conn.close()

    row = await eventually(projected)
    assert (row["version"], str(row["remissible"])) == (3, "300.00")  # the newest of the batch, not the last


def debit_changed(affiliate: str, request_id: str, sequence: int, state: str) -> DebitChanged:
    return DebitChanged.build(
        {
            "request_id": request_id,
            "affiliate": affiliate,
            "debit": {
                "sequence": sequence,
                "kind": "FULL",
                "due_date": "2026-12-10",
                "collection_date": "2026-12-10",
                "amount": "10120.00",
                "state": state,
                "attempts": 1,
            },
            "at": datetime.now(UTC),
        },
        producer="debits",
        occurred_at=datetime.now(UTC),
    )


async def test_the_plan_at_debits_completes_or_defaults_the_request(svc: Requests) -> None:
    paid, broken = new_affiliate(), new_affiliate()
    ids = {}
    for affiliate in (paid, broken):
        request_id = await svc.draft_ready(affiliate)
        issued = quote(affiliate)
        await svc.send(SIMULATION_QUOTES.name, affiliate, issued)
        assert (await svc.validate(affiliate, request_id, issued.payload.quote_id)).json()["state"] == "VALIDATED"
        ids[affiliate] = request_id
    today = datetime.now(UTC).date()
    completed = PlanCompleted.build(
        {"request_id": ids[paid], "affiliate": paid, "total_paid": "10120.00", "completed_on": today},
        producer="debits",
        occurred_at=datetime.now(UTC),
    )
    settled = debit_changed(paid, ids[paid], 1, "SETTLED")
    await svc.send(DEBITS_EVENTS.name, paid, settled, settled, completed)  # a redelivery changes nothing
    defaulted = PlanDefaulted.build(
        {
            "request_id": ids[broken],
            "affiliate": broken,
            "reason": "prélèvement 1 rejeté (AC04)",
            "paid_so_far": "0.00",
            "cancelled_sequences": [],
            "defaulted_on": today,
        },
        producer="debits",
        occurred_at=datetime.now(UTC),
    )
    await svc.send(DEBITS_EVENTS.name, broken, defaulted)

    async def state_of(affiliate: str, wanted: str) -> Any:
        body = (await svc.act(affiliate, "GET", f"/v1/requests/{ids[affiliate]}")).json()
        return body if body["state"] == wanted else None

    body = await eventually(lambda: state_of(paid, "COMPLETED"))
    assert [h["to_state"] for h in body["history"]][-2:] == ["IN_PROGRESS", "COMPLETED"]
    body = await eventually(lambda: state_of(broken, "DEFAULTED"))
    assert body["history"][-1]["reason"] == "déchéance : prélèvement 1 rejeté (AC04)"
    again = await svc.create(broken)
    assert (again.status_code, again.json()["code"]) == (409, "defaillance-anterieure")
    records = await read_topic(
        svc.infra.bootstrap, REQUESTS_EVENTS.name, lambda r: "COMPLETED" in states(r, ids[paid]), key=paid
    )
    assert states(records, ids[paid]) == ["DRAFT", "VALIDATED", "IN_PROGRESS", "COMPLETED"]


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one series in Prometheus' text format; the test fails when it is absent."""
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        series, _, value = line.rpartition(" ")
        head, _, rest = series.partition("{")
        if head == name and ",".join(sorted(rest.rstrip("}").split(","))) == wanted:
            return float(value)
    raise AssertionError(f"{name}{{{wanted}}} not in /metrics")


async def test_metrics_count_requests_per_state_and_time_routes_by_their_template(svc: Requests) -> None:
    affiliate = new_affiliate()
    request_id = await svc.draft_ready(affiliate)
    answer = await svc.client.get("/metrics")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
    text = answer.text
    drafts = sample(text, "recouvrement_requests", service="requests", state="DRAFT")
    assert drafts >= 1
    assert sample(text, "recouvrement_requests", service="requests", state="DEFAULTED") >= 0  # every state is a series
    # the outbox, read at the scrape: the draft's events are written; depth and age are numbers
    assert sample(text, "recouvrement_outbox_depth", service="requests") >= 0
    assert sample(text, "recouvrement_outbox_parked", service="requests") == 0
    # a route is its template, never its URL: neither the affiliate nor the request id is a label
    count = sample(
        text,
        "recouvrement_http_request_duration_seconds_count",
        service="requests",
        method="POST",
        route="/v1/requests",
        status="201",
    )
    assert count >= 1
    assert "/v1/requests/{request_id}/modality" in text
    assert affiliate not in text and request_id not in text
    # the consumers' lag, per topic they read: the draft waited for its position, so it was read
    assert sample(text, "recouvrement_consumer_lag", service="requests", topic="debt.positions.v1") >= 0

    # one more draft moves the count: the gauge is read from the database at each scrape
    await svc.draft_ready(new_affiliate())
    again = (await svc.client.get("/metrics")).text
    assert sample(again, "recouvrement_requests", service="requests", state="DRAFT") == drafts + 1


async def test_a_validation_debits_never_answered_with_a_plan_is_announced_again_three_times_at_most(
    svc: Requests,
) -> None:
    """The VALIDATED event lost (or refused by debits): an hour later the sweep announces it again,
    same transition and plan under a new event id, and says so in the history. A request whose plan
    debits scheduled is left alone."""
    lost, planned = new_affiliate(), new_affiliate()
    ids = {}
    for affiliate in (lost, planned):
        request_id = await svc.draft_ready(affiliate)
        issued = quote(affiliate)
        await svc.send(SIMULATION_QUOTES.name, affiliate, issued)
        assert (await svc.validate(affiliate, request_id, issued.payload.quote_id)).json()["state"] == "VALIDATED"
        ids[affiliate] = request_id
    scheduled = PlanScheduled.build(
        PlanScheduledPayload(request_id=uuid.UUID(ids[planned]), affiliate=planned, debits=[]),
        producer="debits",
        occurred_at=datetime.now(UTC),
    )
    await svc.send(DEBITS_EVENTS.name, planned, scheduled)

    async def plan_known() -> bool:
        conn = await asyncpg.connect(svc.database)
        try:
            return bool(
                await conn.fetchval("SELECT plan_scheduled_at IS NOT NULL FROM request WHERE id = $1", ids[planned])
            )
        finally:
            await conn.close()

    await eventually(plan_known)
    now = svc.clock.now()
    conn = await asyncpg.connect(svc.database)
    try:
        assert (await sweep(conn, svc.ctx, now + timedelta(minutes=59)))["reannounced"] == 0
        assert (await sweep(conn, svc.ctx, now + timedelta(minutes=61)))["reannounced"] == 1
        assert (await sweep(conn, svc.ctx, now + timedelta(minutes=62)))["reannounced"] == 0  # an hour between
        assert (await sweep(conn, svc.ctx, now + timedelta(minutes=122)))["reannounced"] == 1
        assert (await sweep(conn, svc.ctx, now + timedelta(minutes=183)))["reannounced"] == 1
        assert (await sweep(conn, svc.ctx, now + timedelta(minutes=244)))["reannounced"] == 0  # three at most
    finally:
        await conn.close()

    records = await read_topic(
        svc.infra.bootstrap, REQUESTS_EVENTS.name, lambda r: states(r, ids[lost]).count("VALIDATED") >= 4, key=lost
    )
    validations = [json.loads(r.value) for r in records if json.loads(r.value)["payload"]["state"] == "VALIDATED"]
    assert len({v["event_id"] for v in validations}) == 4
    assert len({json.dumps(v["payload"], sort_keys=True) for v in validations}) == 1  # the same transition
    body = (await svc.act(lost, "GET", f"/v1/requests/{ids[lost]}")).json()
    assert body["state"] == "VALIDATED"
    again = [h for h in body["history"] if h["event"] == "reannounced"]
    assert len(again) == 3 and all(h["actor"] == {"kind": "system", "id": "sweep"} for h in again)
    assert again[0]["reason"] == "aucun échéancier reçu de debits en 60 minutes : validation annoncée de nouveau"
    planned_body = (await svc.act(planned, "GET", f"/v1/requests/{ids[planned]}")).json()
    assert [h["event"] for h in planned_body["history"]][-1] == "validated"


def deposited(request_id: str, affiliate: str, reference: str, at: datetime) -> GuaranteeDeposited:
    """A bank guarantee deposited at CAS-01, the office of ``svc.known`` affiliates."""
    payload = {"request_id": request_id, "affiliate": affiliate, "perception": "CAS-01", "reference": reference}
    return GuaranteeDeposited.build(
        payload | {"guarantee_type": "CAUTION_BANCAIRE", "deposited_at": at}, producer="perception", occurred_at=at
    )


def receipt(request_id: str, affiliate: str, office: str, at: datetime) -> GuaranteeRequestReceived:
    return GuaranteeRequestReceived.build(
        {"request_id": request_id, "affiliate": affiliate, "perception": office, "received_at": at},
        producer="perception",
        occurred_at=at,
    )


async def test_a_guarantee_request_its_office_never_acknowledged_is_sent_again_three_times_at_most(
    svc: Requests,
) -> None:
    """The guarantee request lost on the way (or its acknowledgement): an hour later the sweep sends
    it to the office again, the same request under a new event id, and says so in the history. A
    request the office acknowledged is left alone; its acknowledgement is one line, however often sent."""
    lost, acknowledged = new_affiliate(), new_affiliate()
    ids = {}
    for affiliate in (lost, acknowledged):
        request_id = await svc.draft_ready(affiliate, "INSTALLMENTS")
        issued = quote(affiliate, modality="INSTALLMENTS")
        await svc.send(SIMULATION_QUOTES.name, affiliate, issued)
        waiting = await svc.validate(affiliate, request_id, issued.payload.quote_id)
        assert waiting.json()["state"] == "AWAITING_GUARANTEE", waiting.text
        ids[affiliate] = request_id
    now = svc.clock.now()
    stray = receipt(ids[acknowledged], acknowledged, "RAB-01", now)  # an office that was not asked
    first = receipt(ids[acknowledged], acknowledged, "CAS-01", now + timedelta(minutes=1))
    again = receipt(ids[acknowledged], acknowledged, "CAS-01", now + timedelta(minutes=2))  # acknowledged twice
    await svc.send(PERCEPTION_GUARANTEES.name, acknowledged, stray, first, again)

    async def received() -> Any:
        body = (await svc.act(acknowledged, "GET", f"/v1/requests/{ids[acknowledged]}")).json()
        return body if body["history"][-1]["event"] == "guarantee_request_received" else None

    body = await eventually(received)
    line = body["history"][-1]
    assert (line["to_state"], line["actor"]) == ("AWAITING_GUARANTEE", {"kind": "perception", "id": "CAS-01"})
    assert line["reason"] == "demande de garanties reçue par la perception CAS-01"
    letters = await read_topic(
        svc.infra.bootstrap, PERCEPTION_GUARANTEES.dlq, lambda r: any(b"RAB-01" in x.value for x in r), key=acknowledged
    )
    assert "perception-non-sollicitee" in (header(letters[-1], "x-dlq-reason") or "")

    conn = await asyncpg.connect(svc.database)
    try:
        done = [
            (await sweep(conn, svc.ctx, now + timedelta(minutes=m)))["guarantees_reannounced"]
            for m in (59, 61, 62, 122, 183, 244)
        ]
    finally:
        await conn.close()
    assert done == [0, 1, 0, 1, 1, 0]  # an hour apart, three at most

    records = await read_topic(
        svc.infra.bootstrap,
        OFFICE_TOPIC.name,
        lambda r: sum(b"guarantee_required" in x.value for x in r) >= 4,
        key=lost,
    )
    required = [json.loads(r.value) for r in records if json.loads(r.value)["type"] == "requests.guarantee_required"]
    assert len({r["event_id"] for r in required}) == 4
    assert len({json.dumps(r["payload"], sort_keys=True) for r in required}) == 1  # the very same request
    body = (await svc.act(lost, "GET", f"/v1/requests/{ids[lost]}")).json()
    sent_again = [h for h in body["history"] if h["event"] == "reannounced"]
    assert len(sent_again) == 3 and all(h["to_state"] == "AWAITING_GUARANTEE" for h in sent_again)
    assert sent_again[0]["reason"] == (
        "aucun accusé de réception de la perception CAS-01 en 60 minutes : demande de garanties envoyée de nouveau"
    )
    quiet = await read_topic(svc.infra.bootstrap, OFFICE_TOPIC.name, bool, key=acknowledged)
    assert sum(b"guarantee_required" in r.value for r in quiet) == 1
    acknowledged_body = (await svc.act(acknowledged, "GET", f"/v1/requests/{ids[acknowledged]}")).json()
    assert [h["event"] for h in acknowledged_body["history"]].count("guarantee_request_received") == 1

    metrics = (await svc.client.get("/metrics")).text
    assert sample(metrics, "recouvrement_guarantee_requests", service="requests", state="unacknowledged") == 1
    assert sample(metrics, "recouvrement_guarantee_requests", service="requests", state="received") == 1
    # The office answers at last: the request goes on, nothing more is sent.
    await svc.send(PERCEPTION_GUARANTEES.name, lost, receipt(ids[lost], lost, "CAS-01", now + timedelta(hours=5)))

    async def counted() -> bool:
        text = (await svc.client.get("/metrics")).text
        return sample(text, "recouvrement_guarantee_requests", service="requests", state="received") == 2

    await eventually(counted)


Seen = list[tuple[int, str, tuple[Any, ...]]]


def observe(monkeypatch: pytest.MonkeyPatch, seen: Seen, *methods: str) -> None:
    """Records ``(connection, statement, arguments)`` for every call of these ``asyncpg.Connection``
    methods. Tests compare one connection's statements (``connections``): the service's consumers and
    sweeper share the process, on their own connections, with other tests' requests and quotes."""

    def observing(method: Any) -> Any:
        async def observed(self: asyncpg.Connection, query: str, *args: Any, **kwargs: Any) -> Any:
            seen.append((id(self), " ".join(query.split()), args))
            return await method(self, query, *args, **kwargs)

        return observed

    for name in methods:
        monkeypatch.setattr(asyncpg.Connection, name, observing(getattr(asyncpg.Connection, name)))


def mentions(args: tuple[Any, ...], value: Any) -> bool:
    """``value`` is among a statement's arguments, or in one of its list arguments."""
    return any(a == value or (isinstance(a, list) and value in a) for a in args)


def connections(seen: Seen, text: str, mentioning: Any) -> set[int]:
    """The connections that sent a statement containing ``text`` about ``mentioning``."""
    return {c for c, q, args in seen if text in q and mentions(args, mentioning)}


async def test_a_creation_takes_no_savepoint_and_a_change_writes_the_request_and_its_history_at_once(
    svc: Requests, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each round trip costs both sides CPU (issue 14): no savepoint around the creation's insert (the
    unique index still decides a race: the test of two simultaneous creations), its eligibility read
    in one statement, its request, history line and event written in one more without BEGIN/COMMIT;
    a change writes the request and its history line in one statement, a bank account's choice locks
    the request and reads the accounts in one, and its answer reads the history and the chosen
    account's details in one more."""
    affiliate = new_affiliate()
    await svc.known(affiliate)
    executed: Seen = []
    observe(monkeypatch, executed, "execute", "fetchval", "fetchrow", "fetch")

    def answer_reads(connection: int) -> list[str]:
        """What a connection read of the history and the accounts, apart from the change's own write."""
        return [
            q
            for c, q, _ in executed
            if c == connection and ("request_history" in q or "bank_accounts" in q) and q.startswith("SELECT")
        ]

    created = await svc.create(affiliate)
    assert created.status_code == 201, created.text
    request_id = created.json()["id"]
    [creating] = connections(executed, "INSERT INTO request (", uuid.UUID(request_id))
    assert not [q for c, q, _ in executed if c == creating and q.startswith("SAVEPOINT")]
    # the eligibility's position, request in progress and earlier default: one read (three before)
    [eligibility] = [q for c, q, _ in executed if c == creating and "debt_position" in q]
    assert "FROM request r" in eligibility and "'DEFAULTED'" in eligibility
    assert not [q for c, q, _ in executed if c == creating and "FROM request WHERE" in q]
    # the request, its first history line and its event: one statement, no BEGIN/COMMIT around it
    [opening] = [q for c, q, _ in executed if c == creating and "INSERT INTO" in q]
    assert "INSERT INTO request_history" in opening and "INSERT INTO outbox" in opening
    assert not [q for c, q, _ in executed if c == creating and q.startswith(("BEGIN", "COMMIT"))]
    [answer] = answer_reads(creating)  # one read for the history, and no account chosen yet to describe
    assert "request_history" in answer
    executed.clear()
    chosen = await svc.act(
        affiliate,
        "PUT",
        f"/v1/requests/{request_id}/modality",
        {"modality": "INSTALLMENTS", "guarantee_obligation_accepted": True},
    )

    assert chosen.status_code == 200, chosen.text
    assert chosen.json()["modality"] == "INSTALLMENTS"
    assert [(h["event"], h["to_state"]) for h in chosen.json()["history"]] == [
        ("created", "DRAFT"),
        ("modality_chosen", "DRAFT"),
    ]
    [changing] = connections(executed, "WITH saved AS ( UPDATE request SET", uuid.UUID(request_id))
    writes = [q for c, q, _ in executed if c == changing and ("request_history" in q or q.startswith("UPDATE request"))]
    writes = [q for q in writes if not q.startswith("SELECT")]
    assert len(writes) == 1, writes
    assert writes[0].startswith("WITH saved AS ( UPDATE request SET") and "INSERT INTO request_history" in writes[0]
    executed.clear()

    path = f"/v1/requests/{request_id}/bank-account"
    account = await svc.act(affiliate, "PUT", path, {"bank_account_id": ACCOUNT_ID})

    assert account.status_code == 200, account.text
    assert account.json()["bank_account"]["rib_masked"] == "********************1234"
    assert [h["event"] for h in account.json()["history"]][-1] == "bank_account_chosen"
    [changing] = connections(executed, "WITH saved AS ( UPDATE request SET", uuid.UUID(request_id))
    reads = answer_reads(changing)
    # the choice locks the request and reads the registered accounts in one statement (two before),
    # the answer shows history and account in one more
    assert len(reads) == 2, reads
    assert "FOR UPDATE" in reads[0] and "bank_accounts" in reads[0]
    assert "request_history" in reads[-1] and "bank_accounts" in reads[-1]


async def test_an_affiliates_requests_are_listed_with_their_histories_read_in_one_statement(
    svc: Requests, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The list (the portal's "mes demandes") read each request's history on its own: one round trip
    per request of the page. Now one for the page, and each request still gets its own history."""
    affiliate = new_affiliate()
    await svc.known(affiliate)
    made = []
    for _ in range(3):
        created = await svc.create(affiliate)
        assert created.status_code == 201, created.text
        made.append(created.json()["id"])
        withdrawn = await svc.act(affiliate, "POST", f"/v1/requests/{made[-1]}/withdrawal")
        assert withdrawn.status_code == 200, withdrawn.text
    fetched: Seen = []
    observe(monkeypatch, fetched, "fetch")
    listed = await svc.client.get("/v1/requests", params={"affiliate": affiliate}, headers=svc.headers(affiliate))

    assert listed.status_code == 200, listed.text
    assert sorted(r["id"] for r in listed.json()) == sorted(made)
    for request in listed.json():
        assert [(h["event"], h["to_state"]) for h in request["history"]] == [
            ("created", "DRAFT"),
            ("withdrawn", "CANCELLED"),
        ], request["id"]
    [listing] = connections(fetched, "FROM request_history WHERE request_id = ANY(", uuid.UUID(made[0]))
    assert len([q for c, q, _ in fetched if c == listing and "FROM request_history" in q]) == 1


async def a_draft(svc: Requests) -> tuple[str, str]:
    """A new affiliate's new request: (affiliate, request id)."""
    affiliate = new_affiliate()
    await svc.known(affiliate)
    created = await svc.create(affiliate)
    assert created.status_code == 201, created.text
    return affiliate, created.json()["id"]


def withdrawn_between_reads(
    monkeypatch: pytest.MonkeyPatch, svc: Requests, affiliate: str, request_id: str, repository: Any, method: str
) -> list[int]:
    """The affiliate withdraws the request (another tab, another connection) just before ``method``,
    the answer's second read, runs: what a busy day does, at random, between two statements."""
    read = getattr(repository, method)
    asked: list[str] = []
    withdrawn: list[int] = []

    async def after_a_withdrawal(self: Any, *args: Any, **kwargs: Any) -> Any:
        if not asked:  # once: the withdrawal's own answer reads through here too
            asked.append(request_id)
            withdrawn.append((await svc.act(affiliate, "POST", f"/v1/requests/{request_id}/withdrawal")).status_code)
        return await read(self, *args, **kwargs)

    monkeypatch.setattr(repository, method, after_a_withdrawal)
    return withdrawn


async def test_a_request_and_its_history_are_read_as_of_one_instant(
    svc: Requests, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before the fix: the request read DRAFT, the withdrawal committed, then its history read: a DRAFT
    whose history ended at CANCELLED, offering a withdrawal already made."""
    affiliate, request_id = await a_draft(svc)
    withdrawn = withdrawn_between_reads(monkeypatch, svc, affiliate, request_id, RequestRepository, "answer_parts")

    answer = (await svc.act(affiliate, "GET", f"/v1/requests/{request_id}")).json()
    assert withdrawn == [200]
    assert (answer["state"], [h["to_state"] for h in answer["history"]]) == ("DRAFT", ["DRAFT"])
    monkeypatch.undo()
    answer = (await svc.act(affiliate, "GET", f"/v1/requests/{request_id}")).json()
    assert (answer["state"], [h["to_state"] for h in answer["history"]]) == ("CANCELLED", ["DRAFT", "CANCELLED"])


async def test_an_affiliates_requests_are_listed_as_of_one_instant(
    svc: Requests, monkeypatch: pytest.MonkeyPatch
) -> None:
    affiliate, request_id = await a_draft(svc)
    withdrawn = withdrawn_between_reads(monkeypatch, svc, affiliate, request_id, ProjectionRepository, "bank_accounts")

    listed = await svc.client.get("/v1/requests", params={"affiliate": affiliate}, headers=svc.headers(affiliate))
    [answer] = listed.json()
    assert withdrawn == [200]
    assert (answer["state"], [h["to_state"] for h in answer["history"]]) == ("DRAFT", ["DRAFT"])
    monkeypatch.undo()
    listed = await svc.client.get("/v1/requests", params={"affiliate": affiliate}, headers=svc.headers(affiliate))
    [answer] = listed.json()
    assert (answer["state"], [h["to_state"] for h in answer["history"]]) == ("CANCELLED", ["DRAFT", "CANCELLED"])


async def test_a_validation_reads_the_affiliates_office_once_and_tells_it_all_it_needs(
    svc: Requests, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The validation read the affiliate's profile for the plan's office, then again to write the
    guarantee request: one read now, and the office still hears the raison sociale and itself. The
    position, the bank accounts, the office and the later quotes are read in that one statement (four
    before). And the transition writes the request, its history line and its two events in one statement."""
    affiliate = new_affiliate()
    request_id = await svc.draft_ready(affiliate, "INSTALLMENTS")
    issued = quote(affiliate, modality="INSTALLMENTS", issued=svc.clock.now())
    await svc.send(SIMULATION_QUOTES.name, affiliate, issued)
    fetched: Seen = []
    observe(monkeypatch, fetched, "execute", "executemany", "fetchrow")
    waiting = await svc.validate(affiliate, request_id, issued.payload.quote_id)

    assert waiting.status_code == 200, waiting.text
    assert waiting.json()["state"] == "AWAITING_GUARANTEE"
    [validating] = connections(fetched, "FROM request WHERE id = $1 FOR UPDATE", uuid.UUID(request_id))
    [facts] = [q for c, q, _ in fetched if c == validating and "affiliate_profile" in q]
    assert all(table in facts for table in ("debt_position", "bank_accounts", "FROM quote"))
    assert not [q for c, q, _ in fetched if c == validating and "debt_position" in q and q != facts]
    [write] = [q for c, q, _ in fetched if c == validating and ("INSERT INTO" in q or q.startswith("UPDATE"))]
    assert write.startswith("WITH saved AS ( UPDATE request SET")
    assert "INSERT INTO request_history" in write and "INSERT INTO outbox" in write
    records = await read_topic(svc.infra.bootstrap, OFFICE_TOPIC.name, bool, key=affiliate)
    required = json.loads(records[-1].value)
    assert required["type"] == "requests.guarantee_required"
    assert required["payload"]["request_id"] == request_id
    assert required["payload"]["raison_sociale"] == "Atlas Test SARL"
    assert required["payload"]["perception"] == {"code": "CAS-01", "name": "Perception Casablanca Anfa"}


async def test_an_offices_answers_read_the_request_and_the_office_in_one_statement(
    svc: Requests, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A perception's acknowledgement and its deposit each read the request (locked) and the affiliate's
    office in one statement (two before), and the acknowledgement is marked with its history line in
    one more (two before); what they change is unchanged."""
    affiliate = new_affiliate()
    request_id = await svc.draft_ready(affiliate, "INSTALLMENTS")
    issued = quote(affiliate, modality="INSTALLMENTS", issued=svc.clock.now())
    await svc.send(SIMULATION_QUOTES.name, affiliate, issued)
    waiting = await svc.validate(affiliate, request_id, issued.payload.quote_id)
    assert waiting.json()["state"] == "AWAITING_GUARANTEE", waiting.text
    seen: Seen = []
    observe(monkeypatch, seen, "execute", "fetchval", "fetchrow", "fetch")
    now = svc.clock.now()
    await svc.send(PERCEPTION_GUARANTEES.name, affiliate, receipt(request_id, affiliate, "CAS-01", now))

    async def received() -> Any:
        body = (await svc.act(affiliate, "GET", f"/v1/requests/{request_id}")).json()
        return body if body["history"][-1]["event"] == "guarantee_request_received" else None

    await eventually(received)
    deposit = deposited(request_id, affiliate, "GAR-0002", now)
    await svc.send(PERCEPTION_GUARANTEES.name, affiliate, deposit)

    async def validated() -> Any:
        body = (await svc.act(affiliate, "GET", f"/v1/requests/{request_id}")).json()
        return body if body["state"] == "VALIDATED" else None

    body = await eventually(validated)
    monkeypatch.undo()
    assert [h["event"] for h in body["history"]][-2:] == ["guarantee_request_received", "guarantee_deposited"]
    request = uuid.UUID(request_id)
    locks = [q for _, q, args in seen if "FOR UPDATE" in q and mentions(args, request)]
    assert len(locks) == 2 and all("affiliate_profile" in q for q in locks), locks
    assert not [q for _, q, args in seen if "FROM affiliate_profile WHERE" in q and mentions(args, affiliate)]
    [marked] = [q for _, q, args in seen if "guarantee_received_at" in q and mentions(args, request)]
    assert "INSERT INTO request_history" in marked


async def test_a_quote_and_the_wake_up_of_its_validation_are_one_statement(
    svc: Requests, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The quote's projection stored a batch of quotes, then sent their NOTIFY in a second round trip;
    one statement now (the waiting validation's wake-up is the test above)."""
    affiliate = new_affiliate()
    issued = quote(affiliate)
    executed: Seen = []
    observe(monkeypatch, executed, "execute")
    await svc.send(SIMULATION_QUOTES.name, affiliate, issued)

    async def stored() -> bool:
        return bool(connections(executed, "INSERT INTO quote ", issued.payload.quote_id))

    await eventually(stored)
    [storing] = connections(executed, "INSERT INTO quote ", issued.payload.quote_id)
    [statement] = [q for c, q, args in executed if c == storing and mentions(args, issued.payload.quote_id)]
    assert "pg_notify('quote_arrived'" in statement
