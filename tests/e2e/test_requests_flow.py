"""The guide's steps, "nouvelle demande" to "prise en charge", on the running system: services and
the reference perception as processes, embedded Postgres and broker, over real HTTP and Kafka."""

import asyncio
import json
import subprocess
import sys
import time
import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from contracts.topics import GUARANTEE_REQUESTS, PERCEPTION_GUARANTEES, REQUESTS_EVENTS
from services.stack.demo_data import generate
from services.stack.provisioning import database_url
from tests.e2e.conftest import IGNORED_BY_PERCEPTION, REFUSED_BY_PERCEPTION, RunningStack
from tests.e2e.otlp_receiver import OtlpReceiver
from tests.support import eventually, read_to_end, read_topic

pytestmark = pytest.mark.e2e

PASSWORD = "Demo-2024!"
STABLE_SECONDS = 1.5  # how long debt, simulation and requests must agree on a version before a draft


class Employer:
    """One demo login walking through the portal's calls."""

    def __init__(self, stack: RunningStack, login: str, affiliate: str) -> None:
        session = httpx.post(f"{stack.auth}/v1/sessions", json={"login": login, "password": PASSWORD}, timeout=10)
        assert session.status_code == 201, session.text
        self.stack = stack
        self.affiliate = affiliate
        self.headers = {"authorization": f"Bearer {session.json()['access_token']}"}
        self.http = httpx.AsyncClient(headers=self.headers, timeout=30)

    async def call(
        self, method: str, url: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        return await self.http.request(method, url, json=body, headers=headers)

    async def eligible(self) -> None:
        """The demo debt arrives by Kafka after start, in several versions while the ledger flows in:
        wait until debt, simulation and requests agree on the latest one (a quote on an older
        version than requests knows is refused, rightly). The agreement must hold for a moment: on a
        loaded machine the three once agreed on version 1 while version 2 was on its way."""
        agreed: dict[str, Any] = {}

        async def check() -> bool:
            debt = await self.call("GET", f"{self.stack.debt}/v1/affiliates/{self.affiliate}/debt")
            answer = await self.call("GET", f"{self.stack.requests}/v1/affiliates/{self.affiliate}/eligibility")
            probe = await self.simulate("FULL")
            versions = {debt.json()["version"], answer.json()["debt_version"], probe.json().get("debt_version")}
            if not (answer.json()["eligible"] and len(versions) == 1):
                agreed.clear()
                return False
            if agreed.get("version") != versions:
                agreed.update(version=versions, since=time.monotonic())
            return bool(time.monotonic() - agreed["since"] >= STABLE_SECONDS)

        await eventually(check, timeout=90, interval=0.5)

    async def bank_account(self) -> dict[str, Any]:
        async def listed() -> Any:
            answer = await self.call("GET", f"{self.stack.debits}/v1/affiliates/{self.affiliate}/bank-accounts")
            return answer.json() or None

        accounts = await eventually(listed, timeout=60, interval=0.5)
        return dict(accounts[0])

    async def draft(self, modality: str) -> str:
        await self.eligible()
        account = await self.bank_account()
        created = await self.call("POST", f"{self.stack.requests}/v1/requests", {"affiliate": self.affiliate})
        assert created.status_code == 201, created.text
        request_id = str(created.json()["id"])
        base = f"{self.stack.requests}/v1/requests/{request_id}"
        chosen = await self.call(
            "PUT",
            f"{base}/modality",
            {"modality": modality, "guarantee_obligation_accepted": modality == "INSTALLMENTS"},
        )
        assert chosen.status_code == 200, chosen.text
        assert (await self.call("PUT", f"{base}/bank-account", {"bank_account_id": account["id"]})).status_code == 200
        return request_id

    async def simulate(self, modality: str, advance: str = "0.00", installments: int = 0) -> httpx.Response:
        body: dict[str, Any] = {"affiliate": self.affiliate, "modality": modality}
        if modality == "INSTALLMENTS":
            body |= {"advance": advance, "installments": installments}
        return await self.call("POST", f"{self.stack.simulation}/v1/simulations", body)

    async def installment_quote(self) -> dict[str, Any]:
        """The longest plan of the 1-24 tier whose installments all reach the 3 000.00 minimum."""
        probe = await self.simulate("INSTALLMENTS", installments=1)
        assert probe.status_code == 201, probe.text
        count = max(1, min(24, int(Decimal(probe.json()["to_pay"]) // Decimal(3000))))
        quote = await self.simulate("INSTALLMENTS", installments=count)
        assert quote.status_code == 201, quote.text
        return dict(quote.json())

    async def validate(self, request_id: str, quote_id: str, headers: dict[str, str] | None = None) -> httpx.Response:
        conditions = (await self.call("GET", f"{self.stack.requests}/v1/conditions")).json()
        return await self.call(
            "POST",
            f"{self.stack.requests}/v1/requests/{request_id}/validation",
            {"quote_id": quote_id, "cg_version": conditions["version"], "cg_accepted": True},
            headers=headers,
        )

    async def request(self, request_id: str) -> dict[str, Any]:
        answer = await self.call("GET", f"{self.stack.requests}/v1/requests/{request_id}")
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    async def reaches(self, request_id: str, state: str) -> dict[str, Any]:
        async def check() -> Any:
            body = await self.request(request_id)
            return body if body["state"] == state else None

        result: dict[str, Any] = await eventually(check, timeout=30, interval=0.2)
        return result


def states(records: list[Any], request_id: str) -> list[str]:
    payloads = [json.loads(r.value)["payload"] for r in records]
    return [p["state"] for p in payloads if p["request_id"] == request_id]


async def test_full_payment_is_validated_at_once_with_the_quote_just_simulated(stack: RunningStack) -> None:
    employer = Employer(stack, "demo.affilie.006", "1000105")
    request_id = await employer.draft("FULL")
    simulated = await employer.simulate("FULL")
    assert simulated.status_code == 201, simulated.text
    quote = simulated.json()

    validated = await employer.validate(request_id, quote["quote_id"])  # at once: no waiting for the event

    assert validated.status_code == 200, validated.text
    body = validated.json()
    assert body["state"] == "VALIDATED"
    assert body["quote"]["to_pay"] == quote["to_pay"]
    assert Decimal(quote["to_pay"]) + Decimal(quote["remise"]["total"]) == sum(
        Decimal(v) for v in quote["eligible"].values()
    )
    [debit] = body["schedule"]
    assert debit["kind"] == "FULL" and debit["amount"] == quote["to_pay"]
    v = date.fromisoformat(body["validation_date"])
    assert date.fromisoformat(debit["due_date"]) == (v.replace(day=1) + timedelta(days=32)).replace(day=10)
    assert [h["to_state"] for h in body["history"]] == ["DRAFT", "DRAFT", "DRAFT", "VALIDATED"]
    records = await read_topic(
        stack.bootstrap, REQUESTS_EVENTS.name, lambda r: "VALIDATED" in states(r, request_id), key="1000105"
    )
    assert states(records, request_id) == ["DRAFT", "VALIDATED"]


async def test_installments_go_through_the_perception_in_one_trace(stack: RunningStack, otlp: OtlpReceiver) -> None:
    employer = Employer(stack, "demo.affilie.018", "1000117")
    request_id = await employer.draft("INSTALLMENTS")
    quote = await employer.installment_quote()
    trace_id = uuid.uuid4().hex
    traceparent = f"00-{trace_id}-{uuid.uuid4().hex[:16]}-01"

    waiting = await employer.validate(request_id, quote["quote_id"], headers={"traceparent": traceparent})

    assert waiting.status_code == 200, waiting.text
    assert waiting.json()["state"] == "AWAITING_GUARANTEE"
    body = await employer.reaches(request_id, "VALIDATED")  # the reference perception deposits
    [profile] = [a for a in generate(20, 2024).export.affiliates if a.numero == "1000117"]
    assert body["guarantee"]["perception"] == profile.perception.code  # auth's profile, through requests
    assert sum(Decimal(d["amount"]) for d in body["schedule"]) == Decimal(quote["to_pay"])
    assert all(date.fromisoformat(d["collection_date"]).weekday() < 5 for d in body["schedule"])
    assert [h["event"] for h in body["history"]][-3:] == [
        "awaiting_guarantee",
        "guarantee_request_received",  # the office acknowledged, then answered
        "guarantee_deposited",
    ]

    def hops() -> set[tuple[str, str]]:
        return {(s.service, s.name) for s in otlp.trace(trace_id)}

    async def whole_trace() -> bool:
        names = hops()
        return (
            any(service == "requests" and "validation" in name for service, name in names)
            and any(service == "perception" and "requests.guarantees." in name for service, name in names)
            and any(service == "requests" and PERCEPTION_GUARANTEES.name in name for service, name in names)
            and ("requests", f"{REQUESTS_EVENTS.name} publish") in names
        )

    await eventually(whole_trace, timeout=20)
    # the SQL of the validation and of the deposit is in the same trace
    assert (
        sum(s.service == "requests" and s.attributes.get("db.system") == "postgresql" for s in otlp.trace(trace_id))
        >= 4
    )


async def test_a_refused_guarantee_rejects_and_an_ignored_one_expires_when_time_moves(stack: RunningStack) -> None:
    refused = Employer(stack, "demo.affilie.012", REFUSED_BY_PERCEPTION)
    ignored = Employer(stack, "demo.affilie.016", IGNORED_BY_PERCEPTION)
    refused_id, ignored_id = await refused.draft("INSTALLMENTS"), await ignored.draft("INSTALLMENTS")
    for employer, request_id in ((refused, refused_id), (ignored, ignored_id)):
        quote = await employer.installment_quote()
        answer = await employer.validate(request_id, quote["quote_id"])
        assert answer.json()["state"] == "AWAITING_GUARANTEE", answer.text

    rejected = await refused.reaches(refused_id, "REJECTED")
    assert rejected["history"][-1]["actor"]["kind"] == "perception"
    waiting = await ignored.request(ignored_id)
    assert waiting["state"] == "AWAITING_GUARANTEE"

    deadline = date.fromisoformat(waiting["guarantee_deadline"])
    pg = stack.env.get("DATABASE_URL") or f"postgresql://postgres@127.0.0.1:{stack.env['RECOUVREMENT_PG_PORT']}"
    env = stack.env | {"DATABASE_URL": database_url(pg, "requests")}
    on_deadline = subprocess.run(
        [sys.executable, "-m", "services.cli", "requests", "sweep", "--date", deadline.isoformat()],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert (await ignored.request(ignored_id))["state"] == "AWAITING_GUARANTEE", on_deadline.stdout
    after = subprocess.run(
        [
            sys.executable,
            "-m",
            "services.cli",
            "requests",
            "sweep",
            "--date",
            (deadline + timedelta(days=1)).isoformat(),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "1 demandes expirées" in after.stdout
    expired = await ignored.request(ignored_id)
    assert expired["state"] == "EXPIRED"

    async def told() -> bool:
        """On the topic of the affiliate's office, whichever of the registry's it is (issue 16)."""
        for topic in GUARANTEE_REQUESTS:
            records = await read_to_end(stack.bootstrap, topic.name, key=IGNORED_BY_PERCEPTION)
            if any(b"guarantee_deadline_passed" in r.value and ignored_id.encode() in r.value for r in records):
                return True
        return False

    await eventually(told, timeout=30, interval=0.5)


async def test_withdrawal_and_the_reasons_to_refuse_a_new_request(stack: RunningStack) -> None:
    employer = Employer(stack, "demo.affilie.009", "1000108")
    request_id = await employer.draft("FULL")
    withdrawn = await employer.call("POST", f"{stack.requests}/v1/requests/{request_id}/withdrawal")
    assert (withdrawn.status_code, withdrawn.json()["state"]) == (200, "CANCELLED")

    # two creations at the same moment: one request, one conflict naming it
    racing = Employer(stack, "demo.affilie.003", "1000102")
    await racing.eligible()
    answers = await asyncio.gather(
        *(racing.call("POST", f"{stack.requests}/v1/requests", {"affiliate": "1000102"}) for _ in range(2))
    )
    assert sorted(a.status_code for a in answers) == [201, 409]
    assert next(a for a in answers if a.status_code == 409).json()["code"] == "demande-en-cours"

    groupe = Employer(stack, "demo.groupe", "1000003")

    async def arrangement_known() -> Any:
        answer = await groupe.call("POST", f"{stack.requests}/v1/requests", {"affiliate": "1000003"})
        return answer if answer.json()["code"] == "arrangement-actif" else None

    arrangement = await eventually(arrangement_known, timeout=60, interval=0.5)
    assert arrangement.status_code == 409
    assert arrangement.headers["content-type"] == "application/problem+json"
    assert "Perception Fès Saïs" in arrangement.json()["title"]
    nothing = await groupe.call("POST", f"{stack.requests}/v1/requests", {"affiliate": "1000004"})
    assert (nothing.status_code, nothing.json()["code"]) == (409, "rien-a-remettre")
    not_mine = await groupe.call("POST", f"{stack.requests}/v1/requests", {"affiliate": "1000105"})
    assert (not_mine.status_code, not_mine.json()["code"]) == (404, "affilie-introuvable")
