"""A debit run of 1,000,000 due debits: the debits service's own scheduled run, through its outbox
and relay to the banks' topics, against a bare aiokafka producer sending as many messages of the
same size.

What is measured is the RUN, not the intake: the plans, their debits, the accounts and the debtors'
names are written straight into debits' tables with COPY (1M plans through ``requests.events.v1``
would take the bench's whole budget). Everything else is the service as deployed: the service
(its own process) starts with ``DEBIT_RUN_INTERVAL_SECONDS`` so its scheduled job runs at once for
today's business date; it orders every due debit page by page (``DEBIT_RUN_PAGE_SIZE``, default 500),
each page writing its orders and one ``DebitChanged`` per debit to the outbox, which the relay sends.

Rate: orders per second from the start of the run (the service answering ready, or its first order
if earlier) to the last order acknowledged by the broker (the relay deletes an outbox row only once
the broker acknowledged it: the outbox empty and no debit due). The bank topics are then read back
and each order checked against the debit seeded for it (``OrderCheck``): every due debit ordered
exactly once, on its own bank's topic, from its own account, for its own amount; the bench fails
otherwise. Peak memory: the service's VmHWM (and the highest
VmRSS sampled every 0.5 s) from ``/proc/<pid>/status``.

Banks: the 9 codes of ``contracts.banks.BANKS`` (the issue says 20; the registry, and the topic
catalogue built from it, are a contract: not extended here).

    BENCH_SCALE=0.02 python -m bench.debit_run
"""

import asyncio
import json
import os
import re
import time
import uuid
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from bench.common import (
    Infra,
    child_env,
    cpu_sample,
    cpu_used,
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
from contracts.banks import BANKS, orders_topic
from contracts.identifiers import rib_key
from services.debits.config import DebitsSettings
from services.debits.entrypoints.operations import MIGRATIONS
from services.runtime.clock import SystemClock, business_date
from services.runtime.db import migrate
from services.runtime.tokens import generate_keypair
from services.stack.embedded import free_port

NAME = "debit_run"
FULL_DEBITS = 1_000_000
MINIMUM = 20_000
PLANS_PER_AFFILIATE = 10
ISSUE_BANKS = 20
CODES = sorted(BANKS)
PAGE_SIZE = int(DebitsSettings.model_fields["debit_run_page_size"].default)
AIM = 0.25
CHUNK = 50_000
_E2E = re.compile(rb'"end_to_end_id":\s*"([A-Za-z0-9-]+)"')


# --- seeding (not measured) -------------------------------------------------------------------------


def _affiliate(index: int) -> str:
    return f"{1_000_000 + index:07d}"


def _rib(index: int) -> str:
    first = f"{CODES[index % len(CODES)]}780{index:016d}"
    return first + rib_key(first)


def _request_id(index: int) -> uuid.UUID:
    return uuid.UUID(int=(0xDEB17 << 96) | index, version=4)


def _amount(index: int) -> Decimal:
    return Decimal(1000 + index % 9000) + Decimal("0.25")


_INDEX_BITS = (1 << 48) - 1  # the version and variant bits a UUID sets lie above the seeded index


async def seed(dsn: str, debits: int, today: date) -> dict[str, Any]:
    """Accounts, names, plans and one due FULL debit per plan, by COPY, in debits' own schema."""
    started = time.monotonic()
    conn = await asyncpg.connect(dsn)
    try:
        await migrate(conn, MIGRATIONS)
        affiliates = max(1, debits // PLANS_PER_AFFILIATE)
        validated, collection = today - timedelta(days=40), today - timedelta(days=10)
        accounts = [
            (f"compte-{_affiliate(a)}", _affiliate(a), _rib(a), _rib(a)[:3], BANKS[_rib(a)[:3]], f"Titulaire {a}", None)
            for a in range(affiliates)
        ]
        await conn.execute("SET synchronous_commit = off")
        await conn.copy_records_to_table(
            "bank_accounts",
            records=[(*row[:6], _now()) for row in accounts],
            columns=["id", "affiliate", "rib", "bank_code", "bank_name", "holder", "registered_at"],
        )
        await conn.copy_records_to_table(
            "affiliate_profile",
            records=[(_affiliate(a), f"Entreprise {_affiliate(a)} SARL") for a in range(affiliates)],
            columns=["affiliate", "raison_sociale"],
        )
        created = _now()
        for start in range(0, debits, CHUNK):
            plans, rows = [], []
            for i in range(start, min(debits, start + CHUNK)):
                request_id = _request_id(i)
                account = accounts[i % affiliates]
                plans.append(
                    (
                        request_id,
                        account[1],
                        "DEC-05-2023",
                        "FULL",
                        account[0],
                        account[2],
                        account[3],
                        account[5],
                        f"MDT-{i:012d}",
                        validated,
                        1,
                        "ACTIVE",
                        created,
                    )
                )
                amount = _amount(i)
                rows.append((request_id, 1, "FULL", collection, collection, amount, "SCHEDULED", 0, collection))
            await conn.copy_records_to_table(
                "plan",
                records=plans,
                columns=[
                    "request_id",
                    "affiliate",
                    "programme",
                    "modality",
                    "bank_account_id",
                    "rib",
                    "bank_code",
                    "holder",
                    "mandate_id",
                    "mandate_signed_on",
                    "installments_total",
                    "state",
                    "created_at",
                ],
            )
            await conn.copy_records_to_table(
                "debit",
                records=rows,
                columns=[
                    "request_id",
                    "sequence",
                    "kind",
                    "due_date",
                    "collection_date",
                    "amount",
                    "state",
                    "attempts",
                    "next_attempt_on",
                ],
            )
        await conn.execute("ANALYZE")
        due = int(await conn.fetchval("SELECT count(*) FROM debit WHERE next_attempt_on <= $1", today))
        per_bank = dict(await conn.fetch("SELECT bank_code, count(*) FROM plan GROUP BY bank_code"))
    finally:
        await conn.close()
    return {"due": due, "affiliates": affiliates, "per_bank": per_bank, "seconds": time.monotonic() - started}


def _now() -> Any:
    return SystemClock().now()


# --- the run ----------------------------------------------------------------------------------------


def _memory(pid: int) -> dict[str, int]:
    """VmHWM and VmRSS of a process, in kB (empty once it is gone)."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return {}
    out = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key in ("VmHWM", "VmRSS"):
            out[key] = int(value.split()[0])
    return out


async def watch(dsn: str, process: Any, expected: int, timeout: float) -> dict[str, Any]:
    """Until no debit is due and the outbox is empty (every order acknowledged by the broker)."""
    conn = await asyncpg.connect(dsn)
    wal_start = await conn.fetchval("SELECT pg_current_wal_lsn()::text")
    peak_rss = peak_outbox = 0
    hwm = 0
    last_report = last_memory = time.monotonic()
    deadline = time.monotonic() + timeout
    try:
        while True:
            now = time.monotonic()
            if now - last_memory >= 0.5:
                memory = _memory(process.pid)
                peak_rss, hwm = max(peak_rss, memory.get("VmRSS", 0)), max(hwm, memory.get("VmHWM", 0))
                last_memory = now
            due = await conn.fetchval("SELECT EXISTS (SELECT 1 FROM debit WHERE next_attempt_on IS NOT NULL)")
            pending = await conn.fetchval("SELECT EXISTS (SELECT 1 FROM outbox)")
            if not due and not pending:
                done = time.time()
                break
            if process.poll() is not None:
                raise RuntimeError(f"debits exited with {process.returncode} during the run")
            if now > deadline:
                raise TimeoutError(f"debit run not over after {timeout:.0f}s")
            if now - last_report >= 10:
                ordered = await conn.fetchval("SELECT count(*) FROM debit_order")
                backlog = await conn.fetchval("SELECT count(*) FROM outbox")
                peak_outbox = max(peak_outbox, backlog)
                say(f"  {ordered:,}/{expected:,} ordered, outbox backlog {backlog:,}, RSS {peak_rss / 1024:.0f} MB")
                last_report = now
            await asyncio.sleep(0.1)
        memory = _memory(process.pid)
        hwm = max(hwm, memory.get("VmHWM", 0))
        facts = await conn.fetchrow(
            "SELECT count(*) AS orders, extract(epoch FROM min(ordered_at))::float8 AS first,"
            " extract(epoch FROM max(ordered_at))::float8 AS last FROM debit_order"
        )
        parked = await conn.fetchval("SELECT count(*) FROM outbox_parked")
        wal_bytes = await conn.fetchval("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::text::pg_lsn)", wal_start)
    finally:
        await conn.close()
    return {
        "done": done,
        "orders": facts["orders"],
        "first_order": facts["first"],
        "last_page": facts["last"],
        "peak_rss_kb": peak_rss,
        "vmhwm_kb": hwm,
        "peak_outbox_sampled": peak_outbox,
        "parked": parked,
        "wal_bytes": int(wal_bytes),
    }


def run_service(infra: Infra, dsn: str, expected: int) -> dict[str, Any]:
    keys = infra.root / "keys"
    if not (keys / "signing.pub.pem").exists():
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
            "DEBIT_RUN_INTERVAL_SECONDS": "86400",  # one run, at start
        },
        drop=("OTEL_EXPORTER_OTLP_ENDPOINT", "DEBIT_RUN_PAGE_SIZE"),
    )
    spawned = time.time()
    process = spawn(service_command("debits", NAME), env, log)
    try:
        cpu_before = cpu_sample({"debits": process.pid}, infra)
        ready = wait_http(port, "/health/ready", process, 90, log)
        ready_wall = time.time() - (time.monotonic() - ready)
        seen = asyncio.run(watch(dsn, process, expected, timeout=max(300.0, expected / 500)))
        cpu = cpu_used(cpu_before, cpu_sample({"debits": process.pid}, infra))
    finally:
        stop_process(process, timeout=60)
    report_profile(NAME)
    start = min(ready_wall, seen["first_order"] or ready_wall)
    return seen | {
        "spawned": spawned,
        "ready": ready_wall,
        "start": start,
        "seconds": seen["done"] - start,
        "seconds_from_spawn": seen["done"] - spawned,
        "rate": expected / (seen["done"] - start),
        "cpu_s": {k: round(v, 2) for k, v in sorted(cpu.items(), key=lambda kv: -kv[1])},
        "log": str(log),
    }


# --- read back and baseline -------------------------------------------------------------------------


class OrderCheck:
    """Each order read back against the debit seeded for it (plan ``i``'s account is account ``i mod
    affiliates``, at bank ``CODES[account mod 9]``): what is wrong is counted by kind, and every
    seeded debit must have been ordered exactly once."""

    def __init__(self, debits: int, affiliates: int) -> None:
        self.debits, self.affiliates = debits, affiliates
        self.ordered: Counter[int] = Counter()
        self.wrong: Counter[str] = Counter()

    def check(self, topic: str, value: bytes) -> None:
        try:
            payload = json.loads(value)["payload"]
            request_id = uuid.UUID(payload["request_id"])
            amount = Decimal(payload["instructed_amount"])
        except (ValueError, KeyError, TypeError, ArithmeticError):
            self.wrong["unreadable"] += 1
            return
        index = request_id.int & _INDEX_BITS
        if not 0 <= index < self.debits or request_id != _request_id(index):
            self.wrong["not a seeded plan"] += 1
            return
        self.ordered[index] += 1
        account = index % self.affiliates
        if topic != orders_topic(CODES[account % len(CODES)]):
            self.wrong["another bank's topic"] += 1
        if payload.get("debtor_account") != _rib(account):
            self.wrong["another account"] += 1
        if amount != _amount(index):
            self.wrong["another amount"] += 1

    def outcome(self) -> dict[str, int]:
        return dict(self.wrong) | {
            "debits checked": self.debits,
            "ordered once": sum(1 for n in self.ordered.values() if n == 1),
            "ordered twice or more": sum(1 for n in self.ordered.values() if n > 1),
            "never ordered": self.debits - len(self.ordered),
        }

    def failures(self) -> dict[str, int]:
        found = self.outcome()
        return {k: v for k, v in found.items() if k not in ("debits checked", "ordered once") and v}


async def read_back(bootstrap: str, expected: int, check: OrderCheck, idle: float = 5.0) -> dict[str, Any]:
    """Every record of the bank topics from the beginning (until ``expected`` and idle): counted per
    topic, each end-to-end id counted, each order checked; one record kept as the template of the
    baseline."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_bytes=16 * 1024 * 1024)
    await consumer.start()
    started = time.monotonic()
    try:
        parts = [
            TopicPartition(orders_topic(c), p)
            for c in CODES
            for p in sorted(consumer.partitions_for_topic(orders_topic(c)) or {0})
        ]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        per_topic: Counter[str] = Counter()
        ids: Counter[bytes] = Counter()
        template: tuple[bytes, bytes, list[tuple[str, bytes]]] | None = None
        sizes = 0
        last_new = time.monotonic()
        while True:
            batch = await consumer.getmany(timeout_ms=500, max_records=20_000)
            for tp, records in batch.items():
                per_topic[tp.topic] += len(records)
                for r in records:
                    match = _E2E.search(r.value)
                    ids[match.group(1) if match else b"?"] += 1
                    check.check(tp.topic, r.value)
                    sizes += len(r.value)
                if template is None and records:
                    r = records[0]
                    template = (r.key, r.value, list(r.headers or []))
                last_new = time.monotonic()
            total = sum(per_topic.values())
            if total >= expected and time.monotonic() - last_new > idle:
                break
            if time.monotonic() - last_new > max(60.0, idle):
                break
    finally:
        await consumer.stop()
    total = sum(per_topic.values())
    return {
        "records": total,
        "distinct_end_to_end_ids": len(ids),
        "duplicated_ids": sum(1 for n in ids.values() if n > 1),
        "per_topic": dict(per_topic),
        "checked": check.outcome(),
        "mean_bytes": sizes / total if total else 0,
        "template": template,
        "seconds": time.monotonic() - started,
    }


async def baseline(bootstrap: str, count: int, template: tuple[bytes, bytes, list[tuple[str, bytes]]]) -> float:
    """A bare aiokafka producer (the relay's settings) sending ``count`` messages of the orders' size,
    spread over the same bank topics; returns the seconds to the last acknowledgement."""
    key, value, headers = template
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", linger_ms=5, max_batch_size=256 * 1024, client_id="bench-baseline"
    )
    await producer.start()
    topics = [orders_topic(c) for c in CODES]
    try:
        started = time.monotonic()
        for chunk in range(0, count, 20_000):
            futures = [
                await producer.send(topics[i % len(topics)], value=value, key=key, headers=headers)
                for i in range(chunk, min(count, chunk + 20_000))
            ]
            await asyncio.gather(*futures)
        return time.monotonic() - started
    finally:
        await producer.stop()


# --- the bench --------------------------------------------------------------------------------------


def main() -> dict[str, Any]:
    s = scale()
    debits = max(MINIMUM, round(FULL_DEBITS * s))
    today = business_date(SystemClock())
    with infrastructure(NAME) as infra:
        dsn = asyncio.run(infra.new_database("bench_debits"))
        seeded = asyncio.run(seed(dsn, debits, today))
        say(
            f"seeded {seeded['due']:,} due debits ({seeded['affiliates']:,} affiliates, "
            f"{len(seeded['per_bank'])} banks) "
            f"by COPY in {seeded['seconds']:.1f} s (not measured: the bench measures the run, not the intake)"
        )
        service = run_service(infra, dsn, seeded["due"])
        say(
            f"service: {service['orders']:,} orders in {service['seconds']:.1f} s = {fmt(service['rate'])} orders/s "
            f"(start of run -> outbox empty); peak RSS {service['vmhwm_kb'] / 1024:.0f} MB"
        )
        check = OrderCheck(seeded["due"], seeded["affiliates"])
        back = asyncio.run(read_back(infra.bootstrap, seeded["due"], check))
        say(
            f"read back {back['records']:,} orders on {len(back['per_topic'])} bank topics, "
            f"{back['distinct_end_to_end_ids']:,} distinct end-to-end ids, {back['duplicated_ids']} duplicated, "
            f"mean {back['mean_bytes']:.0f} bytes ({back['seconds']:.1f} s); checked: {back['checked']}"
        )
        if back["template"] is None:
            raise RuntimeError("no order on the bank topics")
        if wrong := check.failures():
            raise RuntimeError(f"orders not as seeded: {wrong}")
        base_s = asyncio.run(baseline(infra.bootstrap, seeded["due"], back.pop("template")))
        base_rate = seeded["due"] / base_s
        say(f"baseline: {seeded['due']:,} messages in {base_s:.1f} s = {fmt(base_rate)} /s")
    result = {
        "bench": NAME,
        "scale": s,
        "machine": machine(),
        "debits": seeded["due"],
        "banks": len(CODES),
        "banks_asked": ISSUE_BANKS,
        "page_size": int(os.environ.get("DEBIT_RUN_PAGE_SIZE", PAGE_SIZE)),
        "seed": {k: v for k, v in seeded.items()},
        "service": service,
        "read_back": back,
        "baseline_seconds": base_s,
        "baseline_rate": base_rate,
        "ratio": ratio(service["rate"], base_rate),
        "aim_ratio": AIM,
    }
    print_report(result)
    write_result(NAME, result)
    return result


def rows_for(result: dict[str, Any]) -> list[list[str]]:
    srv = result["service"]
    return [
        [
            "debit_run",
            f"{result['debits']:,} orders, {result['banks']} banks, peak RSS {srv['vmhwm_kb'] / 1024:.0f} MB",
            f"{fmt(srv['rate'])} /s",
            f"{fmt(result['baseline_rate'])} /s",
            f"{result['ratio']:.0%}",
            f"≥ {AIM:.0%}",
        ]
    ]


def print_report(result: dict[str, Any]) -> None:
    srv, back = result["service"], result["read_back"]
    print()
    print(
        f"Debit run (BENCH_SCALE={result['scale']}, {result['machine']['cpus']} CPUs, "
        f"load {result['machine']['loadavg_1m_at_start']} at start; page {result['page_size']})"
    )
    print(
        table(
            ["who", "messages", "s", "orders/s", "peak RSS MB"],
            [
                [
                    "debits service (run + outbox relay)",
                    f"{srv['orders']:,} orders (+ as many DebitChanged)",
                    f"{srv['seconds']:.1f}",
                    fmt(srv["rate"]),
                    f"{srv['vmhwm_kb'] / 1024:.0f}",
                ],
                [
                    "baseline (bare aiokafka producer)",
                    f"{result['debits']:,} of {back['mean_bytes']:.0f} B",
                    f"{result['baseline_seconds']:.1f}",
                    fmt(result["baseline_rate"]),
                    "",
                ],
            ],
        )
    )
    print(
        f"  ratio {result['ratio']:.1%} (aim ≥ {AIM:.0%}); from the service's spawn {srv['seconds_from_spawn']:.1f} s; "
        f"last page committed {srv['last_page'] - srv['first_order']:.1f} s after the first, outbox empty "
        f"{srv['done'] - srv['last_page']:.1f} s after the last page; sampled outbox backlog up to "
        f"{srv['peak_outbox_sampled']:,}; parked {srv['parked']}"
    )
    if "cpu_s" in srv:  # from the service's spawn to the outbox empty
        print(
            "  CPU per order (µs, spawn → outbox empty): "
            + ", ".join(f"{k} {v / srv['orders'] * 1e6:.0f}" for k, v in srv["cpu_s"].items())
            + f"; Postgres's WAL {srv['wal_bytes'] / srv['orders']:,.0f} B per order (the whole server)"
        )
    print(
        f"  read back: {back['records']:,} orders, {back['distinct_end_to_end_ids']:,} distinct end-to-end ids, "
        f"{back['duplicated_ids']} duplicated; per topic {back['per_topic']}"
    )
    print(
        f"  each order against its seeded debit: {back['checked']['ordered once']:,} of "
        f"{back['checked']['debits checked']:,} due debits ordered exactly once on their own bank's topic, "
        "from their own account, for their own amount"
    )
    print(
        f"  {result['banks']} banks (contracts.banks.BANKS), not the {result['banks_asked']} of the issue: "
        "the registry and its topics are a contract, not extended by the bench"
    )
    print("  seeding by COPY into debits' tables (plans, debits, accounts, names): the run is measured, not the intake")


if __name__ == "__main__":
    main()
