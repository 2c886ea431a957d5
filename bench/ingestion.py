"""Ledger ingestion: the real debt service (its own process) against a bare aiokafka + COPY consumer.

Everything is published to ``debt.ledger.v1`` BEFORE either consumer starts, so consumption is what is
measured, not the producer. Both consumers run as separate processes with the same fetch settings and
batch size, each into a fresh database; the same external poller watches both (committed offsets every
100 ms), and both start their clock at the first applied row (``min(ledger_entry.applied_at)``), so
the consumer-group join is left out of the headline rate (it is reported apart, as "from ready").

The service's work includes what it owes downstream: each batch writes every touched affiliate's whole
position to its outbox and the relay publishes them; the service is done when the last offset is
committed AND its outbox is empty.

    BENCH_SCALE=0.05 python -m bench.ingestion
"""

import asyncio
import json
import time
import uuid
from dataclasses import asdict, dataclass
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from bench.common import (
    GroupProgress,
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
from bench.ledger_data import ORDERS, Ledger, Order, generate, verify_sample
from contracts.topics import DEBT_LEDGER
from services.debt.config import DebtSettings
from services.runtime.tokens import generate_keypair
from services.stack.embedded import free_port

NAME = "ingestion"
FULL_ENTRIES = 1_000_000
FULL_AFFILIATES = 50_000
SECONDARY_SHARE = 0.2  # the other publication order runs on a fifth of the volume
BATCH = int(DebtSettings.model_fields["ledger_batch_size"].default)
POLL_S = 0.1
AIM = 0.30


@dataclass
class Run:
    who: str
    entries: int
    seconds: float
    """first applied row -> done (offsets committed, and outbox drained for the service)"""
    seconds_from_ready: float
    ready_to_first_row: float
    apply_seconds: float
    """first applied row -> last offset committed (for the service, before the outbox is drained)"""
    rows: int
    extra: dict[str, Any]

    @property
    def rate(self) -> float:
        return self.entries / self.seconds if self.seconds > 0 else float("nan")

    @property
    def rate_from_ready(self) -> float:
        return self.entries / self.seconds_from_ready if self.seconds_from_ready > 0 else float("nan")


async def publish(bootstrap: str, messages: list[tuple[bytes, bytes]]) -> tuple[dict[int, int], float]:
    """Publish in order, keyed by affiliate; returns each partition's end offset (from the acks)."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        linger_ms=5,
        max_batch_size=256 * 1024,
        max_request_size=4 * 1024 * 1024,
    )
    await producer.start()
    ends: dict[int, int] = {}
    started = time.monotonic()
    headers = [("content-type", b"application/json")]
    try:
        for chunk in range(0, len(messages), 20_000):
            futures = [
                await producer.send(DEBT_LEDGER.name, value=value, key=key, headers=headers)
                for key, value in messages[chunk : chunk + 20_000]
            ]
            for meta in await asyncio.gather(*futures):
                ends[meta.partition] = max(ends.get(meta.partition, 0), meta.offset + 1)
    finally:
        await producer.stop()
    return ends, time.monotonic() - started


async def beginnings(bootstrap: str, partitions: list[int]) -> dict[int, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        found = await consumer.beginning_offsets([TopicPartition(DEBT_LEDGER.name, p) for p in partitions])
        return {tp.partition: offset for tp, offset in found.items()}
    finally:
        await consumer.stop()


async def _count(dsn: str, sql: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval(sql))
    finally:
        await conn.close()


async def watch(
    bootstrap: str, group: str, targets: dict[int, int], dsn: str, *, outbox: bool, alive: Any, timeout: float, who: str
) -> dict[str, Any]:
    """Poll the group's committed offsets until every target is reached, then (service) the outbox until
    empty. Wall-clock times; peak outbox backlog sampled every second."""
    total = sum(targets.values())
    deadline = time.monotonic() + timeout
    peak_outbox = 0
    last_report = last_sample = time.monotonic()
    conn = await asyncpg.connect(dsn) if outbox else None
    try:
        async with GroupProgress(bootstrap, group, DEBT_LEDGER.name, sorted(targets)) as progress:
            while True:
                committed = await progress.committed()
                done = sum(min(committed.get(p, 0), end) for p, end in targets.items())
                if all(committed.get(p, 0) >= end for p, end in targets.items()):
                    consumed_at = time.time()
                    break
                now = time.monotonic()
                if alive() is not None:
                    raise RuntimeError(f"{who} exited before consuming everything ({done}/{total})")
                if now > deadline:
                    raise TimeoutError(f"{who}: {done}/{total} committed after {timeout:.0f}s")
                if conn is not None and now - last_sample >= 1:
                    peak_outbox = max(peak_outbox, int(await conn.fetchval("SELECT count(*) FROM outbox")))
                    last_sample = now
                if now - last_report >= 10:
                    say(f"  {who}: {done:,}/{total:,} offsets committed")
                    last_report = now
                await asyncio.sleep(POLL_S)
        drained_at = consumed_at
        if conn is not None:
            while (backlog := int(await conn.fetchval("SELECT count(*) FROM outbox"))) > 0:
                peak_outbox = max(peak_outbox, backlog)
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{who}: outbox still holds {backlog} events")
                await asyncio.sleep(POLL_S)
            drained_at = time.time()
    finally:
        if conn is not None:
            await conn.close()
    return {"consumed_at": consumed_at, "drained_at": drained_at, "peak_outbox": peak_outbox}


async def facts(dsn: str, service: bool) -> dict[str, Any]:
    conn = await asyncpg.connect(dsn)
    try:
        row = await conn.fetchrow(
            "SELECT count(*) AS n, extract(epoch FROM min(applied_at))::float8 AS first,"
            " extract(epoch FROM max(applied_at))::float8 AS last FROM ledger_entry"
        )
        out = {"rows": row["n"], "first": row["first"], "last": row["last"]}
        if service:
            out["period_balances"] = await conn.fetchval("SELECT count(*) FROM period_balance")
            out["affiliates"] = await conn.fetchval("SELECT count(*) FROM position")
            out["positions_published"] = await conn.fetchval("SELECT coalesce(sum(version), 0)::bigint FROM position")
            out["outbox_left"] = await conn.fetchval("SELECT count(*) FROM outbox")
            out["transactions"] = await conn.fetchval(
                "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
            )
        return out
    finally:
        await conn.close()


def _timeout(expected: int) -> float:
    return max(180.0, expected / 400)  # bounded: fails below 400 entries/s


def run_service(infra: Infra, targets: dict[int, int], expected: int, label: str) -> Run:
    dsn = asyncio.run(infra.new_database("bench_debt"))
    keys = infra.root / "keys"
    if not (keys / "signing.pub.pem").exists():
        generate_keypair(keys / "signing.pem", keys / "signing.pub.pem")
    port, group = free_port(), f"bench-debt-{uuid.uuid4().hex[:8]}"
    log = infra.root / f"debt-{label}.log"
    env = child_env(
        {
            "DATABASE_URL": dsn,
            "KAFKA_BOOTSTRAP_SERVERS": infra.bootstrap,
            "HTTP_PORT": str(port),
            "KAFKA_GROUP_ID": group,
            "TOKEN_PUBLIC_KEY_FILE": str(keys / "signing.pub.pem"),
            "LEDGER_BATCH_SIZE": str(BATCH),
        },
        drop=("OTEL_EXPORTER_OTLP_ENDPOINT", "REPUBLISH_POSITIONS_ON_START"),
    )
    profile = f"ingestion-{label.partition(':')[0]}"
    process = spawn(service_command("debt", profile), env, log)
    try:
        started = time.time()
        wait_http(port, "/health/ready", process, 90, log)
        ready = time.time()
        seen = asyncio.run(
            watch(
                infra.bootstrap,
                group,
                targets,
                dsn,
                outbox=True,
                alive=process.poll,
                timeout=_timeout(expected),
                who="debt service",
            )
        )
        found = asyncio.run(facts(dsn, service=True))
    finally:
        stop_process(process)
    report_profile(profile)
    return Run(
        who="debt service",
        entries=expected,
        seconds=seen["drained_at"] - found["first"],
        seconds_from_ready=seen["drained_at"] - ready,
        ready_to_first_row=found["first"] - ready,
        apply_seconds=seen["consumed_at"] - found["first"],
        rows=found["rows"],
        extra={
            "start_to_ready_s": round(ready - started, 2),
            "outbox_drain_after_last_commit_s": round(seen["drained_at"] - seen["consumed_at"], 2),
            "peak_outbox_backlog": seen["peak_outbox"],
            **{
                k: found[k]
                for k in ("period_balances", "affiliates", "positions_published", "outbox_left", "transactions")
            },
        },
    )


def run_baseline(infra: Infra, targets: dict[int, int], expected: int, label: str) -> Run:
    dsn = asyncio.run(infra.new_database("bench_base"))
    group = f"bench-base-{uuid.uuid4().hex[:8]}"
    log = infra.root / f"baseline-{label}.log"
    timeout = _timeout(expected)
    args = [
        "-m",
        "bench.baseline_consumer",
        infra.bootstrap,
        DEBT_LEDGER.name,
        group,
        dsn,
        str(expected),
        str(BATCH),
        str(timeout),
    ]
    process = spawn(args, child_env(), log)
    try:
        seen = asyncio.run(
            watch(
                infra.bootstrap, group, targets, dsn, outbox=False, alive=process.poll, timeout=timeout, who="baseline"
            )
        )
        found = asyncio.run(facts(dsn, service=False))
        process.wait(30)
    finally:
        stop_process(process)
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    ready = next(line["ready"] for line in lines if "ready" in line)
    batches = next((line["batches"] for line in lines if "batches" in line), None)
    return Run(
        who="baseline (aiokafka + json.loads + 1 COPY/batch)",
        entries=expected,
        seconds=seen["consumed_at"] - found["first"],
        seconds_from_ready=seen["consumed_at"] - ready,
        ready_to_first_row=found["first"] - ready,
        apply_seconds=seen["consumed_at"] - found["first"],
        rows=found["rows"],
        extra={"batches": batches},
    )


def scenario(infra: Infra, ledger: Ledger, label: str) -> dict[str, Any]:
    say(f"[{label}] publishing {len(ledger.messages):,} entries for {ledger.affiliates:,} affiliates")
    say(f"[{label}] order: {ORDERS[ledger.order]}")
    targets, publish_s = asyncio.run(publish(infra.bootstrap, ledger.messages))
    starts = asyncio.run(beginnings(infra.bootstrap, sorted(targets)))
    expected = sum(targets.values()) - sum(starts.get(p, 0) for p in targets)
    rate = len(ledger.messages) / publish_s
    say(f"[{label}] published in {publish_s:.1f} s ({rate:,.0f}/s, not measured); {expected:,} in topic")
    service = run_service(infra, targets, expected, label)
    positions = service.extra["positions_published"]
    say(f"[{label}] debt service: {fmt(service.rate)} entries/s ({service.seconds:.1f} s), positions {positions:,}")
    baseline = run_baseline(infra, targets, expected, label)
    say(f"[{label}] baseline:     {fmt(baseline.rate)} entries/s ({baseline.seconds:.1f} s)")
    for run in (service, baseline):
        if run.rows != expected:
            say(f"WARNING [{label}] {run.who}: {run.rows:,} rows in ledger_entry, {expected:,} expected")
    return {
        "label": label,
        "order": ledger.order,
        "order_description": ORDERS[ledger.order],
        "entries": expected,
        "affiliates": ledger.affiliates,
        "periods": ledger.periods,
        "publish_s": round(publish_s, 2),
        "service": asdict(service) | {"rate": service.rate, "rate_from_ready": service.rate_from_ready},
        "baseline": asdict(baseline) | {"rate": baseline.rate, "rate_from_ready": baseline.rate_from_ready},
        "ratio": ratio(service.rate, baseline.rate),
        "ratio_from_ready": ratio(service.rate_from_ready, baseline.rate_from_ready),
    }


def main() -> dict[str, Any]:
    s = scale()
    entries, affiliates = max(2_000, round(FULL_ENTRIES * s)), max(100, round(FULL_AFFILIATES * s))
    plans: list[tuple[str, Order, int, int]] = [("main", "month", entries, affiliates)]
    plans.append(
        (
            "secondary",
            "affiliate",
            max(2_000, round(entries * SECONDARY_SHARE)),
            max(100, round(affiliates * SECONDARY_SHARE)),
        )
    )
    scenarios = []
    with infrastructure(NAME) as infra:
        for index, (label, order, n, a) in enumerate(plans):
            if index and not infra.embedded_broker:
                say(f"[{label}] skipped: an external broker cannot be emptied between scenarios")
                continue
            if index:
                infra.fresh_broker()
            started = time.monotonic()
            ledger = generate(n, a, order)
            checked = verify_sample(ledger)
            say(
                f"[{label}] generated {len(ledger.messages):,} messages in {time.monotonic() - started:.1f} s "
                f"(not measured); {checked} sampled messages validate against DEBT_LEDGER and re-serialize identically"
            )
            scenarios.append(scenario(infra, ledger, f"{label}: {order} order"))
            del ledger
    result = {
        "bench": NAME,
        "scale": s,
        "batch_size": BATCH,
        "machine": machine(),
        "aim_ratio": AIM,
        "scenarios": scenarios,
    }
    print_report(result)
    write_result(NAME, result)
    return result


def rows_for(result: dict[str, Any]) -> list[list[str]]:
    rows = []
    for sc in result["scenarios"]:
        srv, base = sc["service"], sc["baseline"]
        rows.append(
            [
                f"ingestion, {sc['order']} order",
                f"{sc['entries']:,} entries",
                f"{fmt(srv['rate'])} /s",
                f"{fmt(base['rate'])} /s",
                f"{sc['ratio']:.0%}",
                f"≥ {AIM:.0%}",
            ]
        )
    return rows


def print_report(result: dict[str, Any]) -> None:
    print()
    print(
        f"Ledger ingestion (BENCH_SCALE={result['scale']}, batch {result['batch_size']}, "
        f"{result['machine']['cpus']} CPUs, load {result['machine']['loadavg_1m_at_start']} at start)"
    )
    body = []
    for sc in result["scenarios"]:
        for key in ("service", "baseline"):
            r = sc[key]
            body.append(
                [
                    sc["order"],
                    r["who"],
                    f"{r['entries']:,}",
                    f"{r['seconds']:.1f}",
                    fmt(r["rate"]),
                    f"{r['seconds_from_ready']:.1f}",
                    fmt(r["rate_from_ready"]),
                    f"{r['ready_to_first_row']:.1f}",
                ]
            )
    print(
        table(
            [
                "order",
                "consumer",
                "entries",
                "s",
                "entries/s",
                "s from ready",
                "entries/s from ready",
                "ready→1st row s",
            ],
            body,
        )
    )
    for sc in result["scenarios"]:
        e = sc["service"]["extra"]
        print(
            f"  {sc['order']} order: {sc['affiliates']:,} affiliates, {sc['periods']:,} periods; service wrote "
            f"{e['positions_published']:,} position events (all published, outbox left {e['outbox_left']}), "
            f"peak outbox backlog {e['peak_outbox_backlog']:,}, outbox drained "
            f"{e['outbox_drain_after_last_commit_s']} s after the last commit; ratio {sc['ratio']:.1%} "
            f"(from ready {sc['ratio_from_ready']:.1%}), aim ≥ {AIM:.0%}"
        )
    print("  'entries/s' runs from the first applied row to done (service: last offset committed and outbox empty);")
    print("  'from ready' adds the time from /health/ready (service) or consumer start (baseline): group join etc.")


if __name__ == "__main__":
    main()
