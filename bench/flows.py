"""The whole remission flow, many affiliates at once, on the running system: the five services and the
reference perception as processes (one uvicorn worker each), embedded Postgres and broker.

Each affiliate: create the request (requests) → modality INSTALLMENTS with the guarantee obligation
accepted → list its bank accounts (debits) → choose one → simulate (simulation) → validate with the
quote and the conditions' version (→ AWAITING_GUARANTEE) → the reference perception deposits the
guarantee and the request becomes VALIDATED (seen on ``requests.events.v1``).

Setup (not timed): profiles through auth's import (one precomputed argon2id hash), bank accounts
through debits' import, debt through ``debt.ledger.v1``; then wait until requests and simulation have
every affiliate. Measured: completed flows per second and each step's latency, with at most
``BENCH_FLOW_CONCURRENCY`` (default 100) affiliates making their HTTP calls at the same time (an
affiliate leaves its slot once its validation is answered: the perception's round trip is
asynchronous). Baseline in the same run: as many ``GET /health/live`` calls to requests, same client,
same concurrency. Afterwards the databases are checked: zero lost or duplicated, or the bench fails.

Tracing: ``flows`` traces as the environment says (in development every trace, its spans built and sent
nowhere; ``OTEL_TRACES_SAMPLER_ARG``, ``BENCH_FLOW_EXPORT=1`` to send them to ``bench/span_sink.py``);
``flows_deployed`` runs the same flows traced as ``deploy/k8s/configmap.yaml`` sets it, its share of
traces recorded and exported, and reports the spans that arrived.

    BENCH_SCALE=0.05 python -m bench.flows
"""

import asyncio
import contextlib
import json
import os
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from bench import statements
from bench.common import (
    ROOT,
    Infra,
    child_env,
    cpu_sample,
    cpu_used,
    fmt,
    infrastructure,
    machine,
    percentile,
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
from contracts.debt import ChargeBooked
from contracts.identifiers import rib_key
from contracts.topics import DEBT_LEDGER, REQUESTS_EVENTS
from services.auth.entrypoints.operations import import_export
from services.auth.service.import_accounts import AccountRecord, AffiliateRecord, DamancomExport
from services.auth.service.passwords import Passwords
from services.debits.entrypoints.operations import import_bank_accounts
from services.runtime.tokens import Principal, TokenIssuer, generate_keypair
from services.stack.demo_data import DEMO_BANKS, PERCEPTIONS
from services.stack.embedded import free_ports
from services.stack.settings import EVENTS_SUFFIX, consumes_only, replica_name, service_of

NAME = "flows"
SERVICES = ("auth", "debt", "simulation", "requests", "debits")
FULL_AFFILIATES = 2000
FIRST_AFFILIATE = 3_000_000
CONCURRENCY = int(os.environ.get("BENCH_FLOW_CONCURRENCY", "100"))
SPLIT = os.environ.get("BENCH_FLOW_SPLIT") == "1"
"""``BENCH_FLOW_SPLIT=1``: requests as two processes, one serving HTTP (``CONSUME_EVENTS=false``), one
consuming its topics, instead of one process doing both in one event loop."""
REPLICAS = int(os.environ.get("BENCH_FLOW_REPLICAS", "1"))
"""``BENCH_FLOW_REPLICAS=2``: requests (the busiest service) as two replicas sharing its port and its
consumer groups, as ``RECOUVREMENT_REQUESTS_REPLICAS=2`` runs it (with the split: two of each kind)."""


@dataclass(frozen=True)
class Tracing:
    """How the services trace during a run: the share of traces recorded, and whether their spans are
    exported (to ``bench/span_sink.py``, as to a collector) or only built."""

    sample_ratio: float
    exported: bool


AS_SET = Tracing(
    float(os.environ.get("OTEL_TRACES_SAMPLER_ARG", "1")), exported=os.environ.get("BENCH_FLOW_EXPORT") == "1"
)
"""``flows``: as the environment says (development: every trace, spans built, none sent)"""


def deployed_sample_ratio() -> float:
    """The share the deployment sets (``deploy/k8s/configmap.yaml``), read there so the two never differ."""
    found = re.search(r'^\s*OTEL_TRACES_SAMPLER_ARG:\s*"?([0-9.]+)"?\s*$', DEPLOYED_CONFIG.read_text(), re.MULTILINE)
    if found is None:
        raise RuntimeError(f"no OTEL_TRACES_SAMPLER_ARG in {DEPLOYED_CONFIG}")
    return float(found.group(1))


DEPLOYED_CONFIG = ROOT / "deploy" / "k8s" / "configmap.yaml"
"""where the deployment's settings are, its share of traces among them"""
BUSIEST = "requests"
RETRIES = 3
SATURATED_RETRY_AFTER_S = 2.0
"""the Retry-After of a 503 service-sature (``services/runtime/problems.py``)"""
PERIODS = tuple(f"2024-{m:02d}" for m in range(7, 13))  # six eligible periods, everything outstanding
INSTALLMENTS = 24
AIM_FLOWS = 50.0
GOAL_FLOWS = 100.0
AIM_CPU_MS = 40.0
"""issue 14: at least 50 flows/s at no more than 40 ms of CPU per flow (two cores: 50 × 40 ms is both),
100 flows/s the goal"""
SINK = "span receiver"
OUTSIDE = ("bench driver", "perception", SINK)
"""processes that are not the platform: the load's client, the reference perception (a partner) and,
when spans are exported, their receiver (a collector, in production)"""
STEPS = ("create", "modality", "bank_accounts", "bank_account", "simulate", "validate", "to_validated")
HTTP_CALLS_PER_FLOW = 6
HISTORY = [
    "created",
    "modality_chosen",
    "bank_account_chosen",
    "awaiting_guarantee",
    "guarantee_request_received",
    "guarantee_deposited",
]
_DROPPED = (
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "REPUBLISH_POSITIONS_ON_START",
    "REPUBLISH_AFFILIATES_ON_START",
    "REPUBLISH_ACCOUNTS_ON_START",
    "DATABASE_URL",
)


def affiliate_count() -> int:
    return int(scaled(FULL_AFFILIATES, 50))


# --- data -------------------------------------------------------------------------------------------


def affiliates(count: int) -> list[str]:
    return [str(FIRST_AFFILIATE + i) for i in range(count)]


def export(numbers: list[str], password_hash: str) -> DamancomExport:
    codes = sorted(PERCEPTIONS)
    records, accounts = [], []
    for index, numero in enumerate(numbers):
        ice = f"00{numero}0001"
        records.append(
            AffiliateRecord(
                numero=numero,
                raison_sociale=f"Bench {numero} SARL",
                ice=ice + f"{97 - int(ice) % 97:02d}",
                perception=PERCEPTIONS[codes[index % len(codes)]][0],
            )
        )
        accounts.append(
            AccountRecord(
                login=f"bench.{numero}",
                display_name=f"Bench {numero}",
                password_hash=password_hash,
                affiliates=[numero],
            )
        )
    return DamancomExport(affiliates=records, accounts=accounts)


def bank_accounts(numbers: list[str]) -> list[dict[str, str]]:
    out = []
    for index, numero in enumerate(numbers):
        code, name = DEMO_BANKS[index % len(DEMO_BANKS)]
        first = f"{code}780{int(numero):016d}"
        out.append(
            {
                "affiliate": numero,
                "rib": first + rib_key(first),
                "bank_code": code,
                "bank_name": name,
                "holder": f"Bench {numero} SARL",
                "id": str(uuid.uuid5(uuid.NAMESPACE_OID, f"bench-flows-{numero}")),
            }
        )
    return out


def ledger(numbers: list[str]) -> list[tuple[str, ChargeBooked]]:
    """Per affiliate, in affiliate order: six periods of 2024 with everything outstanding, enough
    principal (240 000.00) for a 24-installment plan and penalties to remit."""
    now = datetime(2026, 10, 1, 9, tzinfo=UTC)
    amounts = {"principal": "40000.00", "majorations": "3000.00", "astreintes": "1000.00", "frais": "2000.00"}
    out = []
    for numero in numbers:
        for period in PERIODS:
            year, month = int(period[:4]), int(period[5:])
            booked = date(year + month // 12, month % 12 + 1, 1)
            for category, amount in amounts.items():
                payload = {
                    "entry_id": f"B:{numero}:{period}:{category}",
                    "affiliate": numero,
                    "period": period,
                    "category": category,
                    "amount": amount,
                    "booked_on": booked,
                }
                out.append((numero, ChargeBooked.build(payload, producer="bench", occurred_at=now)))
    return out


async def publish(bootstrap: str, entries: list[tuple[str, ChargeBooked]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5, max_batch_size=256 * 1024)
    await producer.start()
    try:
        for key, message in entries:
            await producer.send(
                DEBT_LEDGER.name,
                value=message.model_dump_json().encode(),
                key=key.encode(),
                headers=[("content-type", b"application/json")],
            )
        await producer.flush()
    finally:
        await producer.stop()


# --- the stack --------------------------------------------------------------------------------------


@dataclass
class Stack:
    infra: Infra
    keys: Path
    dsn: dict[str, str] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    processes: dict[str, Any] = field(default_factory=dict)

    own: dict[str, int] = field(default_factory=dict)
    """every process and the port it answers on alone (``ports``: where each service is called)"""
    otlp_endpoint: str | None = None
    """where the services export their spans; none: spans are built, not sent"""
    sample_ratio: float = 1.0
    """the share of traces the services record (``OTEL_TRACES_SAMPLER_ARG``)"""

    def env(self, name: str) -> dict[str, str]:
        if consumes_only(name):  # requests' events process: same database and keys, consumes its topics
            env = self.env(BUSIEST) | {"HTTP_PORT": str(self.own[name]), "CONSUME_EVENTS": "true"}
            env.pop("HTTP_SHARED_PORT", None)
            return env
        if name != service_of(name):  # another replica: its own port
            return self.env(service_of(name)) | {"HTTP_PORT": str(self.own[name])}
        extra = {
            "KAFKA_BOOTSTRAP_SERVERS": self.infra.bootstrap,
            "KAFKA_GROUP_ID": f"bench-{name}-{uuid.uuid4().hex[:8]}",
        }
        if name == "perception":
            extra |= {"PERCEPTION_HTTP_PORT": str(self.own[name]), "PERCEPTION_DEFAULT": "deposit"}
            return child_env(extra, drop=_DROPPED)
        extra |= {
            "DATABASE_URL": self.dsn[name],
            "HTTP_PORT": str(self.own[name]),
            "TOKEN_PUBLIC_KEY_FILE": str(self.keys / "signing.pub.pem"),
        }
        extra["OTEL_TRACES_SAMPLER_ARG"] = str(self.sample_ratio)
        if self.otlp_endpoint is not None:
            extra["OTEL_EXPORTER_OTLP_ENDPOINT"] = self.otlp_endpoint
        if self.ports[name] != self.own[name]:
            extra["HTTP_SHARED_PORT"] = str(self.ports[name])
        if name == "auth":
            extra["TOKEN_PRIVATE_KEY_FILE"] = str(self.keys / "signing.pem")
        if name == "simulation":
            extra["QUOTE_SIGNING_KEY_FILE"] = str(self.keys / "quote.pem")
        if name == "requests":
            extra["QUOTE_PUBLIC_KEY_FILES"] = str(self.keys / "quote.pub.pem")
            if SPLIT:
                extra["CONSUME_EVENTS"] = "false"
        return child_env(extra, drop=_DROPPED)

    def start(self) -> None:
        for name in SERVICES:
            self.dsn[name] = asyncio.run(self.infra.new_database(f"bench_flows_{name}"))
        busiest = [replica_name(BUSIEST, k) for k in range(1, REPLICAS + 1)]
        if SPLIT:
            busiest += [replica_name(BUSIEST + EVENTS_SUFFIX, k) for k in range(1, REPLICAS + 1)]
        names = (*(n for n in SERVICES if n != BUSIEST), *busiest, "perception")
        ports = free_ports(len(names) + 1)  # one more: the port requests' replicas share
        self.own |= dict(zip(names, ports, strict=False))
        self.ports |= {name: self.own[name] for name in names if name == service_of(name)}
        if REPLICAS > 1:
            self.ports[BUSIEST] = ports[-1]
        for name in names:
            if name == "perception":
                command = ["-m", "services.cli", "perception", "serve"]
            else:
                command = service_command(service_of(name), f"flows-{name}")
            self.processes[name] = spawn(command, self.env(name), self.log(name))
        for name, process in self.processes.items():
            wait_http(self.own[name], "/health/ready", process, 120, self.log(name))

    def log(self, name: str) -> Path:
        return self.infra.root / f"{name}.log"

    def stop(self) -> None:
        for process in self.processes.values():
            stop_process(process)


async def wait_known(stack: Stack, numbers: list[str], entries: int, timeout: float = 300) -> dict[str, int]:
    """Until debt applied every entry and requests and simulation project every affiliate at debt's
    last version, with its profile and its bank accounts."""
    conns = {name: await asyncpg.connect(stack.dsn[name]) for name in ("debt", "simulation", "requests")}
    queries = {
        "debt ledger entries": ("debt", "SELECT count(*) FROM ledger_entry"),
        "debt versions": ("debt", "SELECT coalesce(sum(version), 0) FROM position"),
        "simulation positions": ("simulation", "SELECT count(*) FROM positions"),
        "simulation versions": ("simulation", "SELECT coalesce(sum(version), 0) FROM positions"),
        "requests debt_position": ("requests", "SELECT count(*) FROM debt_position"),
        "requests versions": ("requests", "SELECT coalesce(sum(version), 0) FROM debt_position"),
        "requests bank_accounts": ("requests", "SELECT count(*) FROM bank_accounts"),
        "requests affiliate_profile": ("requests", "SELECT count(*) FROM affiliate_profile"),
    }
    n = len(numbers)
    try:
        deadline = time.monotonic() + timeout
        while True:
            got = {label: int(await conns[db].fetchval(q)) for label, (db, q) in queries.items()}
            counts_ok = all(got[k] == n for k in got if not k.endswith("versions") and not k.startswith("debt"))
            if (
                got["debt ledger entries"] == entries
                and counts_ok
                and got["simulation versions"] == got["debt versions"] == got["requests versions"]
            ):
                return got
            if time.monotonic() > deadline:
                raise TimeoutError(f"the stack did not learn every affiliate in {timeout} s: {got}")
            await asyncio.sleep(0.5)
    finally:
        for conn in conns.values():
            await conn.close()


# --- the client -------------------------------------------------------------------------------------


class Http:
    """Keep-alive HTTP/1.1 connections to one port on raw asyncio streams (as ``bench.loadgen``): the
    load generator shares the two cores with the stack, so it must cost as little as possible."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def call(self, method: str, path: str, auth: bytes, body: Any = None) -> tuple[int, Any]:
        try:
            return await self._call(method, path, auth, body, reuse=True)
        except (ConnectionResetError, BrokenPipeError):
            # A kept-alive connection the server closed between the check and the write: it read
            # nothing, so the call is made again on a new connection (what HTTP clients do). An
            # answer cut short is not retried: the server may have acted on the request.
            return await self._call(method, path, auth, body, reuse=False)

    async def _call(self, method: str, path: str, auth: bytes, body: Any, *, reuse: bool) -> tuple[int, Any]:
        payload = json.dumps(body).encode() if body is not None else b""
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n".encode()
            + auth
            + (b"Content-Type: application/json\r\n" if body is not None else b"")
            + f"Content-Length: {len(payload)}\r\n\r\n".encode()
        )
        while reuse and self._idle:  # uvicorn closes a keep-alive connection idle for 5 s: skip those it closed
            reader, writer = self._idle.pop()
            if not reader.at_eof() and not writer.is_closing():
                break
            writer.close()
        else:
            reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        try:
            writer.write(head + payload)
            response = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 120)
            status, length, keep = int(response[9:12]), None, True
            for line in response.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"connection" and value.strip().lower() == b"close":
                    keep = False
            if length is None:
                raise RuntimeError(f"no content-length in {response[:300]!r}")
            data = await reader.readexactly(length)
        except BaseException:
            writer.close()
            raise
        if keep:
            self._idle.append((reader, writer))
        else:
            writer.close()
        return status, (json.loads(data) if data and data[:1] in b"[{" else data)

    def close(self) -> None:
        for _, writer in self._idle:
            writer.close()
        self._idle.clear()


class Validations:
    """Watches ``requests.events.v1`` from the beginning: when each request reached VALIDATED."""

    def __init__(self, bootstrap: str) -> None:
        self._consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=10)
        self.seen: dict[str, float] = {}
        self.events = 0
        self._waiters: dict[str, asyncio.Future[float]] = {}
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._consumer.start()
        parts = self._consumer.partitions_for_topic(REQUESTS_EVENTS.name) or set(range(REQUESTS_EVENTS.partitions))
        partitions = [TopicPartition(REQUESTS_EVENTS.name, p) for p in sorted(parts)]
        self._consumer.assign(partitions)
        await self._consumer.seek_to_beginning(*partitions)
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            batch = await self._consumer.getmany(timeout_ms=100)
            now = time.perf_counter()
            for records in batch.values():
                for record in records:
                    self.events += 1
                    payload = json.loads(record.value)["payload"]
                    if payload.get("state") == "VALIDATED":
                        request_id = str(payload["request_id"])
                        self.seen.setdefault(request_id, now)
                        if (waiter := self._waiters.pop(request_id, None)) and not waiter.done():
                            waiter.set_result(now)

    async def wait(self, request_id: str, timeout: float) -> float:
        if request_id in self.seen:
            return self.seen[request_id]
        waiter = self._waiters.setdefault(request_id, asyncio.get_running_loop().create_future())
        return await asyncio.wait_for(waiter, timeout)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._consumer.stop()


SEAL = os.environ.get("BENCH_FLOW_SEAL", "1") != "0"
"""``BENCH_FLOW_SEAL=0``: validate with the quote id only, requests waits for the quote's event (the
path of every validation before quotes were sealed)."""


class Failure(Exception):
    pass


async def as_a_gateway(call: Callable[[], Awaitable[tuple[int, Any]]], retried: int) -> tuple[int, Any, int]:
    """A call made as a gateway makes it (``docs/operations.md``): a 503 ``service-sature`` (no database
    connection came free in time, so nothing was done) is tried again after its Retry-After, up to
    RETRIES times. Returns the answer and ``retried`` plus the retries made."""
    status, body = await call()
    for _ in range(RETRIES):
        if not (status == 503 and isinstance(body, dict) and body.get("code") == "service-sature"):
            break
        retried += 1
        await asyncio.sleep(SATURATED_RETRY_AFTER_S)
        status, body = await call()
    return status, body, retried


async def run_flows(stack: Stack, tokens: dict[str, str], concurrency: int) -> dict[str, Any]:
    requests, debits, simulation = (Http(stack.ports[n]) for n in ("requests", "debits", "simulation"))
    watcher = Validations(stack.infra.bootstrap)
    await watcher.start()
    latencies: dict[str, list[float]] = {step: [] for step in STEPS}
    retried: dict[str, int] = dict.fromkeys(STEPS, 0)
    errors: list[str] = []
    slots = asyncio.Semaphore(concurrency)
    try:
        _, conditions = await requests.call("GET", "/v1/conditions", b"")
        cg_version = conditions["version"]

        async def step(name: str, expected: int, call: Callable[[], Awaitable[tuple[int, Any]]]) -> Any:
            started = time.perf_counter()
            status, body, retried[name] = await as_a_gateway(call, retried[name])
            latencies[name].append(time.perf_counter() - started)
            if status != expected:
                raise Failure(f"{name}: {status} {str(body)[:300]}")
            return body

        async def flow(numero: str) -> tuple[float, float]:
            auth = f"Authorization: Bearer {tokens[numero]}\r\n".encode()
            async with slots:
                started = time.perf_counter()
                created = await step(
                    "create", 201, lambda: requests.call("POST", "/v1/requests", auth, {"affiliate": numero})
                )
                base = f"/v1/requests/{created['id']}"
                choice = {"modality": "INSTALLMENTS", "guarantee_obligation_accepted": True}
                await step("modality", 200, lambda: requests.call("PUT", f"{base}/modality", auth, choice))
                listed = await step(
                    "bank_accounts", 200, lambda: debits.call("GET", f"/v1/affiliates/{numero}/bank-accounts", auth)
                )
                account = {"bank_account_id": listed[0]["id"]}
                await step("bank_account", 200, lambda: requests.call("PUT", f"{base}/bank-account", auth, account))
                simulate = {
                    "affiliate": numero,
                    "modality": "INSTALLMENTS",
                    "advance": "0.00",
                    "installments": INSTALLMENTS,
                }
                quote = await step("simulate", 201, lambda: simulation.call("POST", "/v1/simulations", auth, simulate))
                validation = {
                    "quote_id": quote["quote_id"],
                    "cg_version": cg_version,
                    "cg_accepted": True,
                    "quote_seal": quote["seal"] if SEAL else None,  # as the portal does
                }
                waiting = await step(
                    "validate", 200, lambda: requests.call("POST", f"{base}/validation", auth, validation)
                )
                answered = time.perf_counter()
                if waiting["state"] != "AWAITING_GUARANTEE":
                    raise Failure(f"validate: state {waiting['state']}")
            validated = await watcher.wait(str(created["id"]), 300)
            latencies["to_validated"].append(max(0.0, validated - answered))
            return started, validated

        async def guarded(numero: str) -> tuple[float, float] | None:
            try:
                return await flow(numero)
            except Exception as exc:
                errors.append(f"{numero}: {type(exc).__name__}: {exc}")
                return None

        began = time.perf_counter()
        outcomes = await asyncio.gather(*(guarded(numero) for numero in tokens))
        done = [o for o in outcomes if o is not None]
        first = min((o[0] for o in done), default=began)
        last = max((o[1] for o in done), default=time.perf_counter())
    finally:
        await watcher.stop()
        for client in (requests, debits, simulation):
            client.close()
    wall = last - first
    return {
        "flows": len(done),
        "errors": errors,
        "seal": SEAL,
        "validations_refused": sum("validate: 409" in e for e in errors),
        "retried_503": retried,
        "wall_s": wall,
        "flows_per_s": len(done) / wall if wall > 0 else float("nan"),
        "calls_per_s": len(done) * HTTP_CALLS_PER_FLOW / wall if wall > 0 else float("nan"),
        "events_seen": watcher.events,
        "steps": {
            name: {"n": len(v), "p50_ms": percentile(v, 50) * 1000, "p99_ms": percentile(v, 99) * 1000}
            for name, v in latencies.items()
        },
    }


async def run_trivial(port: int, calls: int, concurrency: int) -> dict[str, Any]:
    """The baseline: ``calls`` GET /health/live on requests, same client, same concurrency."""
    client = Http(port)
    latencies: list[float] = []
    remaining = calls

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            started = time.perf_counter()
            status, body = await client.call("GET", "/health/live", b"")
            latencies.append(time.perf_counter() - started)
            if status != 200:
                raise RuntimeError(f"/health/live answered {status}: {body!r}")

    began = time.perf_counter()
    try:
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    finally:
        client.close()
    wall = time.perf_counter() - began
    return {
        "calls": len(latencies),
        "wall_s": wall,
        "calls_per_s": len(latencies) / wall,
        "p50_ms": percentile(latencies, 50) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
    }


def _pids(stack: Stack) -> dict[str, int]:
    return {name: process.pid for name, process in stack.processes.items()}


class SpanSink:
    """``bench/span_sink.py`` as a process: its endpoint once listening, what it received once stopped."""

    def __init__(self, infra: Infra) -> None:
        self.out = infra.root / "spans.json"
        self.log = infra.root / "span-sink.log"
        self.process = spawn(["-m", "bench.span_sink", str(self.out)], child_env(), self.log)
        deadline = time.monotonic() + 30
        while not (found := [x for x in self.log.read_text().split() if x.startswith("http://")]):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the span receiver did not start:\n{self.log.read_text()[-2000:]}")
            time.sleep(0.05)
        self.endpoint = found[0]

    def received(self) -> dict[str, Any]:
        stop_process(self.process)
        received: dict[str, Any] = json.loads(self.out.read_text())
        return received


# --- checks -----------------------------------------------------------------------------------------


async def check_databases(stack: Stack, numbers: list[str], simulate_calls: int) -> dict[str, int]:
    requests = await asyncpg.connect(stack.dsn["requests"])
    simulation = await asyncpg.connect(stack.dsn["simulation"])
    try:
        for _ in range(int(scaled(30, 10) / 0.2)):  # the relay's last sends
            if not await requests.fetchval("SELECT count(*) FROM outbox"):
                break
            await asyncio.sleep(0.2)
        counts = {
            "requests": await requests.fetchval("SELECT count(*) FROM request"),
            "requests VALIDATED": await requests.fetchval("SELECT count(*) FROM request WHERE state = 'VALIDATED'"),
            "requests of the bench's affiliates": await requests.fetchval(
                "SELECT count(DISTINCT affiliate) FROM request WHERE affiliate = ANY($1::text[])", numbers
            ),
            "history entries": await requests.fetchval("SELECT count(*) FROM request_history"),
            "histories exactly as expected": await requests.fetchval(
                "SELECT count(*) FROM (SELECT array_agg(event ORDER BY seq) AS events FROM request_history "
                "GROUP BY request_id) h WHERE events = $1::text[]",
                HISTORY,
            ),
            "requests outbox": await requests.fetchval("SELECT count(*) FROM outbox"),
            "requests outbox parked": await requests.fetchval("SELECT count(*) FROM outbox_parked"),
            "quotes known to requests": await requests.fetchval("SELECT count(*) FROM quote"),
            "simulation quotes": await simulation.fetchval("SELECT count(*) FROM quotes"),
        }
    finally:
        await requests.close()
        await simulation.close()
    return {k: int(v) for k, v in counts.items()}


def expected_counts(n: int, simulate_calls: int) -> dict[str, int]:
    return {
        "requests": n,
        "requests VALIDATED": n,
        "requests of the bench's affiliates": n,
        "history entries": n * len(HISTORY),
        "histories exactly as expected": n,
        "requests outbox": 0,
        "requests outbox parked": 0,
        "quotes known to requests": simulate_calls,
        "simulation quotes": simulate_calls,
    }


# --- the bench --------------------------------------------------------------------------------------


def _statements_per_flow(stack: Stack, flows: int) -> dict[str, Any]:
    databases = {dsn.rsplit("/", 1)[1]: name for name, dsn in stack.dsn.items()}
    return statements.summary(asyncio.run(statements.per_database(stack.infra.server_url)), databases, flows)


def _uvloop_run(coro_fn: Callable[[], Awaitable[Any]]) -> Any:
    try:
        import uvloop

        return uvloop.run(coro_fn())  # type: ignore[arg-type]
    except ImportError:  # pragma: no cover - uvicorn[standard] installs it
        return asyncio.run(coro_fn())  # type: ignore[arg-type]


def prepare(stack: Stack, numbers: list[str]) -> tuple[list[tuple[str, ChargeBooked]], dict[str, int], float]:
    """The affiliates' accounts, bank accounts and debt, through the services' own imports and topics,
    until requests and simulation know them all: the entries, what each service knows, the seconds."""
    started = time.monotonic()
    password_hash = Passwords().hash("Bench-flows-2024!")
    asyncio.run(import_export(stack.dsn["auth"], export(numbers, password_hash)))
    asyncio.run(import_bank_accounts(stack.dsn["debits"], bank_accounts(numbers)))
    entries = ledger(numbers)
    asyncio.run(publish(stack.infra.bootstrap, entries))
    known = asyncio.run(wait_known(stack, numbers, len(entries)))
    setup_s = time.monotonic() - started
    say(
        f"setup: {len(numbers):,} profiles (auth import), {len(numbers):,} bank accounts (debits import), "
        f"{len(entries):,} ledger entries ({DEBT_LEDGER.name}); requests and simulation know them all after "
        f"{setup_s:.1f} s"
    )
    return entries, known, setup_s


def main() -> dict[str, Any]:
    return run(AS_SET, NAME)


def main_as_deployed() -> dict[str, Any]:
    """``flows_deployed``: the same run, traced as the deployment traces (its sampling, spans exported)."""
    return run(Tracing(deployed_sample_ratio(), exported=True), f"{NAME}_deployed")


def run(tracing: Tracing, label: str) -> dict[str, Any]:
    n = affiliate_count()
    concurrency = min(CONCURRENCY, n)
    numbers = affiliates(n)
    with infrastructure(label) as infra:
        keys = infra.root / "keys"
        generate_keypair(keys / "signing.pem", keys / "signing.pub.pem")
        generate_keypair(keys / "quote.pem", keys / "quote.pub.pem")
        issuer = TokenIssuer(
            (keys / "signing.pem").read_bytes(),
            issuer="espace-recouvrement/auth",
            audience="espace-recouvrement",
            ttl=timedelta(hours=2),
        )
        now = datetime.now(UTC)
        tokens = {a: issuer.issue(Principal(str(uuid.uuid4()), f"bench.{a}", frozenset({a})), now)[0] for a in numbers}
        stack = Stack(infra, keys)
        stack.sample_ratio = tracing.sample_ratio
        sink = SpanSink(infra) if tracing.exported else None
        spans: dict[str, Any] | None = None
        try:
            if sink is not None:
                stack.otlp_endpoint = sink.endpoint
            started = time.monotonic()
            stack.start()
            say(f"five services and the reference perception ready in {time.monotonic() - started:.1f} s")
            entries, known, setup_s = prepare(stack, numbers)
            say(f"baseline: {n * HTTP_CALLS_PER_FLOW:,} GET /health/live on requests, {concurrency} in flight")
            baseline = _uvloop_run(lambda: run_trivial(stack.ports["requests"], n * HTTP_CALLS_PER_FLOW, concurrency))
            say(
                f"  {fmt(baseline['calls_per_s'])} calls/s, p50 {baseline['p50_ms']:.1f} ms, "
                f"p99 {baseline['p99_ms']:.1f} ms"
            )
            say(f"flows: {n:,} affiliates, {concurrency} in flight")
            asyncio.run(statements.reset(stack.infra.server_url))
            watched = _pids(stack) | ({SINK: sink.process.pid} if sink is not None else {})
            cpu_before = cpu_sample(watched, stack.infra)
            cpu_started = time.monotonic()
            measured = _uvloop_run(lambda: run_flows(stack, tokens, concurrency))
            cpu_wall = time.monotonic() - cpu_started
            cpu = cpu_used(cpu_before, cpu_sample(watched, stack.infra))
            sql = _statements_per_flow(stack, n)
            validate = measured["steps"]["validate"]
            say(
                f"  {measured['flows']:,} flows in {measured['wall_s']:.1f} s: {measured['flows_per_s']:.1f} flows/s, "
                f"{fmt(measured['calls_per_s'])} flow calls/s; {len(measured['errors'])} errors, of which "
                f"{measured['validations_refused']} validations refused (409); quote seal {'on' if SEAL else 'off'}; "
                f"validate p50/p99 {validate['p50_ms']:.0f}/{validate['p99_ms']:.0f} ms; calls retried after a 503 "
                f"service-sature: {sum(measured['retried_503'].values())} "
                f"({', '.join(f'{k} {v}' for k, v in measured['retried_503'].items() if v) or 'none'})"
            )
            for error in measured["errors"][:10]:
                say(f"  error {error}")
            counts = asyncio.run(check_databases(stack, numbers, measured["steps"]["simulate"]["n"]))
        finally:
            stack.stop()  # first: the services send their last spans as they stop
            if sink is not None:
                spans = sink.received()
        for name in SERVICES:
            report_profile(f"flows-{name}", limit=30)
    expected = expected_counts(n, measured["steps"]["simulate"]["n"])
    wrong = {k: (counts[k], expected[k]) for k in expected if counts[k] != expected[k]}
    result = {
        "bench": label,
        "scale": scale(),
        "machine": machine(),
        "affiliates": n,
        "concurrency": concurrency,
        "requests_processes": {"replicas": REPLICAS, "split": SPLIT},
        "setup_s": setup_s,
        "setup_counts": known,
        "ledger_entries": len(entries),
        "flows": measured,
        "baseline": baseline,
        "ratio": ratio(measured["calls_per_s"], baseline["calls_per_s"]),
        "aim_flows_per_s": AIM_FLOWS,
        "cpu_s": {k: round(v, 2) for k, v in sorted(cpu.items(), key=lambda kv: -kv[1])},
        "cpu_window_s": cpu_wall,
        "tracing": {"sample_ratio": tracing.sample_ratio, "exported": tracing.exported, "received": spans},
        "statements_per_flow": sql,
        "db_counts": counts,
        "db_expected": expected,
        "db_wrong": wrong,
    }
    print_report(result)
    write_result(label, result)
    if measured["errors"] or wrong:
        raise RuntimeError(
            f"{len(measured['errors'])} flows failed; database counts off (got, expected): {wrong}; "
            f"first errors: {measured['errors'][:3]}"
        )
    return result


def cpu_per_flow_ms(result: dict[str, Any]) -> tuple[float, float]:
    """CPU per completed flow, every measured process (they share the two cores), and the platform's
    part alone (without the bench's client and the reference perception)."""
    cpu, flows = result["cpu_s"], max(1, result["flows"]["flows"])
    platform = sum(v for k, v in cpu.items() if k not in OUTSIDE)
    return sum(cpu.values()) * 1000 / flows, platform * 1000 / flows


def rows_for(result: dict[str, Any]) -> list[list[str]]:
    f, b = result["flows"], result["baseline"]
    every, platform = cpu_per_flow_ms(result)
    return [
        [
            f"flows ({result['affiliates']:,} affiliates, {result['concurrency']} in flight{_shape(result)}; "
            f"traces {_tracing(result)})",
            f"{f['flows_per_s']:.1f} flows/s at {every:.1f} ms CPU/flow ({platform:.1f} the platform's); "
            f"p99 validate→VALIDATED {f['steps']['to_validated']['p99_ms']:.0f} ms",
            f"{fmt(f['calls_per_s'])} flow calls/s",
            f"{fmt(b['calls_per_s'])} /health/live calls/s",
            f"{result['ratio']:.0%}",
            f"≥ {AIM_FLOWS:.0f} flows/s, ≤ {AIM_CPU_MS:.0f} ms CPU/flow (goal {GOAL_FLOWS:.0f})",
        ]
    ]


def _tracing(result: dict[str, Any]) -> str:
    """how the services traced: ``100 % of traces, spans built, not sent`` or ``10 % …, exported``"""
    tracing = result.get("tracing", {"sample_ratio": 1.0, "exported": False})
    sent = "exported to an OTLP receiver" if tracing["exported"] else "spans built, not sent"
    return f"{tracing['sample_ratio']:.0%} of traces recorded, {sent}"


def _shape(result: dict[str, Any]) -> str:
    """how requests ran: ``; requests ×2, split`` (nothing when one process did everything)"""
    shape = result.get("requests_processes", {"replicas": 1, "split": False})
    said = ([f"×{shape['replicas']}"] if shape["replicas"] > 1 else []) + (["split"] if shape["split"] else [])
    return f"; requests {', '.join(said)}" if said else ""


def print_report(result: dict[str, Any]) -> None:
    f, b = result["flows"], result["baseline"]
    print()
    print(
        f"The whole flow (INSTALLMENTS × {INSTALLMENTS}, reference perception deposits), {result['affiliates']:,} "
        f"affiliates, {result['concurrency']} in flight, one uvicorn worker per process{_shape(result)} "
        f"(BENCH_SCALE={result['scale']})"
    )
    rows = [[step, f"{s['n']:,}", f"{s['p50_ms']:.1f}", f"{s['p99_ms']:.1f}"] for step, s in f["steps"].items()]
    print(table(["step", "calls", "p50 ms", "p99 ms"], rows))
    print(
        f"  {f['flows']:,} completed flows in {f['wall_s']:.1f} s = {f['flows_per_s']:.1f} flows/s (aim "
        f"≥ {AIM_FLOWS:.0f}, goal {GOAL_FLOWS:.0f}); {fmt(f['calls_per_s'])} flow HTTP calls/s "
        f"({HTTP_CALLS_PER_FLOW} per flow)"
    )
    print(
        f"  baseline: {b['calls']:,} GET /health/live on requests, same client and concurrency: "
        f"{fmt(b['calls_per_s'])} calls/s (p50 {b['p50_ms']:.1f} ms, p99 {b['p99_ms']:.1f} ms); "
        f"ratio {result['ratio']:.1%}"
    )
    cpu = result["cpu_s"]
    window = result["cpu_window_s"]
    print(
        f"  CPU seconds during the {window:.1f} s of flows (2 cores = {2 * window:.0f} CPU s): "
        + ", ".join(f"{k} {v:.1f}" for k, v in cpu.items())
    )
    every, platform = cpu_per_flow_ms(result)
    print(
        f"  CPU per flow {every:.1f} ms (aim ≤ {AIM_CPU_MS:.0f}), of which the platform's (services, Postgres, "
        f"broker) {platform:.1f} ms and the bench client's and the reference perception's the rest"
    )
    print(f"  tracing: {_tracing(result)}")
    if received := result.get("tracing", {}).get("received"):
        flows = max(1, f["flows"])
        print(
            f"  spans received: {received['spans']:,} ({received['spans'] / flows:.1f} per flow: "
            + ", ".join(f"{k} {v / flows:.1f}" for k, v in received["per_service"].items())
            + f"), {received['traces']:,} traces (by services crossed: "
            + ", ".join(f"{k}: {v:,}" for k, v in received["traces_by_services_crossed"].items())
            + f"); {received['rejected']} export bodies refused"
        )
    if sql := result["statements_per_flow"]:
        print("  SQL statements per flow during the flows (pg_stat_statements, top level; BENCH_STATEMENTS=1):")
        print(
            table(
                ["service", "per flow", "of which BEGIN/COMMIT/SAVEPOINT/RELEASE", "most called (per flow)"],
                [
                    [name, f"{s['per_unit']:.1f}", f"{s['control_per_unit']:.1f}", f"{s['top'][0][0]} {s['top'][0][1]}"]
                    for name, s in sorted(sql.items(), key=lambda kv: -kv[1]["per_unit"])
                ],
            )
        )
    counts = result["db_counts"]
    print(
        table(
            ["database check", "found", "expected"],
            [[k, f"{v:,}", f"{result['db_expected'][k]:,}"] for k, v in counts.items()],
        )
    )


if __name__ == "__main__":
    main()
