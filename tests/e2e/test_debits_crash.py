"""Kill the debits service (SIGKILL) in the middle of a debit run of 10,000 orders, start it again:
when the run is over, every due debit was ordered exactly once, counted on the banks' topics.

The pieces are real processes and servers: embedded Postgres and Tansu (the ``infra`` fixture), the
debits service as ``python -m services.cli serve debits``. The run is the service's own scheduled job
(``DEBIT_RUN_INTERVAL_SECONDS``), so the kill takes both the run (a page in its transaction) and the
outbox relay (a batch in flight) down at once.

The kill is not timed from outside (the run could end first, or the kill miss the narrow windows):
the service kills itself at a named crash point (``FAULT_INJECTION``, ``services/runtime/faults.py``),
the n-th time it gets there: after a page of the run committed; after the relay marked a batch as
handed over; after it gave the batch to the producer; and between the broker's acknowledgement and
the delete of the rows, the window in which a relay without a lookup sends a batch twice.
"""

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from bench.debit_run import seed
from contracts.banks import BANKS, orders_topic
from contracts.debits import DebitOrder
from services.runtime.clock import SystemClock, business_date
from services.stack.embedded import EmbeddedBroker, free_port
from services.stack.provisioning import provision_topics
from tests.conftest import Infra

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
PLANS = 10_000  # accounts over every bank of the registry; plans and due debits written by COPY,
# as bench/debit_run.py does (through the consumer it took 2 to 5 minutes, over this test's budget)
PAGE_SIZE = 100  # a run of 100 pages
TODAY = business_date(SystemClock())  # what the service's own run orders up to


class Service:
    """The debits service as a process of its own (a new one per start, same database and group)."""

    def __init__(self, infra: Infra, database: str, logs: Path, bootstrap: str) -> None:
        self.base = {k: v for k, v in os.environ.items() if k not in ("OTEL_EXPORTER_OTLP_ENDPOINT",)}
        self.base |= {
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
            "PYTHONUNBUFFERED": "1",
            "DATABASE_URL": database,
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "KAFKA_GROUP_ID": f"debits-crash-{uuid.uuid4().hex[:8]}",
            "TOKEN_PUBLIC_KEY_FILE": str(infra.public_key),
            "DEBIT_RUN_PAGE_SIZE": str(PAGE_SIZE),
        }
        self.logs = logs
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self, interval: float, fault: str | None = None) -> None:
        self.starts += 1
        port = free_port()
        env = self.base | {"HTTP_PORT": str(port), "DEBIT_RUN_INTERVAL_SECONDS": str(interval)}
        if fault is not None:
            env["FAULT_INJECTION"] = fault
        log = self.logs / f"debits-{self.starts}.log"
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "services.cli", "serve", "debits"],
                env=env,
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._wait_ready(port, log, may_die=fault is not None)

    def _wait_ready(self, port: int, log: Path, timeout: float = 60, may_die: bool = False) -> None:
        """``may_die``: the process may reach its crash point before it answers."""
        import socket

        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                if may_die and self.process.returncode == -signal.SIGKILL:
                    return
                raise AssertionError(f"debits exited ({self.process.returncode}):\n{log.read_text()[-3000:]}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                    sock.sendall(b"GET /health/ready HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                    if sock.recv(64).split(b" ")[1:2] == [b"200"]:
                        return
            except OSError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"debits not ready within {timeout}s:\n{log.read_text()[-3000:]}")

    def died(self, timeout: float) -> int:
        """Waits for the process to kill itself at its crash point; its exit code."""
        assert self.process is not None
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"debits did not reach its crash point within {timeout}s") from None

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[str]:
    """A broker of its own: 10,000 orders on the session's shared bank topics would drown every
    later test whose reference bank reads those topics from the beginning."""
    broker = EmbeddedBroker(free_port(), tmp_path / "broker.log")
    broker.start()
    try:
        asyncio.run(provision_topics(broker.bootstrap, partitions=3))
        yield broker.bootstrap
    finally:
        broker.stop()


@pytest.fixture
def service(infra: Infra, database: str, tmp_path: Path, own_broker: str) -> Iterator[Service]:
    running = Service(infra, database, tmp_path, own_broker)
    yield running
    running.stop()


async def counts(conn: asyncpg.Connection, on: date) -> dict[str, int]:
    row = await conn.fetchrow(
        """SELECT (SELECT count(*) FROM plan) AS plans,
                  (SELECT count(*) FROM debit_order) AS orders,
                  (SELECT count(*) FROM debit d JOIN plan p USING (request_id)
                    WHERE d.next_attempt_on <= $1 AND p.state = 'ACTIVE') AS due,
                  (SELECT count(*) FROM outbox) AS outbox,
                  (SELECT count(*) FROM outbox WHERE topic LIKE 'debits.orders.%') AS outbox_orders""",
        on,
    )
    return dict(row)


async def until(conn: asyncpg.Connection, check: Any, timeout: float, what: str, every: float = 0.02) -> dict[str, int]:
    deadline = time.monotonic() + timeout
    while True:
        seen = await counts(conn, TODAY)
        if check(seen):
            return seen
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not reached within {timeout}s; {seen}")
        await asyncio.sleep(every)


async def read_orders(bootstrap: str) -> list[tuple[str, DebitOrder]]:
    """Every record every bank's topic holds now, from the beginning."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=20)
    await consumer.start()
    try:
        await consumer.topics()
        partitions = [
            TopicPartition(orders_topic(code), p)
            for code in BANKS
            for p in sorted(consumer.partitions_for_topic(orders_topic(code)) or {0})
        ]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        records: list[Any] = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=300, max_records=5000)
            for part in batch.values():
                records += part
            # Tansu reports the start of the last record batch as the end: an empty fetch past it is the end.
            if not batch and all([await consumer.position(tp) >= ends[tp] for tp in partitions]):
                return [(r.topic, DebitOrder.model_validate_json(r.value)) for r in records]
        raise AssertionError("the banks' topics were not read to their end in 120 s")
    finally:
        await consumer.stop()


# (crash point, the time it is reached): each lands in the middle of the run of 10,000 orders (100
# pages; the relay's batches carry one to five pages' events).
KILLS = {
    "a page of the run committed": "debit-run.page:50",
    "relay batch marked, not yet handed over": "outbox.handed:12",
    "relay batch handed to the producer": "outbox.sent:12",
    "relay batch acknowledged, rows not deleted": "outbox.acknowledged:12",
}


@pytest.mark.parametrize("point", list(KILLS.values()), ids=list(KILLS))
async def test_a_crash_in_the_middle_of_a_run_orders_every_due_debit_exactly_once(
    database: str, service: Service, own_broker: str, point: str
) -> None:
    await seed(database, PLANS, TODAY)
    conn = await asyncpg.connect(database)
    try:
        service.start(interval=0)  # migrated; no run yet
        await until(conn, lambda c: c["plans"] == PLANS, 60, "10,000 plans scheduled", every=0.5)
        service.stop()
        banks = {r["request_id"]: r["bank_code"] for r in await conn.fetch("SELECT request_id, bank_code FROM plan")}
        assert len(set(banks.values())) == len(BANKS)

        # The service's own job starts the run at once; the service kills itself at the crash point.
        started = time.monotonic()
        service.start(interval=1, fault=point)
        assert service.died(120) == -signal.SIGKILL
        at_death = await counts(conn, TODAY)
        assert 0 < at_death["orders"] < PLANS or at_death["outbox_orders"] > 0, f"not in the middle: {at_death}"
        waiting = {
            r["event_id"]: r["handed_at"] is not None
            for r in await conn.fetch("SELECT event_id, handed_at FROM outbox WHERE topic LIKE 'debits.orders.%'")
        }
        on_wire = {o.event_id for _, o in await read_orders(own_broker)}
        # Orders the broker holds that the outbox still has: what a relay without a lookup sends twice.
        in_window = len(on_wire & set(waiting))
        if point.startswith("outbox.acknowledged"):
            assert in_window > 0, "the kill must land between the acknowledgement and the delete"
        if point.startswith("outbox.handed"):
            assert in_window == 0 and any(waiting.values())

        service.start(interval=1)
        done = await until(
            conn, lambda c: c["due"] == 0 and c["outbox"] == 0 and c["orders"] == PLANS, 120, "run over, outbox empty"
        )
        elapsed = time.monotonic() - started
        service.stop()
        history = await conn.fetchval("SELECT count(*) FROM debit_history WHERE to_state = 'ORDERED'")
        states = dict(await conn.fetch("SELECT state, count(*) FROM debit GROUP BY state"))
    finally:
        await conn.close()
    assert done["outbox"] == 0
    assert states == {"ORDERED": PLANS}
    assert history == PLANS

    found = await read_orders(own_broker)
    orders = [order for _, order in found]
    ids = Counter(o.payload.end_to_end_id for o in orders)
    twice = {e2e: n for e2e, n in ids.items() if n > 1}
    print(
        f"\n{point}: at death {at_death}; order rows waiting {len(waiting)} (handed {sum(waiting.values())}), "
        f"already on the broker {in_window}; after: {len(orders)} orders on the wire, {len(twice)} twice; "
        f"run with crash and restart {elapsed:.1f} s"
    )
    assert not twice, f"{len(twice)} orders on the banks' topics more than once, e.g. {list(twice.items())[:5]}"
    assert len(orders) == PLANS
    per_debit = Counter((o.payload.request_id, o.payload.sequence) for o in orders)
    assert set(per_debit) == {(r, 1) for r in banks}
    assert set(per_debit.values()) == {1}
    assert all(o.payload.attempt == 1 for o in orders)
    # Each order on its debtor's bank's topic only.
    assert all(topic == orders_topic(banks[o.payload.request_id]) for topic, o in found)
    assert all(o.payload.debtor_account[:3] == banks[o.payload.request_id] for o in orders)
