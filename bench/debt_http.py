"""``GET /v1/affiliates/{n}/debt`` at saturation: the real debt service (``recouvrement serve debt``, one
uvicorn worker, its own process) against a bare FastAPI app served by the same uvicorn, answering a
constant body of the same bytes. Same load generator (its own process), same connections, same duration.

The affiliate has 140 periods (2015-01 to 2026-08), each with a principal, majorations, astreintes and
frais charge, and payments on many of them; its ledger is seeded THROUGH THE TOPIC (``debt.ledger.v1``,
consumed by the running service), then only the read is measured.

    BENCH_SCALE=0.05 python -m bench.debt_http
"""

import asyncio
import http.client
import json
import os
import random
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer

from bench.common import (
    Infra,
    child_env,
    fmt,
    infrastructure,
    machine,
    ratio,
    report_profile,
    say,
    scale,
    scaled,
    service_command,
    spawn,
    stop_process,
    table,
    wait_http,
    write_result,
)
from contracts.debt import ChargeBooked, PaymentReceived
from contracts.topics import DEBT_LEDGER
from services.runtime.tokens import Principal, TokenIssuer, generate_keypair
from services.stack.embedded import free_port

NAME = "debt_http"
AFFILIATE = "1234567"
PERIODS = 140
FIRST_MONTH = 2015 * 12  # 2015-01
CONNECTIONS = int(os.environ.get("BENCH_HTTP_CONNECTIONS", "16"))
AIM = 0.40


def _period(month: int) -> str:
    return f"{month // 12:04d}-{month % 12 + 1:02d}"


def ledger(seed: int = 140) -> list[ChargeBooked | PaymentReceived]:
    """Four charges per period; principal paid on most old periods, some penalties partly paid."""
    rng = random.Random(seed)
    now = datetime(2026, 10, 1, 9, tzinfo=UTC)
    out: list[ChargeBooked | PaymentReceived] = []
    for index in range(PERIODS):
        month = FIRST_MONTH + index
        period = _period(month)
        booked = date((month + 1) // 12, (month + 1) % 12 + 1, 1)
        principal = rng.randint(200_000, 4_000_000)
        amounts = {
            "principal": principal,
            "majorations": principal * rng.randint(3, 25) // 100,
            "astreintes": rng.choice((50_000, 100_000, 150_000)),
            "frais": principal * 5 // 100,
        }
        for category, centimes in amounts.items():
            payload = {
                "entry_id": f"H:{AFFILIATE}:{period}:{category}",
                "affiliate": AFFILIATE,
                "period": period,
                "category": category,
                "amount": f"{centimes / 100:.2f}",
                "booked_on": booked,
            }
            out.append(ChargeBooked.build(payload, producer="bench", occurred_at=now))
        if index % 3 != 2:  # two periods in three: principal paid, sometimes a part of the majorations
            paid = {"principal": principal} | ({"majorations": amounts["majorations"] // 2} if index % 2 else {})
            for category, centimes in paid.items():
                payload = {
                    "entry_id": f"P:{AFFILIATE}:{period}:{category}",
                    "affiliate": AFFILIATE,
                    "period": period,
                    "category": category,
                    "amount": f"{centimes / 100:.2f}",
                    "received_on": booked + timedelta(days=40),
                }
                out.append(PaymentReceived.build(payload, producer="bench", occurred_at=now))
    return out


async def seed(bootstrap: str, dsn: str, entries: list[ChargeBooked | PaymentReceived], timeout: float = 60) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await producer.start()
    try:
        for entry in entries:
            await producer.send(DEBT_LEDGER.name, value=entry.model_dump_json().encode(), key=AFFILIATE.encode())
        await producer.flush()
    finally:
        await producer.stop()
    conn = await asyncpg.connect(dsn)
    try:
        deadline = time.monotonic() + timeout
        while await conn.fetchval("SELECT count(*) FROM ledger_entry WHERE affiliate = $1", AFFILIATE) < len(entries):
            if time.monotonic() > deadline:
                raise TimeoutError("the service did not apply the seeded ledger")
            await asyncio.sleep(0.1)
    finally:
        await conn.close()


def get(port: int, path: str, headers: dict[str, str]) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def load(infra: Infra, port: int, path: str, headers: list[str], label: str) -> dict[str, Any]:
    warmup, duration = scaled(2, 1), scaled(10, 3)
    log = infra.root / f"loadgen-{label}.log"
    args = ["-m", "bench.loadgen", str(port), path, str(CONNECTIONS), str(warmup), str(duration), *headers]
    process = spawn(args, child_env(), log)
    try:
        process.wait(warmup + duration + 60)
    finally:
        stop_process(process)
    lines = [line for line in log.read_text().splitlines() if line.startswith("{")]
    if process.returncode != 0 or not lines:
        raise RuntimeError(f"load generator failed:\n{log.read_text()[-3000:]}")
    result: dict[str, Any] = json.loads(lines[-1])
    if set(result["statuses"]) != {"200"}:
        raise RuntimeError(f"{label}: non-200 answers {result['statuses']}")
    say(
        f"  {label}: {fmt(result['rps'])} req/s, p50 {result['p50_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms "
        f"({result['requests']:,} requests in {duration:.0f} s, {CONNECTIONS} connections)"
    )
    return result


def main() -> dict[str, Any]:
    with infrastructure(NAME) as infra:
        keys = infra.root / "keys"
        generate_keypair(keys / "signing.pem", keys / "signing.pub.pem")
        issuer = TokenIssuer(
            (keys / "signing.pem").read_bytes(),
            issuer="espace-recouvrement/auth",
            audience="espace-recouvrement",
            ttl=timedelta(hours=2),
        )
        token, _ = issuer.issue(Principal(str(uuid.uuid4()), "bench", frozenset({AFFILIATE})), datetime.now(UTC))
        path = f"/v1/affiliates/{AFFILIATE}/debt"
        dsn = asyncio.run(infra.new_database("bench_debt"))
        port = free_port()
        env = child_env(
            {
                "DATABASE_URL": dsn,
                "KAFKA_BOOTSTRAP_SERVERS": infra.bootstrap,
                "HTTP_PORT": str(port),
                "KAFKA_GROUP_ID": f"bench-debt-{uuid.uuid4().hex[:8]}",
                "TOKEN_PUBLIC_KEY_FILE": str(keys / "signing.pub.pem"),
            },
            drop=("OTEL_EXPORTER_OTLP_ENDPOINT", "REPUBLISH_POSITIONS_ON_START"),
        )
        service_log = infra.root / "debt.log"
        service = spawn(service_command("debt", "debt_http-service"), env, service_log)
        try:
            wait_http(port, "/health/ready", service, 90, service_log)
            entries = ledger()
            asyncio.run(seed(infra.bootstrap, dsn, entries))
            status, body = get(port, path, {"authorization": f"Bearer {token}"})
            document = json.loads(body)
            if status != 200 or len(document["periods"]) != PERIODS:
                raise RuntimeError(f"unexpected answer {status}: {body[:300]!r}")
            say(
                f"seeded {len(entries)} ledger entries through {DEBT_LEDGER.name}; the answer has "
                f"{len(document['periods'])} periods, {len(body):,} bytes"
            )
            measured = load(infra, port, path, [f"Authorization: Bearer {token}"], "debt service")
        finally:
            stop_process(service)
        report_profile("debt_http-service")
        floor = _floor(infra, dsn, path, body, token)
        body_file = infra.root / "body.json"
        body_file.write_bytes(body)
        bare_port = free_port()
        bare_log = infra.root / "bare.log"
        bare = spawn(
            ["-m", "bench.bare_app", "constant"],
            child_env({"HTTP_PORT": str(bare_port), "BENCH_BODY_FILE": str(body_file)}),
            bare_log,
        )
        try:
            wait_http(bare_port, "/health/live", bare, 30, bare_log)
            status, bare_body = get(bare_port, path, {})
            if status != 200 or len(bare_body) != len(body):
                raise RuntimeError(f"baseline answers {status} with {len(bare_body)} bytes, not {len(body)}")
            baseline = load(infra, bare_port, path, [f"Authorization: Bearer {token}"], "bare FastAPI, constant body")
        finally:
            stop_process(bare)
    result = {
        "bench": NAME,
        "scale": scale(),
        "machine": machine(),
        "seeding": f"through the topic {DEBT_LEDGER.name}, applied by the running service",
        "periods": PERIODS,
        "ledger_entries": len(entries),
        "body_bytes": len(body),
        "connections": CONNECTIONS,
        "service": measured,
        "baseline": baseline,
        "floor": floor,
        "ratio": ratio(measured["rps"], baseline["rps"]),
        "floor_ratio": ratio(floor["rps"], baseline["rps"]),
        "aim_ratio": AIM,
    }
    print_report(result)
    write_result(NAME, result)
    return result


def _floor(infra: Infra, dsn: str, path: str, body: bytes, token: str) -> dict[str, Any]:
    """The same read with nothing of the platform around it (``bench.bare_app stored``): the stored
    view through a plain asyncpg pool. The distance between the service and this floor is what the
    platform adds (token, paging, spans, middleware, metrics); the floor's own distance to the
    constant body is the round trip to Postgres."""
    port = free_port()
    log = infra.root / "stored.log"
    process = spawn(["-m", "bench.bare_app", "stored"], child_env({"HTTP_PORT": str(port), "BENCH_DSN": dsn}), log)
    try:
        wait_http(port, "/health/live", process, 30, log)
        status, answered = get(port, path, {})
        if status != 200 or answered != body:
            raise RuntimeError(f"the floor answers {status} with {len(answered)} bytes, not the service's {len(body)}")
        return load(infra, port, path, [f"Authorization: Bearer {token}"], "floor: bare FastAPI + one asyncpg read")
    finally:
        stop_process(process)


def rows_for(result: dict[str, Any]) -> list[list[str]]:
    return [
        [
            "GET debt (140 periods)",
            f"p99 {result['service']['p99_ms']:.1f} / {result['baseline']['p99_ms']:.1f} ms",
            f"{fmt(result['service']['rps'])} req/s",
            f"{fmt(result['baseline']['rps'])} req/s",
            f"{result['ratio']:.0%}",
            f"≥ {AIM:.0%}",
        ]
    ]


def print_report(result: dict[str, Any]) -> None:
    print()
    print(
        f"GET /v1/affiliates/{{n}}/debt, {result['periods']} periods, {result['body_bytes']:,}-byte answer, "
        f"{result['connections']} keep-alive connections, one uvicorn worker (BENCH_SCALE={result['scale']})"
    )
    rows = []
    servers = (
        ("service", "debt service (recouvrement serve debt)"),
        ("floor", "floor: bare FastAPI + one asyncpg read"),
        ("baseline", "bare FastAPI, same bytes"),
    )
    for key, who in servers:
        if key not in result:  # a result written before the floor was measured
            continue
        r = result[key]
        rows.append(
            [who, f"{r['requests']:,}", fmt(r["rps"]), f"{r['p50_ms']:.1f}", f"{r['p90_ms']:.1f}", f"{r['p99_ms']:.1f}"]
        )
    print(table(["server", "requests", "req/s", "p50 ms", "p90 ms", "p99 ms"], rows))
    print(f"  throughput ratio {result['ratio']:.1%} (aim ≥ {AIM:.0%}); seeding: {result['seeding']}")
    if "floor" in result:
        print(
            f"  the floor (the stored view read through a plain pool, nothing else) is {result['floor_ratio']:.1%} "
            f"of the bare app: the service is {ratio(result['service']['rps'], result['floor']['rps']):.1%} of it"
        )


if __name__ == "__main__":
    main()
