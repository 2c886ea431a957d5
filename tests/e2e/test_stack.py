"""A newcomer's walk through the running system, over real HTTP and Kafka, services as processes."""

import asyncio
import json
import os
import socket
import time
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from opentelemetry import propagate
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind

from contracts.debt import ChargeBooked
from contracts.topics import AUTH_EVENTS, DEBT_LEDGER, DEBT_POSITIONS
from tests.e2e.conftest import RunningStack, start_stack, stop_stack
from tests.e2e.otlp_receiver import OtlpReceiver
from tests.support import eventually, header, publish, read_to_end, read_topic

pytestmark = pytest.mark.e2e

DEMO_PASSWORD = "Demo-2024!"
PENALTIES = ("majorations", "astreintes", "frais")


def login(stack: RunningStack, name: str, password: str = DEMO_PASSWORD) -> httpx.Response:
    return httpx.post(f"{stack.auth}/v1/sessions", json={"login": name, "password": password}, timeout=10)


def debt_of(stack: RunningStack, token: str, affiliate: str) -> httpx.Response:
    return httpx.get(
        f"{stack.debt}/v1/affiliates/{affiliate}/debt", headers={"authorization": f"Bearer {token}"}, timeout=10
    )


async def settled_debt(stack: RunningStack, token: str, affiliate: str) -> dict[str, Any]:
    """The demo ledger flows in through Kafka after start, in several versions of each position (the
    first can hold no period: the affiliate's registration can reach debt before its ledger). Waits
    for a position with periods whose version holds for a second: the stack, ready in 10 s rather
    than 20 since its processes are forked, had this test read a first, empty version."""

    async def check() -> dict[str, Any] | None:
        first: dict[str, Any] = debt_of(stack, token, affiliate).json()
        if not (first["version"] > 0 and first["periods"]):
            return None
        await asyncio.sleep(1)
        again: dict[str, Any] = debt_of(stack, token, affiliate).json()
        return again if again["version"] == first["version"] else None

    result: dict[str, Any] = await eventually(check, timeout=60)
    return result


def eligible_penalties(body: dict[str, Any]) -> Decimal:
    return sum((Decimal(body["totals"]["eligible"][c]) for c in PENALTIES), Decimal(0))


async def test_demo_simple_sees_one_affiliate_with_something_to_remit(stack: RunningStack) -> None:
    session = login(stack, "demo.simple")
    assert session.status_code == 201, session.text
    [affiliate] = session.json()["affiliates"]
    body = await settled_debt(stack, session.json()["access_token"], affiliate["numero"])
    assert eligible_penalties(body) > 0
    assert body["arrangement"] is None
    assert all(p["eligible"] == (p["period"] <= "2024-12") for p in body["periods"])
    for period in body["periods"]:
        for category in ("principal", *PENALTIES):
            line = period[category]
            assert Decimal(line["due"]) - Decimal(line["paid"]) == Decimal(line["outstanding"])


async def test_demo_groupe_holds_the_three_situations(stack: RunningStack) -> None:
    session = login(stack, "demo.groupe")
    assert session.status_code == 201, session.text
    token = session.json()["access_token"]
    affiliates = session.json()["affiliates"]
    assert len(affiliates) >= 3
    assert all(a["raison_sociale"] and a["perception"]["name"] for a in affiliates)
    mine = httpx.get(f"{stack.auth}/v1/me/affiliates", headers={"authorization": f"Bearer {token}"}, timeout=10)
    assert [a["numero"] for a in mine.json()["affiliates"]] == [a["numero"] for a in affiliates]

    bodies = [await settled_debt(stack, token, a["numero"]) for a in affiliates]
    with_arrangement = [b for b in bodies if b["arrangement"] is not None]
    to_remit = [b for b in bodies if b["arrangement"] is None and eligible_penalties(b) > 0]
    nothing = [b for b in bodies if b["arrangement"] is None and eligible_penalties(b) == 0]
    assert with_arrangement and to_remit and nothing
    assert with_arrangement[0]["arrangement"]["perception"]["name"].startswith("Perception")


async def test_a_token_only_opens_its_own_affiliates(stack: RunningStack) -> None:
    simple = login(stack, "demo.simple").json()
    groupe = login(stack, "demo.groupe").json()
    other = groupe["affiliates"][0]["numero"]
    denied = debt_of(stack, simple["access_token"], other)
    assert denied.status_code == 404
    assert denied.headers["content-type"] == "application/problem+json"
    assert debt_of(stack, "nope", other).status_code == 401


async def test_every_login_is_an_event_on_auth_events(stack: RunningStack) -> None:
    """Counted: demo.simple logs in across the session, so "one such event exists" held before this
    login (the aesthetics review's "satisfied by any earlier login"); this one adds exactly one."""

    def succeeded(records: list[Any]) -> list[dict[str, Any]]:
        events = [json.loads(r.value) for r in records]
        return [e for e in events if e["type"] == "auth.login_succeeded"]

    before = len(succeeded(await read_to_end(stack.bootstrap, AUTH_EVENTS.name, key="demo.simple")))
    session = login(stack, "demo.simple").json()
    records = await read_topic(
        stack.bootstrap, AUTH_EVENTS.name, lambda rs: len(succeeded(rs)) > before, key="demo.simple"
    )
    assert len(succeeded(records)) == before + 1
    assert succeeded(records)[-1]["payload"]["login"] == "demo.simple"
    assert session["access_token"] and all(DEMO_PASSWORD.encode() not in r.value for r in records)


async def test_one_trace_covers_the_ledger_publish_the_consume_the_sql_and_the_position_event(
    stack: RunningStack, otlp: OtlpReceiver
) -> None:
    simple = login(stack, "demo.simple").json()
    affiliate = simple["affiliates"][0]["numero"]
    before = (await settled_debt(stack, simple["access_token"], affiliate))["version"]

    provider = TracerProvider(resource=Resource.create({"service.name": "cnss-core-test"}))
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"{otlp.endpoint}/v1/traces")))
    entry = ChargeBooked.build(
        {
            "entry_id": f"TRACE-{uuid.uuid4().hex[:10]}",
            "affiliate": affiliate,
            "period": "2020-02",
            "category": "frais",
            "amount": "12.34",
            "booked_on": date(2026, 11, 2),
        },
        producer="cnss-core-test",
        occurred_at=datetime.now(UTC),
    )
    with provider.get_tracer("test").start_as_current_span(
        f"{DEBT_LEDGER.name} publish", kind=SpanKind.PRODUCER
    ) as span:
        trace_id = f"{span.get_span_context().trace_id:032x}"
        carrier: dict[str, str] = {}
        propagate.inject(carrier)
        await publish(
            stack.bootstrap, DEBT_LEDGER.name, [(affiliate, entry)], [(k, v.encode()) for k, v in carrier.items()]
        )
    provider.shutdown()

    async def position_changed() -> bool:
        return bool(debt_of(stack, simple["access_token"], affiliate).json()["version"] > before)

    await eventually(position_changed, timeout=30)
    records = await read_topic(
        stack.bootstrap,
        DEBT_POSITIONS.name,
        lambda rs: any((header(r, "traceparent") or "").split("-")[1:2] == [trace_id] for r in rs),
        key=affiliate,
    )
    assert records

    def complete() -> bool:
        spans = otlp.trace(trace_id)
        names = {(s.service, s.name) for s in spans}
        return (
            ("cnss-core-test", f"{DEBT_LEDGER.name} publish") in names
            and ("debt", f"{DEBT_LEDGER.name} apply batch") in names
            and ("debt", f"{DEBT_POSITIONS.name} publish") in names
            and any(s.service == "debt" and s.attributes.get("db.system") == "postgresql" for s in spans)
        )

    async def check() -> bool:
        return complete()

    await eventually(check, timeout=20)
    spans = otlp.trace(trace_id)
    sql = [s for s in spans if s.attributes.get("db.system") == "postgresql"]
    assert any("INSERT INTO ledger_entry" in s.attributes.get("db.statement", "") for s in sql)
    # The debt spans hang together: the batch span's parent is the publisher's span.
    [publish_span] = [s for s in spans if s.service == "cnss-core-test"]
    [batch_span] = [s for s in spans if s.name == f"{DEBT_LEDGER.name} apply batch"]
    assert batch_span.parent_span_id == publish_span.span_id


async def test_ctrl_c_stops_everything_and_a_second_run_keeps_the_data(stack: RunningStack, otlp: OtlpReceiver) -> None:
    simple = login(stack, "demo.simple").json()
    affiliate = simple["affiliates"][0]["numero"]
    before = await settled_debt(stack, simple["access_token"], affiliate)

    assert stop_stack(stack.process) == 0
    for url in stack.urls.values():
        port = int(url.rsplit(":", 1)[1])
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", port)) != 0, f"{url} still answers after Ctrl-C"

    started = time.monotonic()
    process, output = start_stack(stack.env)
    stack.process = process
    elapsed = time.monotonic() - started
    assert not any("données de démo chargées" in line for line in output), "seeded twice"
    again = login(stack, "demo.simple").json()
    after = debt_of(stack, again["access_token"], affiliate).json()
    assert after["version"] == before["version"]
    assert after["totals"] == before["totals"]
    # The memory-only broker forgot everything; debt re-announced its positions for other services.
    await read_topic(stack.bootstrap, DEBT_POSITIONS.name, lambda rs: len(rs) >= 1, key=affiliate)
    print(f"second `recouvrement run` ready in {elapsed:.1f}s")
    assert os.path.exists(stack.data_dir / "postgres" / "PG_VERSION")
