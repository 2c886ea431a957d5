"""Kill the debits service (SIGKILL) in the middle of a debit run of 10,000 orders, start it again:
when the run is over, every due debit was ordered exactly once, counted on the banks' topics.

The pieces are real processes and servers: embedded Postgres and Tansu (the ``infra`` fixture), the
debits service as ``python -m services.cli serve debits``. The plans arrive as in production, as
``RequestStateChanged`` VALIDATED events on ``requests.events.v1`` (requests is played by a producer);
the run is the service's own scheduled job (``DEBIT_RUN_INTERVAL_SECONDS``), so the kill takes both the
run (a page in its transaction) and the outbox relay (a batch in flight) down at once.
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
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from bench.debit_run import seed
from contracts.banks import BANKS, orders_topic
from contracts.debits import DebitOrder
from contracts.identifiers import rib_key
from contracts.requests import RequestStateChanged
from contracts.topics import REQUESTS_EVENTS
from services.debits.config import DebitsSettings
from services.debits.operations import context_of, import_bank_accounts
from services.debits.service import plans
from services.runtime.clock import SystemClock, business_date
from services.stack.embedded import EmbeddedBroker, free_port
from services.stack.provisioning import provision_topics
from tests.conftest import Infra

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
PLANS = 10_000
AFFILIATES = 1_000  # ten requests each, their accounts spread over every bank of the registry
PAGE_SIZE = 100  # a run of 100 pages: the kill lands in the middle of one
KILL_AT = PLANS // 2
# How the 10,000 plans are made. "broker": VALIDATED events on requests.events.v1, taken in by the
# service's consumer (measured at 30-80 events/s on a loaded 2-core machine: 2 to 5 minutes, over this
# test's budget); "use-case": the same events through ``plans.on_request_event`` in-process (about as
# slow); "copy" (default): accounts, names, plans and due debits written by COPY into debits' tables,
# as bench/debit_run.py does. What is tested, the run and its crash, is the same in all three.
SEED = os.environ.get("DEBITS_CRASH_SEED", "copy")

TODAY = business_date(SystemClock())  # what the service's own run orders up to
V = TODAY - timedelta(days=40)
COLLECTION = TODAY - timedelta(days=10)  # due: next_attempt_on <= the run's date
NOW = datetime.combine(V, datetime.min.time(), tzinfo=UTC) + timedelta(hours=9)


def affiliate_of(index: int) -> str:
    return f"{2_000_000 + index % AFFILIATES:07d}"


def rib_of(index: int) -> str:
    code = sorted(BANKS)[index % len(BANKS)]
    first = f"{code}780{index:016d}"
    return first + rib_key(first)


def accounts() -> list[dict[str, str]]:
    return [
        {
            "affiliate": affiliate_of(i),
            "rib": rib_of(i),
            "bank_name": BANKS[rib_of(i)[:3]],
            "holder": f"Entreprise {affiliate_of(i)} SARL",
            "id": f"compte-{affiliate_of(i)}",
        }
        for i in range(AFFILIATES)
    ]


def validated(request_id: uuid.UUID, affiliate: str, amount: Decimal) -> RequestStateChanged:
    """A FULL plan of one debit collected on ``COLLECTION``, as requests announces it."""
    debits = [{"sequence": 1, "kind": "FULL", "due_date": COLLECTION, "collection_date": COLLECTION, "amount": amount}]
    quote = {
        "quote_id": uuid.uuid4(),
        "affiliate": affiliate,
        "debt_version": 1,
        "issued_at": NOW,
        "expires_at": NOW + timedelta(minutes=30),
        "programme": "DEC-05-2023",
        "modality": "FULL",
        "tier": "FULL",
        "rates": {"majorations": "0.50", "frais": "0.50", "astreintes": "0.80"},
        "advance": "0.00",
        "installments": 0,
        "eligible_periods": ["2023-05"],
        "eligible": {"principal": f"{amount:.2f}", "majorations": "300.00", "frais": "0.00", "astreintes": "0.00"},
        "remise": {
            "principal": "0.00",
            "majorations": "150.00",
            "frais": "0.00",
            "astreintes": "0.00",
            "total": "150.00",
        },
        "to_pay": f"{amount:.2f}",
        "validation_date": V,
        "schedule": debits,
    }
    return RequestStateChanged.build(
        {
            "request_id": request_id,
            "affiliate": affiliate,
            "programme": "DEC-05-2023",
            "state": "VALIDATED",
            "previous_state": "DRAFT",
            "at": NOW,
            "actor": {"kind": "affiliate", "id": "compte-test"},
            "reason": "validation",
            "modality": "FULL",
            "plan": {
                "quote": quote,
                "bank_account_id": f"compte-{affiliate}",
                "cg_version": "CG-2023-1",
                "validation_date": V,
                "schedule": debits,
            },
        },
        producer="requests",
        occurred_at=NOW,
    )


def validations() -> list[tuple[RequestStateChanged, str]]:
    """10,000 VALIDATED requests of FULL plans, with the bank each one debits."""
    out = []
    for i in range(PLANS):
        event = validated(uuid.uuid4(), affiliate_of(i), Decimal(1000 + i % 5000) + Decimal("0.25"))
        out.append((event, rib_of(i % AFFILIATES)[:3]))
    return out


async def publish_validations(bootstrap: str, events: list[tuple[RequestStateChanged, str]]) -> None:
    """As requests announces them, on requests.events.v1 (the service's consumer makes the plans)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5, max_batch_size=256 * 1024)
    await producer.start()
    try:
        futures = [
            await producer.send(
                REQUESTS_EVENTS.name,
                value=event.model_dump_json().encode(),
                key=event.payload.affiliate.encode(),
                headers=[("content-type", b"application/json"), ("event-type", event.type.encode())],
            )
            for event, _ in events
        ]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def schedule_in_process(database: str, events: list[tuple[RequestStateChanged, str]]) -> None:
    """The same events through the same use case the consumer runs (``plans.on_request_event``, 500
    per transaction as the consumer batches them), without the trip through the broker."""
    ctx = context_of(DebitsSettings(database_url=database), SystemClock())
    conn = await asyncpg.connect(database)
    try:
        for start in range(0, len(events), 500):
            async with conn.transaction():
                for event, _ in events[start : start + 500]:
                    await plans.on_request_event(conn, ctx, event)
    finally:
        await conn.close()


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

    def start(self, interval: float) -> None:
        self.starts += 1
        port = free_port()
        env = self.base | {"HTTP_PORT": str(port), "DEBIT_RUN_INTERVAL_SECONDS": str(interval)}
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
        self._wait_ready(port, log)

    def _wait_ready(self, port: int, log: Path, timeout: float = 60) -> None:
        import socket

        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
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

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

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


async def read_orders(
    bootstrap: str, expected: int, idle: float = 3.0, timeout: float = 60
) -> list[tuple[str, DebitOrder]]:
    """Every record of every bank's topic from the beginning: read until ``expected`` are in and
    nothing more came for ``idle`` seconds (Tansu's end offsets cannot be trusted to stop earlier)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=50)
    await consumer.start()
    try:
        partitions = [
            TopicPartition(orders_topic(code), p)
            for code in BANKS
            for p in sorted(consumer.partitions_for_topic(orders_topic(code)) or {0})
        ]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        records: list[Any] = []
        deadline, last_new = time.monotonic() + timeout, time.monotonic()
        while time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=200, max_records=5000)
            for part in batch.values():
                records += part
                last_new = time.monotonic()
            if len(records) >= expected and time.monotonic() - last_new > idle:
                break
        return [(r.topic, DebitOrder.model_validate_json(r.value)) for r in records]
    finally:
        await consumer.stop()


async def test_sigkill_in_the_middle_of_a_run_orders_every_due_debit_exactly_once(
    database: str, service: Service, own_broker: str
) -> None:
    if SEED == "copy":
        await seed(database, PLANS, TODAY)
    else:
        await import_bank_accounts(database, accounts())
    service.start(interval=0)  # migrated, consuming; no run yet
    if SEED != "copy":
        events = validations()
        if SEED == "broker":
            await publish_validations(own_broker, events)
        else:
            await schedule_in_process(database, events)
    conn = await asyncpg.connect(database)
    try:
        await until(conn, lambda c: c["plans"] == PLANS, 600, "10,000 plans scheduled", every=1.0)
        service.stop()
        banks = {r["request_id"]: r["bank_code"] for r in await conn.fetch("SELECT request_id, bank_code FROM plan")}
        assert len(set(banks.values())) == len(BANKS)

        # The service's own job starts the run at once; kill it when about half is ordered.
        service.start(interval=1)
        at_kill = await until(conn, lambda c: c["orders"] >= KILL_AT, 120, "half the run ordered")
        service.kill()
        after_kill = await counts(conn, TODAY)
        assert 0 < after_kill["orders"] < PLANS, f"the kill must land in the middle of the run: {after_kill}"
        print(f"\nkilled at {at_kill}; committed when dead: {after_kill}")

        service.start(interval=1)
        done = await until(
            conn, lambda c: c["due"] == 0 and c["outbox"] == 0 and c["orders"] == PLANS, 120, "run over, outbox empty"
        )
        service.stop()
        history = await conn.fetchval("SELECT count(*) FROM debit_history WHERE to_state = 'ORDERED'")
        states = dict(await conn.fetch("SELECT state, count(*) FROM debit GROUP BY state"))
    finally:
        await conn.close()
    assert done["outbox"] == 0
    assert states == {"ORDERED": PLANS}
    assert history == PLANS

    found = await read_orders(own_broker, PLANS)
    orders = [order for _, order in found]
    ids = Counter(o.payload.end_to_end_id for o in orders)
    twice = {e2e: n for e2e, n in ids.items() if n > 1}
    assert not twice, f"{len(twice)} orders on the banks' topics more than once, e.g. {list(twice.items())[:5]}"
    assert len(orders) == PLANS
    per_debit = Counter((o.payload.request_id, o.payload.sequence) for o in orders)
    assert set(per_debit) == {(r, 1) for r in banks}
    assert set(per_debit.values()) == {1}
    assert all(o.payload.attempt == 1 for o in orders)
    # Each order on its debtor's bank's topic only.
    assert all(topic == orders_topic(banks[o.payload.request_id]) for topic, o in found)
    assert all(o.payload.debtor_account[:3] == banks[o.payload.request_id] for o in orders)
