"""Where the debt service's time goes, stage by stage, without a profiler's distortion: the service's
own functions called in-process, each stage timed with ``perf_counter`` on a real Postgres and broker.

Ingestion: the steps of ``apply_ledger_batch`` (same repository calls, same order, one transaction per
batch) after the handler's validation of the batch, then the outbox relay draining the position events
to the broker. The real ``apply_ledger_batch`` runs on the same batches in another database as a
cross-check of the sum. Batches are cut like the consumer's: up to 2000 records of one partition.
Then the per-batch read-back on the tables the ingestion left, to check it does not grow with them.

HTTP read: token verification (first time and remembered), the stored document's SQL read, for the
140-period affiliate of ``bench.debt_http``.

These mirror the service's code as of commit 97b237a; ``cross-check`` says whether they still add up.

    BENCH_SCALE=0.05 python -m bench.breakdown
"""

import asyncio
import random
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from aiokafka.partitioner import murmur2
from pydantic import TypeAdapter

from bench.common import Infra, infrastructure, machine, say, scale, table, write_result
from bench.debt_http import AFFILIATE, PERIODS
from bench.debt_http import ledger as http_ledger
from bench.ledger_data import generate
from contracts.debt import LedgerEntry
from services.debt.adapters.repository import PositionRepository
from services.debt.config import DebtSettings
from services.debt.domain.ledger import balance_deltas
from services.debt.main import MIGRATIONS
from services.debt.service.apply_ledger import _booking, apply_ledger_batch, entry_row
from services.debt.service.position_events import position_messages
from services.debt.service.read_models import debt_view_json
from services.runtime import outbox
from services.runtime.clock import SystemClock
from services.runtime.db import create_pool, migrate
from services.runtime.delivered import DeliveredLookup
from services.runtime.kafka import create_producer, create_tail_reader
from services.runtime.outbox import OutboxRelay
from services.runtime.telemetry import setup_tracing
from services.runtime.tokens import Principal, TokenIssuer, TokenVerifier, generate_keypair

NAME = "breakdown"
PARTITIONS = 12
BATCH = 2000
LEDGER_BATCH: TypeAdapter[Any] = TypeAdapter(list[LedgerEntry])
CUTOFF = DebtSettings().eligibility_cutoff


def consumer_batches(messages: list[tuple[bytes, bytes]]) -> list[list[tuple[bytes, bytes]]]:
    """Per partition (Kafka's default partitioner), in order, cut in batches of up to ``BATCH``; batches
    taken from the partitions in turn, as a consumer fetching them all would."""
    parts: dict[int, list[tuple[bytes, bytes]]] = defaultdict(list)
    for key, value in messages:
        parts[(murmur2(key) & 0x7FFFFFFF) % PARTITIONS].append((key, value))
    chunks = {p: [items[i : i + BATCH] for i in range(0, len(items), BATCH)] for p, items in parts.items()}
    out = []
    for round_ in range(max(len(c) for c in chunks.values())):
        out += [c[round_] for _, c in sorted(chunks.items()) if round_ < len(c)]
    return out


async def fresh_connection(infra: Infra, prefix: str) -> tuple[str, asyncpg.Connection]:
    dsn = await infra.new_database(prefix)
    conn = await asyncpg.connect(dsn)
    await migrate(conn, MIGRATIONS)
    return dsn, conn


def validate(batch: list[tuple[bytes, bytes]]) -> list[Any]:
    """The handler's clean-batch path: the whole batch validated in one call."""
    return list(LEDGER_BATCH.validate_json(b"[" + b",".join(value for _, value in batch) + b"]"))


class Laps:
    """Adds the time since the previous lap to the named stage."""

    def __init__(self, totals: dict[str, float]) -> None:
        self.totals = totals
        self.last = time.perf_counter()

    def __call__(self, stage: str, minus: float = 0.0) -> float:
        now = time.perf_counter()
        spent = now - self.last
        self.totals[stage] += max(0.0, spent - minus)
        self.last = now
        return spent


async def timed_batch(conn: asyncpg.Connection, batch: list[tuple[bytes, bytes]], t: dict[str, float]) -> int:
    """``apply_ledger_batch``'s steps, in its order and transaction, each one timed; returns positions."""
    lap = Laps(t)
    parsed = validate(batch)
    lap("handler: pydantic validation (whole batch, one call)")
    repo = PositionRepository(conn)
    async with conn.transaction():
        lap("BEGIN")
        rows = [entry_row(e) for e in parsed]
        lap("python: entry rows")
        fresh_ids = await repo.record_entries(rows)
        lap("SQL: insert ledger_entry (unnest, RETURNING)")
        seen: set[str] = set()
        fresh = []
        for e in parsed:
            if e.payload.entry_id in fresh_ids and e.payload.entry_id not in seen:
                seen.add(e.payload.entry_id)
                fresh.append(e)
        deltas = balance_deltas(b for e in fresh if (b := _booking(e)) is not None)
        touched = sorted({e.payload.affiliate for e in fresh})
        lap("python: dedup + balance deltas")
        await repo.add_to_balances(deltas)
        lap("SQL: upsert period_balance")
        versions = await repo.bump_versions(touched)
        lap("SQL: bump position versions")
        positions = await repo.positions(touched, versions)
        lap("SQL + python: read back whole positions")
        views = {p.affiliate: debt_view_json(p, CUTOFF) for p in positions}
        lap("python: debt documents (debt_view_json)")
        await repo.save_views(views, CUTOFF)
        lap("SQL: save documents (UPDATE position FROM unnest)")
        messages = position_messages(positions, SystemClock(), {})
        lap("pydantic: PositionChanged.build per affiliate")
        for item in messages:
            outbox._row(item)
        rows_s = lap("outbox rows: model_dump_json + trace fields")
        await outbox.enqueue_many(conn, messages)  # serializes again, then the SQL
        lap("SQL: insert outbox (executemany) + NOTIFY", minus=rows_s)
    lap("COMMIT")
    return len(messages)


async def ingestion(infra: Infra, entries: int, affiliates: int) -> dict[str, Any]:
    ledger = generate(entries, affiliates, "month")
    batches = consumer_batches(ledger.messages)
    clock = SystemClock()
    t: dict[str, float] = defaultdict(float)
    positions_written = 0
    dsn, conn = await fresh_connection(infra, "bench_bd")
    try:
        for batch in batches:
            positions_written += await timed_batch(conn, batch, t)
    finally:
        await conn.close()

    # The relay, on its own: drain the outbox to the broker as the service's relay does.
    settings = DebtSettings(database_url=dsn, kafka_bootstrap_servers=infra.bootstrap)
    pool = await create_pool(dsn, size=2)
    producer = create_producer(settings)
    await producer.start()
    try:
        lookup = DeliveredLookup(lambda: create_tail_reader(settings))
        relay = OutboxRelay(
            pool,
            producer,
            lambda: asyncpg.connect(settings.database_url),
            lookup,
            batch_size=settings.outbox_batch_size,
        )
        start = time.perf_counter()
        while await relay.publish_pending():
            pass
        relay_s = time.perf_counter() - start
    finally:
        await producer.stop()
        await pool.close()

    per_batch = max(1, round(positions_written / len(batches)))
    reads = await reads_at_size(dsn, per_batch)

    # Cross-check: the real use case on the same batches, in a fresh database.
    _, conn = await fresh_connection(infra, "bench_bd_real")
    try:
        start = time.perf_counter()
        for batch in batches:
            await apply_ledger_batch(conn, validate(batch), clock, CUTOFF)
        real_s = time.perf_counter() - start
    finally:
        await conn.close()
    return {
        "entries": len(ledger.messages),
        "affiliates": affiliates,
        "batches": len(batches),
        "positions": positions_written,
        "stages_s": dict(t),
        "sum_of_stages_s": sum(t.values()),
        "relay_s": relay_s,
        "real_use_case_plus_validation_s": real_s,
        "reads_at_size": reads,
    }


async def _mean(calls: int, fn: Callable[[], Awaitable[Any]]) -> float:
    for _ in range(6):  # past the 5 custom plans Postgres makes before a generic one
        await fn()
    start = time.perf_counter()
    for _ in range(calls):
        await fn()
    return (time.perf_counter() - start) / calls


async def reads_at_size(dsn: str, per_batch: int) -> dict[str, Any]:
    """The service's own per-batch read (``PositionRepository.positions``) on the tables the ingestion
    left, for one affiliate and for as many as an average batch touches: it must not grow with the
    tables (until 97b237a, ``char(7) = ANY($1::text[])`` made it a sequential scan per batch)."""
    conn = await asyncpg.connect(dsn)
    try:
        sizes = {
            "period_balance": int(await conn.fetchval("SELECT count(*) FROM period_balance")),
            "position": int(await conn.fetchval("SELECT count(*) FROM position")),
        }
        affiliates = [r["affiliate"] for r in await conn.fetch("SELECT affiliate FROM position ORDER BY affiliate")]
        batch = random.Random(1).sample(affiliates, min(per_batch, len(affiliates)))
        one = [affiliates[len(affiliates) // 2]]
        repo = PositionRepository(conn)
        timings = {
            "positions(1 affiliate)": await _mean(30, lambda: repo.positions(one)),
            f"positions({len(batch)} affiliates)": await _mean(10, lambda: repo.positions(batch)),
        }
    finally:
        await conn.close()
    return {"rows": sizes, "timings_s": timings}


async def http_read(infra: Infra, calls: int) -> dict[str, Any]:
    keys = infra.root / "bd-keys"
    generate_keypair(keys / "k.pem", keys / "k.pub.pem")
    issuer = TokenIssuer(
        (keys / "k.pem").read_bytes(),
        issuer="espace-recouvrement/auth",
        audience="espace-recouvrement",
        ttl=timedelta(hours=1),
    )
    public = (keys / "k.pub.pem").read_bytes()
    verifier = TokenVerifier(public, issuer="espace-recouvrement/auth", audience="espace-recouvrement")
    token, _ = issuer.issue(Principal(str(uuid.uuid4()), "bench", frozenset({AFFILIATE})), datetime.now(UTC))
    _, conn = await fresh_connection(infra, "bench_bd_http")
    try:
        await apply_ledger_batch(conn, http_ledger(), SystemClock(), CUTOFF)
        repo = PositionRepository(conn)
        [position] = await repo.positions([AFFILIATE])
        if len(position.periods) != PERIODS:
            raise AssertionError("seeding failed")
        view = await repo.view_of(AFFILIATE)
        assert view is not None

        async def first_verify() -> None:
            TokenVerifier(public, issuer="espace-recouvrement/auth", audience="espace-recouvrement").verify(token)

        async def cached_verify() -> None:
            verifier.verify(token)

        async def read_view() -> None:
            stored = await repo.view_of(AFFILIATE)
            assert stored is not None
            stored.encode()

        async def rebuild() -> None:
            [p] = await repo.positions([AFFILIATE])
            debt_view_json(p, CUTOFF)

        stages = {
            "token: EdDSA verify, first time (new verifier)": await _mean(calls, first_verify),
            "token: remembered (same token again)": await _mean(calls, cached_verify),
            "SQL: stored document (view_of) + encode": await _mean(calls, read_view),
            "(per change, not per read: positions + debt_view_json)": await _mean(calls, rebuild),
        }
    finally:
        await conn.close()
    return {"calls": calls, "body_bytes": len(view.encode()), "stages_s": stages}


def main() -> dict[str, Any]:
    s = scale()
    entries, affiliates = max(4_000, round(200_000 * s)), max(200, round(10_000 * s))
    setup_tracing("debt", None)  # as in the service: asyncpg calls are traced (no exporter)
    with infrastructure(NAME) as infra:
        say(f"ingestion breakdown: {entries:,} entries, {affiliates:,} affiliates, month order, batches of {BATCH}")
        ing = asyncio.run(ingestion(infra, entries, affiliates))
        say("HTTP read breakdown")
        read = asyncio.run(http_read(infra, max(50, round(500 * s))))
    result = {"bench": NAME, "scale": s, "machine": machine(), "ingestion": ing, "http": read}
    print_report(result)
    write_result(NAME, result)
    return result


def rows_for(result: dict[str, Any]) -> list[list[str]]:
    ing = result["ingestion"]
    ceiling = ing["entries"] / ing["sum_of_stages_s"]
    return [
        ["breakdown: apply steps in-process", f"{ing['entries']:,} entries", f"{ceiling:,.0f} /s ceiling"] + ["-"] * 3
    ]


def print_report(result: dict[str, Any]) -> None:
    ing = result["ingestion"]
    n = ing["entries"]
    total = ing["sum_of_stages_s"]
    print()
    print(
        f"Ingestion, stage by stage ({n:,} entries, {ing['batches']} batches, {ing['positions']:,} position events;"
        " in-process, no Kafka consumer)"
    )
    rows = [
        [stage, f"{sec:.2f}", f"{sec / n * 1e6:.1f}", f"{sec / total:.0%}"]
        for stage, sec in sorted(ing["stages_s"].items(), key=lambda item: -item[1])
    ]
    rows.append(["sum", f"{total:.2f}", f"{total / n * 1e6:.1f}", "100%"])
    rows.append(
        ["(relay: outbox -> broker, separately)", f"{ing['relay_s']:.2f}", f"{ing['relay_s'] / n * 1e6:.1f}", "-"]
    )
    print(table(["stage", "s", "µs/entry", "share"], rows))
    real = ing["real_use_case_plus_validation_s"]
    print(
        f"  cross-check: the real apply_ledger_batch + validation on the same batches took {real:.2f} s "
        f"(sum of stages {total:.2f} s); ceiling without Kafka, FastStream and relay: {n / total:,.0f} entries/s"
    )
    reads = ing["reads_at_size"]
    print()
    sizes = ", ".join(f"{name} {rows:,} rows" for name, rows in reads["rows"].items())
    print(f"The per-batch read-back on the final tables ({sizes}; after 6 runs)")
    print(table(["call", "ms"], [[k, f"{v * 1000:.2f}"] for k, v in reads["timings_s"].items()]))
    http = result["http"]
    print()
    print(f"GET debt, stage by stage ({http['body_bytes']:,}-byte answer, mean of {http['calls']} calls)")
    print(table(["stage", "ms"], [[stage, f"{sec * 1000:.3f}"] for stage, sec in http["stages_s"].items()]))


if __name__ == "__main__":
    main()
