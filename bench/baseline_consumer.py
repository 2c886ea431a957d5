"""The ingestion baseline, run as its own process: a bare aiokafka consumer with the service's fetch
settings that, per batch, parses each message with ``json.loads`` (no pydantic), inserts the rows into
a ``ledger_entry`` table identical to debt's (debt's own migration files, applied in order: same columns,
keys and indexes) with ONE ``COPY``, then commits the offsets. No positions, no outbox: the floor of the work.

    python -m bench.baseline_consumer BOOTSTRAP TOPIC GROUP DSN EXPECTED [BATCH] [TIMEOUT_S]
"""

import asyncio
import json
import sys
import time
from datetime import date
from decimal import Decimal
from pathlib import Path
from uuid import UUID

import asyncpg
from aiokafka import AIOKafkaConsumer

MIGRATIONS = Path(__file__).resolve().parents[1] / "services" / "debt" / "migrations"
COLUMNS = ("entry_id", "event_id", "affiliate", "kind", "period", "category", "amount", "effective_on")


async def consume(
    bootstrap: str, topic: str, group: str, dsn: str, *, expected: int, batch: int, timeout: float
) -> dict[str, float]:
    conn = await asyncpg.connect(dsn)
    for migration in sorted(MIGRATIONS.glob("*.sql")):  # debt's schema as the service would have it
        await conn.execute(migration.read_text())
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        client_id="bench-baseline",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=10,
        session_timeout_ms=6000,
        heartbeat_interval_ms=500,
    )
    await consumer.start()
    print(json.dumps({"ready": time.time()}), flush=True)
    consumed = batches = 0
    deadline = time.monotonic() + timeout
    try:
        while consumed < expected and time.monotonic() < deadline:
            fetched = await consumer.getmany(timeout_ms=20, max_records=batch)
            if not fetched:
                await asyncio.sleep(0.02)  # what FastStream's batch subscriber does on an empty fetch
                continue
            rows = []
            for part in fetched.values():
                for record in part:
                    message = json.loads(record.value)
                    p = message["payload"]
                    rows.append(
                        (
                            p["entry_id"],
                            UUID(message["event_id"]),
                            p["affiliate"],
                            message["type"],
                            p["period"],
                            p["category"],
                            Decimal(p["amount"]),
                            date.fromisoformat(p["booked_on"]),
                        )
                    )
            await conn.copy_records_to_table("ledger_entry", records=rows, columns=COLUMNS)
            await consumer.commit()
            consumed += len(rows)
            batches += 1
    finally:
        await consumer.stop()
        await conn.close()
    return {"consumed": consumed, "batches": batches, "done": time.time()}


def main() -> None:
    bootstrap, topic, group, dsn, expected, *rest = sys.argv[1:]
    batch = int(rest[0]) if rest else 2000
    timeout = float(rest[1]) if len(rest) > 1 else 600.0
    print(
        json.dumps(
            asyncio.run(consume(bootstrap, topic, group, dsn, expected=int(expected), batch=batch, timeout=timeout))
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
