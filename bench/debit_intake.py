"""debits' intake of VALIDATED events: 100,000 plans (an advance and 24 installments each) published on
``requests.events.v1`` as requests announces them, applied by the debits service (its own process:
the consumer, a savepoint and an inbox claim per event, the plan, its 25 debits and their history, one
``debits.plan_scheduled`` to the outbox, the relay).

The question is whether the rate holds as plans accumulate (issue 14: "4,430 plans in 120 s, slowing
as it goes"): the plans applied are counted every second, and the rate is given per tenth of the run,
first and last side by side. Baseline, same run: a bare aiokafka consumer (the services' fetch
settings) reading the same events from the beginning and parsing each with ``json.loads``, the floor
of reading them.

    BENCH_SCALE=0.1 python -m bench.debit_intake       # 10,000 plans
"""

import asyncio
import json
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

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
    service_command,
    spawn,
    stop_process,
    table,
    wait_http,
    write_result,
)
from contracts.requests import RequestStateChanged
from contracts.topics import REQUESTS_EVENTS
from services.debits.entrypoints.operations import import_bank_accounts
from services.runtime.tokens import generate_keypair
from services.stack.embedded import free_port

NAME = "debit_intake"
FULL_PLANS = 100_000
MINIMUM = 1_000
AIM = 500.0
"""plans per second, sustained to the last tenth"""
SLICES = 10
NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
V = date(2026, 11, 28)
RIB = "007780000123456789123461"  # bank 007


def _schedule() -> list[dict[str, Any]]:
    """An advance and 24 monthly installments, dated from V as requests sends them."""
    items = [{"sequence": 1, "kind": "ADVANCE", "due_date": date(2026, 12, 10), "amount": "4150.00"}]
    for k in range(1, 25):
        month = 12 + k
        due = date(2026 + (month - 1) // 12, (month - 1) % 12 + 1, 10)
        items.append({"sequence": k + 1, "kind": "INSTALLMENT", "due_date": due, "amount": "500.00"})
    return [item | {"collection_date": item["due_date"]} for item in items]


def validated(affiliate: str, account_id: str) -> RequestStateChanged:
    schedule = _schedule()
    total = sum(Decimal(s["amount"]) for s in schedule)
    quote = {
        "quote_id": uuid.uuid4(),
        "affiliate": affiliate,
        "debt_version": 1,
        "issued_at": NOW,
        "expires_at": NOW + timedelta(minutes=30),
        "programme": "DEC-05-2023",
        "modality": "INSTALLMENTS",
        "tier": "INSTALLMENTS_1_24",
        "rates": {"majorations": "0.50", "frais": "0.50", "astreintes": "0.80"},
        "advance": "4150.00",
        "installments": 24,
        "eligible_periods": ["2023-05"],
        "eligible": {"principal": "16000.00", "majorations": "300.00", "frais": "0.00", "astreintes": "0.00"},
        "remise": {
            "principal": "0.00",
            "majorations": "150.00",
            "frais": "0.00",
            "astreintes": "0.00",
            "total": "150.00",
        },
        "to_pay": f"{total:.2f}",
        "validation_date": V,
        "schedule": schedule,
    }
    return RequestStateChanged.build(
        {  # type: ignore[arg-type]  # validated into the payload, as the tests' builders do
            "request_id": uuid.uuid4(),
            "affiliate": affiliate,
            "programme": "DEC-05-2023",
            "state": "VALIDATED",
            "previous_state": "AWAITING_GUARANTEE",
            "at": NOW,
            "actor": {"kind": "perception", "id": "PERC-01"},
            "reason": "garanties déposées",
            "modality": "INSTALLMENTS",
            "plan": {
                "quote": quote,
                "bank_account_id": account_id,
                "cg_version": "CG-2023-1",
                "validation_date": V,
                "schedule": schedule,
            },
        },
        producer="requests",
        occurred_at=NOW,
    )


def _affiliate(index: int) -> str:
    return f"{7_000_000 + index:07d}"


async def seed(dsn: str, bootstrap: str, plans: int) -> dict[str, Any]:
    """Each affiliate's account (debits' import, as Damancom's: it migrates the database first), then
    one VALIDATED event each."""
    accounts = [
        {"affiliate": _affiliate(i), "rib": RIB, "bank_name": "Banque", "holder": "Titulaire", "id": f"c-{i}"}
        for i in range(plans)
    ]
    await import_bank_accounts(dsn, accounts)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5, max_batch_size=256 * 1024)
    await producer.start()
    started = time.monotonic()
    size = 0
    headers = [("content-type", b"application/json")]
    try:
        for chunk in range(0, plans, 5_000):
            futures = []
            for i in range(chunk, min(plans, chunk + 5_000)):
                value = validated(_affiliate(i), f"c-{i}").model_dump_json().encode()
                size = len(value)
                key = _affiliate(i).encode()
                futures.append(await producer.send(REQUESTS_EVENTS.name, value=value, key=key, headers=headers))
            await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return {"seconds": time.monotonic() - started, "bytes": size}


async def watch(dsn: str, process: Any, expected: int, timeout: float) -> dict[str, Any]:
    """The plans counted every second until all are there and the outbox is empty."""
    conn = await asyncpg.connect(dsn)
    samples: list[tuple[float, int]] = []
    deadline = time.monotonic() + timeout
    last_say = time.monotonic()
    try:
        while True:
            plans = int(await conn.fetchval("SELECT count(*) FROM plan"))
            samples.append((time.time(), plans))
            if plans >= expected and not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM outbox)"):
                break
            if process.poll() is not None:
                raise RuntimeError(f"debits exited with {process.returncode} after {plans:,} plans")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{plans:,} of {expected:,} plans after {timeout:.0f} s")
            if time.monotonic() - last_say >= 10:
                say(f"  {plans:,}/{expected:,} plans")
                last_say = time.monotonic()
            await asyncio.sleep(1)
        debits = int(await conn.fetchval("SELECT count(*) FROM debit"))
        first = await conn.fetchval("SELECT extract(epoch FROM min(created_at))::float8 FROM plan")
    finally:
        await conn.close()
    return {"samples": samples, "debits": debits, "first_plan": first, "done": samples[-1][0]}


def slices(samples: list[tuple[float, int]], expected: int, start: float) -> list[float]:
    """Plans per second over each tenth of the plans, from ``start`` (the first plan's creation);
    when a mark was crossed is interpolated between the two samples around it (one a second), so a
    tenth of a few seconds is not rounded to whole seconds."""

    def crossed(mark: int) -> float:
        previous = samples[0]
        for sample in samples:
            if sample[1] >= mark:
                (t0, n0), (t1, n1) = previous, sample
                return t1 if n1 == n0 else t0 + (t1 - t0) * (mark - n0) / (n1 - n0)
            previous = sample
        return samples[-1][0]

    marks = [expected * k // SLICES for k in range(SLICES + 1)]
    times = [crossed(mark) if mark else start for mark in marks]
    return [(marks[k + 1] - marks[k]) / max(times[k + 1] - times[k], 1e-9) for k in range(SLICES)]


async def baseline(bootstrap: str, expected: int) -> float:
    """A bare consumer from the beginning: seconds to read and ``json.loads`` every event."""
    consumer = AIOKafkaConsumer(
        REQUESTS_EVENTS.name,
        bootstrap_servers=bootstrap,
        group_id=f"bench-base-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        fetch_max_wait_ms=10,
    )
    await consumer.start()
    read = 0
    started = None
    try:
        while read < expected:
            fetched = await consumer.getmany(timeout_ms=100, max_records=500)
            for records in fetched.values():
                if started is None:
                    started = time.monotonic()
                for record in records:
                    json.loads(record.value)
                    read += 1
        await consumer.commit()
    finally:
        await consumer.stop()
    return time.monotonic() - (started or time.monotonic())


def run_service(infra: Infra, dsn: str, expected: int) -> dict[str, Any]:
    keys = infra.root / "keys"
    generate_keypair(keys / "signing.pem", keys / "signing.pub.pem")
    port = free_port()
    log = infra.root / "debits.log"
    env = child_env(
        {
            "DATABASE_URL": dsn,
            "KAFKA_BOOTSTRAP_SERVERS": infra.bootstrap,
            "HTTP_PORT": str(port),
            "KAFKA_GROUP_ID": f"bench-debits-{uuid.uuid4().hex[:8]}",
            "TOKEN_PUBLIC_KEY_FILE": str(keys / "signing.pub.pem"),
            "DEBIT_RUN_INTERVAL_SECONDS": "86400",
        },
        drop=("OTEL_EXPORTER_OTLP_ENDPOINT", "DATABASE_URL"),
    )
    process = spawn(service_command("debits", NAME), env, log)
    try:
        wait_http(port, "/health/ready", process, 90, log)
        seen = asyncio.run(watch(dsn, process, expected, timeout=max(600.0, expected / 50)))
    finally:
        stop_process(process, timeout=60)
    report_profile(NAME)
    return seen


def main() -> dict[str, Any]:
    plans = max(MINIMUM, round(FULL_PLANS * scale()))
    with infrastructure(NAME) as infra:
        dsn = asyncio.run(infra.new_database("bench_debits"))
        seeded = asyncio.run(seed(dsn, infra.bootstrap, plans))
        say(f"published {plans:,} VALIDATED events ({seeded['bytes']:,} bytes each) in {seeded['seconds']:.1f} s")
        seen = run_service(infra, dsn, plans)
        start = seen["first_plan"] or seen["samples"][0][0]
        rates = slices(seen["samples"], plans, start)
        seconds = seen["done"] - start
        rate = plans / seconds
        base_s = asyncio.run(baseline(infra.bootstrap, plans))
        base_rate = plans / base_s if base_s > 0 else float("nan")
        say(
            f"debits: {plans:,} plans ({seen['debits']:,} debits) in {seconds:.1f} s = {fmt(rate)} plans/s; "
            f"per tenth {', '.join(fmt(r) for r in rates)}; baseline {fmt(base_rate)} events/s"
        )
    result = {
        "bench": NAME,
        "scale": scale(),
        "machine": machine(),
        "plans": plans,
        "debits": seen["debits"],
        "seconds": seconds,
        "rate": rate,
        "per_tenth": rates,
        "first_tenth": rates[0],
        "last_tenth": rates[-1],
        "baseline_rate": base_rate,
        "ratio": ratio(rate, base_rate),
        "aim": AIM,
    }
    print_report(result)
    write_result(NAME, result)
    return result


def rows_for(result: dict[str, Any]) -> list[list[str]]:
    return [
        [
            "debits' intake of VALIDATED events",
            f"{result['plans']:,} plans × 25 debits; first / last tenth {fmt(result['first_tenth'])} / "
            f"{fmt(result['last_tenth'])} plans/s",
            f"{fmt(result['rate'])} plans/s",
            f"{fmt(result['baseline_rate'])} events/s (bare read)",
            f"{result['ratio']:.0%}",
            f"≥ {AIM:.0f} plans/s sustained",
        ]
    ]


def print_report(result: dict[str, Any]) -> None:
    print()
    print(f"debits' intake of VALIDATED events (BENCH_SCALE={result['scale']}, {result['machine']['cpus']} CPUs)")
    print(
        table(
            ["tenth", *[str(k + 1) for k in range(SLICES)]],
            [["plans/s", *[fmt(r) for r in result["per_tenth"]]]],
        )
    )
    print(
        f"  {result['plans']:,} plans in {result['seconds']:.1f} s = {fmt(result['rate'])} plans/s "
        f"(aim ≥ {AIM:.0f} sustained); last tenth / first {result['last_tenth'] / result['first_tenth']:.2f}; "
        f"bare read {fmt(result['baseline_rate'])} events/s, ratio {result['ratio']:.1%}"
    )


if __name__ == "__main__":
    main()
