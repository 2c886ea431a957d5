"""Employers go through the whole flow (one in four by installments: guarantee request, acknowledgement,
deposit) while the broker is killed twice and a service once.

``recouvrement run`` in a process, as a newcomer starts it; its broker is memory only, so each
``kill -9`` loses every topic, message, group and offset. Nobody repairs anything by hand: the
launcher restarts what died (``Stack.supervise``), each service finds its mark gone from the new
broker and replays its outbox's log (``services/runtime/epochs.py``), debits drops from that replay
the orders its bank answered, and the reference bank answers a replayed order as it did the first
time. When the traffic ends every request has reached the state it reaches without kills.
"""

import asyncio
import os
import re
import signal
import time
import uuid
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from contracts.topics import BANK_ORDERS, CATALOGUE
from services.stack.demo_data import generate
from services.stack.provisioning import database_url
from tests.e2e.conftest import LOGINS_UNLIMITED, RunningStack, launch, stop_stack
from tests.e2e.otlp_receiver import OtlpReceiver
from tests.e2e.test_debits_flow import answered, debit_run, plan_of, request_reaches
from tests.e2e.test_requests_flow import Employer
from tests.support import launcher_children, read_to_end

# Not in `make test`: minutes at 200 employers. Four causes of its failures were found and fixed on
# 2026-12-06: an order Tansu took into a topic made before provisioning; requests never exiting after
# a failed start, its relay deaf to the cancel; a bank group that held a made-up topic's partitions
# after the launcher remade it, never given partition 9 where a replayed order waited (Tansu keeps a
# formed group when a member rejoins unchanged: runtime/topic_shape.py); and, seen in both tests of one
# run since (likely stop 30's unexplained run 3 too), a bank group that had committed on the new broker
# its positions on the killed one (3 where the new log held 2 records): the bank answered an order read
# before the kill and committed after it; Tansu makes a fetch past the end wait (runtime/member_commits.py).
# A failed wait prints the order's whereabouts.
# `make chaos` runs it; CHAOS_EMPLOYERS=25 for a quicker one.
pytestmark = [pytest.mark.e2e, pytest.mark.chaos, pytest.mark.timeout(1200)]  # two broker kills: 4 min each here

KILLED_FLOW = int(os.environ.get("CHAOS_EMPLOYERS", "200"))
"""employers of the kill test; the others go through while the broker is stopped"""
IN_FLIGHT = 100
"""requests walked through at once (the flow bench's concurrency)"""
DEMO_AFFILIATES = max(60, 2 * KILLED_FLOW)
"""a little over half the generated demo accounts have penalties to remit"""
SERVICES = ("auth", "debt", "simulation", "requests", "debits")


class RetryAfter(httpx.AsyncHTTPTransport):
    """A gateway's manners: a 503 with ``Retry-After`` (a pool momentarily exhausted, refused before
    any work) is tried again after the wait it names, five times at most; each retry is counted."""

    retried = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        for _ in range(5):
            response = await super().handle_async_request(request)
            if response.status_code != 503 or "retry-after" not in response.headers:
                return response
            await response.aread()
            RetryAfter.retried += 1
            await asyncio.sleep(float(response.headers["retry-after"]))
        return await super().handle_async_request(request)


def employers_with_something_to_remit() -> list[tuple[str, str]]:
    """(login, affiliate) of the single-affiliate demo accounts whose penalties can be remitted."""
    found = []
    for login, _, summary in generate(DEMO_AFFILIATES, 2024).logins:
        match = re.fullmatch(r"(\d{7}) : [\d\s  ,]+MAD de pénalités à remettre", summary)
        if login.startswith("demo.affilie.") and match:
            found.append((login, match.group(1)))
    return found


def children(stack: RunningStack) -> dict[str, int]:
    """The launcher's children now: ``broker`` and each service by name -> pid."""
    found: dict[str, int] = {}
    for pid, words in launcher_children(stack.process.pid).items():
        if "broker" in words and any("tansu" in w for w in words):
            found["broker"] = pid
        elif "serve" in words:
            found[words[words.index("serve") - 1 if words[-1] == "serve" else -1]] = pid
    return found


def kill(stack: RunningStack, name: str) -> int:
    pid = children(stack)[name]
    os.kill(pid, signal.SIGKILL)
    return pid


async def back(stack: RunningStack, name: str, old_pid: int, timeout: float = 60) -> None:
    """The supervisor started a new one, and (a service) it answers ready."""
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(timeout=2) as client:
        while time.monotonic() < deadline:
            pid = children(stack).get(name)
            if pid is not None and pid != old_pid:
                if name == "broker":
                    return
                try:
                    if (await client.get(f"{stack.urls[name]}/health/ready")).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
            await asyncio.sleep(0.2)
    raise AssertionError(f"{name} not restarted within {timeout}s:\n{stack.last_words()}")


@pytest.fixture(scope="module")
def lossy_stack(tmp_path_factory: pytest.TempPathFactory, otlp: OtlpReceiver) -> Iterator[RunningStack]:
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        pytest.skip("an external broker: the launcher does not own it, nor restart it")
    running = launch(
        tmp_path_factory.mktemp("lossy"),
        otlp,
        {"RECOUVREMENT_DEMO_AFFILIATES": str(DEMO_AFFILIATES), **LOGINS_UNLIMITED},
    )
    yield running
    stop_stack(running.process)


async def validate_full(employer: Employer) -> tuple[str, dict[str, Any]]:
    request_id = await employer.draft("FULL")
    quote = await employer.simulate("FULL")
    assert quote.status_code == 201, quote.text
    # With the quote's seal, as the portal sends it: requests need not wait for the quote's event,
    # which a broker that dies may take with it until simulation replays its log.
    conditions = (await employer.call("GET", f"{employer.stack.requests}/v1/conditions")).json()
    validated = await employer.call(
        "POST",
        f"{employer.stack.requests}/v1/requests/{request_id}/validation",
        {
            "quote_id": quote.json()["quote_id"],
            "cg_version": conditions["version"],
            "cg_accepted": True,
            "quote_seal": quote.json()["seal"],
        },
    )
    assert validated.status_code == 200, validated.text
    assert validated.json()["state"] == "VALIDATED"
    return request_id, dict(quote.json())


async def where_the_order_is(stack: RunningStack, request_id: str) -> str:
    """What a failed wait needs: the order's row at debits and its event in the outbox and its log."""
    server = stack.env.get("DATABASE_URL") or f"postgresql://postgres@127.0.0.1:{stack.env['RECOUVREMENT_PG_PORT']}"
    conn = await asyncpg.connect(database_url(server, "debits"))
    try:
        orders = [
            dict(r) for r in await conn.fetch("SELECT * FROM debit_order WHERE request_id = $1", uuid.UUID(request_id))
        ]
        found = []
        for order in orders:
            like = f"%{order['end_to_end_id']}%"
            for table in ("outbox", "outbox_log"):
                rows = await conn.fetch(
                    f"SELECT * FROM {table} WHERE topic LIKE 'debits.orders.%' AND convert_from(body, 'UTF8') LIKE $1",
                    like,
                )
                found += [(table, {k: v for k, v in dict(r).items() if k != "body"}) for r in rows]
    finally:
        await conn.close()
    records = [
        (r.topic, r.partition, r.offset)
        for topic in BANK_ORDERS
        for r in await read_to_end(stack.bootstrap, topic.name)
        if request_id.encode() in (r.value or b"")
    ]
    banks = [await where_its_bank_reads(stack.bootstrap, topic, partition) for topic, partition, _ in records]
    return (
        f"request {request_id}: orders {orders}; outbox rows {found}; on the broker {records};"
        f" its bank's group there {banks}\n{stack.last_words()}"
    )


async def where_its_bank_reads(bootstrap: str, topic: str, partition: int) -> dict[str, Any]:
    """The bank's group's committed offset on the order's partition, beside the partition's end and
    every partition the broker lists for the topic: a bank that never read an order on the broker
    was behind, ahead (a position from the lost broker), or not looking at that partition."""
    code = topic.split(".")[2]
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=f"bank-{code}", enable_auto_commit=False)
    await consumer.start()
    try:
        await consumer.topics()
        tp = TopicPartition(topic, partition)
        return {
            "group": f"bank-{code}",
            "committed": await consumer.committed(tp),
            "end": (await consumer.end_offsets([tp]))[tp],
            "partitions": sorted(consumer.partitions_for_topic(topic) or ()),
        }
    finally:
        await consumer.stop()


async def metrics_of(stack: RunningStack, service: str) -> str:
    async with httpx.AsyncClient(timeout=10) as client:
        return (await client.get(f"{stack.urls[service]}/metrics")).text


def series(text: str, name: str) -> dict[str, float]:
    """``{labels: value}`` of one metric in an exposition text."""
    found = {}
    for line in text.splitlines():
        if line.startswith(name):
            labels, _, value = line.rpartition(" ")
            found[labels[len(name) :]] = float(value)
    return found


async def validate_installments(employer: Employer) -> tuple[str, dict[str, Any]]:
    """An installments request up to AWAITING_GUARANTEE, with the quote's seal; the reference
    perception acknowledges and deposits by Kafka."""
    request_id = await employer.draft("INSTALLMENTS")
    quote = await employer.installment_quote()
    conditions = (await employer.call("GET", f"{employer.stack.requests}/v1/conditions")).json()
    waiting = await employer.call(
        "POST",
        f"{employer.stack.requests}/v1/requests/{request_id}/validation",
        {
            "quote_id": quote["quote_id"],
            "cg_version": conditions["version"],
            "cg_accepted": True,
            "quote_seal": quote["seal"],
        },
    )
    assert waiting.status_code == 200, waiting.text
    assert waiting.json()["state"] == "AWAITING_GUARANTEE"
    return request_id, quote


async def in_flight(employers: list[Employer], installments: set[str]) -> list[tuple[str, dict[str, Any]]]:
    """Every employer's request validated (or waiting for its guarantee), IN_FLIGHT at a time."""
    gate = asyncio.Semaphore(IN_FLIGHT)

    async def one(employer: Employer) -> tuple[str, dict[str, Any]]:
        async with gate:
            if employer.affiliate in installments:
                await employer.eligible()
                if (await employer.simulate("INSTALLMENTS", installments=1)).status_code == 201:
                    return await validate_installments(employer)
                installments.discard(employer.affiliate)  # under the 3,000.00 minimum installment: pays in full
            return await validate_full(employer)

    return list(await asyncio.gather(*(one(e) for e in employers)))


async def all_answered(employers: list[Employer], validated: list[tuple[str, dict[str, Any]]]) -> list[list[Any]]:
    plans = []
    for employer, (request_id, _) in zip(employers, validated, strict=True):
        try:
            plans.append(await answered(employer, request_id))
        except AssertionError:
            raise AssertionError(await where_the_order_is(employer.stack, request_id)) from None
    return plans


async def test_two_broker_kills_and_a_service_kill_lose_nothing_and_order_each_debit_once(
    lossy_stack: RunningStack,
) -> None:
    stack = lossy_stack
    who = employers_with_something_to_remit()[:KILLED_FLOW]
    assert len(who) == KILLED_FLOW, who
    employers = [Employer(stack, login, affiliate) for login, affiliate in who]
    for employer in employers:
        # A pooled connection idle longer than uvicorn keeps it (5 s) may be closed as it is reused:
        # forgotten after 2 s, as a gateway tuned to its upstream would.
        transport = RetryAfter(limits=httpx.Limits(keepalive_expiry=2.0))
        employer.http = httpx.AsyncClient(headers=employer.headers, timeout=30, transport=transport)
    installments = {e.affiliate for e in employers[::4]}  # one in four by installments (if its debt allows)
    half = len(employers) // 2
    kills: list[str] = []
    started = time.monotonic()

    # Half the employers validate; the broker dies while the other half does, their VALIDATED
    # events, guarantee requests and answers and debits' schedules in flight.
    validated = await in_flight(employers[:half], installments)
    second_half = asyncio.ensure_future(in_flight(employers[half:], installments))
    await asyncio.sleep(1.0)
    old = kill(stack, "broker")
    kills.append("broker")
    validated += await second_half
    await back(stack, "broker", old)
    for employer, (request_id, _) in zip(employers, validated, strict=True):
        if employer.affiliate in installments:  # the perception deposited (its request replayed if lost)
            await request_reaches(employer, request_id, "VALIDATED")

    plans = [await plan_of(e, request_id) for e, (request_id, _) in zip(employers, validated, strict=True)]
    assert all(plan and all(d["state"] == "SCHEDULED" for d in plan) for plan in plans), plans

    # requests dies; the first orders go out while it is down, and the broker dies once more right after.
    old_requests = kill(stack, "requests")
    kills.append("requests")
    runs = sorted({date.fromisoformat(plan[0]["collection_date"]) for plan in plans})
    for collection in runs:
        debit_run(stack, collection)
    old = kill(stack, "broker")
    kills.append("broker")
    await back(stack, "requests", old_requests)
    await back(stack, "broker", old)

    # The rest of the installment plans, run by run, each date once its orders are answered.
    while True:
        debits = await all_answered(employers, validated)
        due = [date.fromisoformat(d["next_attempt_on"]) for plan in debits for d in plan if d["next_attempt_on"]]
        if not due:
            break
        runs.append(min(due))
        assert len(runs) < 40, runs
        debit_run(stack, runs[-1])

    # The state every request reaches without kills: every debit paid once, plan completed.
    for employer, (request_id, quote), plan in zip(employers, validated, debits, strict=True):
        assert all((d["state"], d["attempts"]) == ("SETTLED", 1) for d in plan), plan
        assert sum(Decimal(d["amount"]) for d in plan) == Decimal(quote["to_pay"])
        completed = await request_reaches(employer, request_id, "COMPLETED")
        assert Decimal(completed["quote"]["to_pay"]) == Decimal(quote["to_pay"])
    total_debits = sum(len(plan) for plan in debits)

    # Each debit ordered once per attempt, each answered once: read in debits' own books.
    server = stack.env.get("DATABASE_URL") or f"postgresql://postgres@127.0.0.1:{stack.env['RECOUVREMENT_PG_PORT']}"
    conn = await asyncpg.connect(database_url(server, "debits"))
    try:
        orders = await conn.fetchrow(
            "SELECT count(*) AS orders, count(DISTINCT (request_id, sequence, attempt)) AS attempts,"
            " count(*) FILTER (WHERE outcome = 'EXECUTED') AS executed, sum(resends) AS resent FROM debit_order"
            " WHERE request_id = ANY($1::uuid[])",
            [request_id for request_id, _ in validated],
        )
    finally:
        await conn.close()
    assert dict(orders) == {"orders": total_debits, "attempts": total_debits, "executed": total_debits, "resent": 0}

    # Nothing dead-lettered: not on the broker that survives, and not counted by any service.
    for topic in CATALOGUE:
        assert await read_to_end(stack.bootstrap, topic.dlq) == [], topic.dlq
    texts = {service: await metrics_of(stack, service) for service in SERVICES}
    for service, text in texts.items():
        assert sum(series(text, "recouvrement_dead_letters_total").values()) == 0, (service, text)
    losses = {s: sum(series(t, "recouvrement_broker_losses_total").values()) for s, t in texts.items()}
    replayed = {s: sum(series(t, "recouvrement_outbox_replayed_total").values()) for s, t in texts.items()}
    assert losses["debits"] >= 2 and losses["debt"] >= 2, losses  # they lived through both kills
    restarts = [line for line in stack.output if "redémarré" in line]
    shown = (
        "recouvrement_broker_losses",
        "recouvrement_outbox_replayed",
        "recouvrement_outbox_depth",
        "recouvrement_consumer_lag",
        "recouvrement_debits{",
        "recouvrement_debit_orders_unanswered",
        "recouvrement_dead_letters",
    )
    print("\n/metrics of debits after the kills:")
    print("\n".join(line for line in texts["debits"].splitlines() if line.startswith(shown)))
    print("/metrics of requests after the kills:")
    print(
        "\n".join(
            line
            for line in texts["requests"].splitlines()
            if line.startswith(
                ("recouvrement_requests{", "recouvrement_guarantee_requests", "recouvrement_broker_losses")
            )
        )
    )
    print(
        f"\n{len(employers)} employers ({len(installments)} by installments, {total_debits} debits,"
        f" {len(runs)} debit runs) in {time.monotonic() - started:.0f} s; kills {kills}; broker losses seen"
        f" {losses}; events replayed {replayed}; orders {dict(orders)}; 503s retried after Retry-After"
        f" {RetryAfter.retried}; launcher: {restarts}"
    )
    # A service restarted while the broker is down cannot start and is restarted again: not a failure.
    assert sum("broker redémarré" in line for line in restarts) == 2, restarts
    assert {line.split()[1] for line in restarts} == {"broker", "requests"}, restarts


async def test_a_broker_stopped_for_a_minute_loses_nothing_and_reads_keep_answering(lossy_stack: RunningStack) -> None:
    """SIGSTOP, not a kill: the broker holds everything but answers nothing for 60 s. Reads are
    served from the services' databases meanwhile; validations are taken (their events wait in the
    outboxes); once it answers again every plan is scheduled, ordered, paid and completed, each once."""
    stack = lossy_stack
    who = employers_with_something_to_remit()[KILLED_FLOW:]
    assert len(who) >= 8, who
    employers = [Employer(stack, login, affiliate) for login, affiliate in who]
    for employer in employers:
        await employer.eligible()  # their debt announced before the broker stops
    broker = children(stack)["broker"]
    os.kill(broker, signal.SIGSTOP)
    stopped = time.monotonic()
    try:
        validated = list(await asyncio.gather(*(validate_full(e) for e in employers)))
        reads = 0
        while time.monotonic() - stopped < 60:
            for employer, (request_id, _) in zip(employers, validated, strict=True):
                assert (
                    await employer.call("GET", f"{stack.debt}/v1/affiliates/{employer.affiliate}/debt")
                ).status_code == 200
                assert (await employer.request(request_id))["state"] == "VALIDATED"
                reads += 2
            await asyncio.sleep(1.0)
    finally:
        os.kill(broker, signal.SIGCONT)
    assert children(stack)["broker"] == broker  # stopped, never restarted: nothing was lost

    plans = [await plan_of(e, request_id) for e, (request_id, _) in zip(employers, validated, strict=True)]
    for collection in sorted({date.fromisoformat(plan[0]["collection_date"]) for plan in plans}):
        debit_run(stack, collection)
    for employer, (request_id, quote) in zip(employers, validated, strict=True):
        try:
            [debit] = await answered(employer, request_id)
        except AssertionError:
            raise AssertionError(await where_the_order_is(stack, request_id)) from None
        assert (debit["state"], debit["attempts"], debit["amount"]) == ("SETTLED", 1, quote["to_pay"]), debit
        await request_reaches(employer, request_id, "COMPLETED")
    texts = {service: await metrics_of(stack, service) for service in SERVICES}
    for service, text in texts.items():
        assert sum(series(text, "recouvrement_dead_letters_total").values()) == 0, (service, text)
    print(f"\n{len(employers)} employers validated while the broker was stopped 60 s; {reads} reads answered meanwhile")
