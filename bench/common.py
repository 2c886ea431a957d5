"""What every benchmark shares: scale, embedded infrastructure, child processes, Kafka offsets, output.

Every figure is printed beside a baseline measured in the same run on the same machine, because the
machines are shared and noisy: the ratio is what carries over from one run to the next.
"""

import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition

from bench import statements
from services.stack.embedded import EmbeddedBroker, EmbeddedPostgres, free_port
from services.stack.provisioning import database_url, provision_topics

ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = Path(__file__).resolve().parent / "results"


def scale() -> float:
    """``BENCH_SCALE`` (default 1.0) multiplies every volume and duration, so a quick run is possible."""
    value = float(os.environ.get("BENCH_SCALE", "1.0"))
    if not 0 < value <= 100:
        raise ValueError(f"BENCH_SCALE must be in (0, 100], got {value}")
    return value


def scaled(full: float, minimum: float) -> float:
    return max(minimum, full * scale())


def say(message: str) -> None:
    print(f"[bench] {message}", flush=True)


# --- child processes --------------------------------------------------------------------------------


PYCACHE = Path(tempfile.gettempdir()) / "bench-pycache"


def child_env(
    extra: dict[str, str] | None = None, *, drop: Sequence[str] = (), bytecode_cache: bool = True
) -> dict[str, str]:
    """The environment of a child Python process: the repository on the path, unbuffered output.

    Where ``PYTHONDONTWRITEBYTECODE`` is set (as on these sandboxes), every start would compile every
    module again (~1.5 s of CPU for a service); a machine that already has its dependencies has their
    bytecode, so children keep theirs in ``PYCACHE`` (outside the repository) unless ``bytecode_cache``
    is False.
    """
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    if not bytecode_cache:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env.pop("PYTHONPYCACHEPREFIX", None)
    elif env.pop("PYTHONDONTWRITEBYTECODE", None) is not None and "PYTHONPYCACHEPREFIX" not in env:
        env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    return env | (extra or {})


def warm_bytecode(*modules: str) -> None:
    """Compile (once) what the child processes import, so no measured start pays for it."""
    code = "import " + ", ".join(modules)
    subprocess.run([sys.executable, "-c", code], env=child_env(), cwd=ROOT, check=True, timeout=120)


def spawn(args: Sequence[str], env: dict[str, str], log_file: Path) -> subprocess.Popen[bytes]:
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, *args], env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def service_command(name: str, label: str) -> list[str]:
    """``-m services.cli serve NAME``, under cProfile when ``BENCH_PROFILE=1`` (see ``bench.profiled``)."""
    command = ["-m", "services.cli", "serve", name]
    if os.environ.get("BENCH_PROFILE") == "1":
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        return ["-m", "bench.profiled", str(profile_path(label)), *command[1:]]
    return command


def profile_path(label: str) -> Path:
    return RESULTS_DIR / f"{label}.prof"


def report_profile(label: str, limit: int = 45) -> None:
    path = profile_path(label)
    if os.environ.get("BENCH_PROFILE") != "1" or not path.exists():
        return
    from bench.profiled import summary

    say(f"profile of {label} (cProfile, {path}): by own time, then cumulative")
    print(summary(path, limit, "tottime"))
    print(summary(path, limit, "cumulative"))


def stop_process(process: subprocess.Popen[Any] | None, timeout: float = 20) -> None:
    """SIGTERM the process we started (its own session), then SIGKILL if it lingers."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


def http_status(port: int, path: str, timeout: float = 2.0) -> int | None:
    """A tiny HTTP/1.1 GET (no client library in the measured path); None when nothing answers."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
            head = sock.recv(64)
    except OSError:
        return None
    parts = head.split(b" ", 2)
    return int(parts[1]) if len(parts) >= 2 and parts[1].isdigit() else None


def wait_http(port: int, path: str, process: subprocess.Popen[Any], timeout: float, log: Path | None = None) -> float:
    """Poll until ``path`` answers 200; returns the monotonic time it did. Fails if the process dies."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
            raise RuntimeError(f"process exited with {process.returncode} before {path} answered 200\n{tail}")
        if http_status(port, path, timeout=1.0) == 200:
            return time.monotonic()
        time.sleep(0.02)
    raise TimeoutError(f"127.0.0.1:{port}{path} not 200 within {timeout}s")


# --- infrastructure ---------------------------------------------------------------------------------


@dataclass
class Infra:
    """Embedded Postgres and Tansu on free ports in a temp dir, or the external ones from the environment."""

    root: Path
    server_url: str
    bootstrap: str
    postgres: EmbeddedPostgres | None = None
    broker: EmbeddedBroker | None = None
    databases: list[str] = field(default_factory=list)

    @property
    def embedded_broker(self) -> bool:
        return self.broker is not None

    async def new_database(self, prefix: str) -> str:
        """A fresh, empty database (dropped at the end when the server is external)."""
        name = f"{prefix}_{uuid.uuid4().hex[:8]}"
        admin = await asyncpg.connect(database_url(self.server_url, "postgres"))
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()
        self.databases.append(name)
        return database_url(self.server_url, name)

    def fresh_broker(self) -> None:
        """Tansu keeps everything in memory: a new broker is an empty topic and no consumer group."""
        if self.broker is None:
            raise RuntimeError("an external broker cannot be reset")
        self.broker.stop()
        self.broker = EmbeddedBroker(free_port(), self.root / "broker.log")
        self.broker.start()
        self.bootstrap = self.broker.bootstrap
        asyncio.run(provision_topics(self.bootstrap))

    async def _drop_databases(self) -> None:
        admin = await asyncpg.connect(database_url(self.server_url, "postgres"))
        try:
            for name in self.databases:
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@contextlib.contextmanager
def infrastructure(name: str) -> Iterator[Infra]:
    root = Path(tempfile.mkdtemp(prefix=f"bench-{name}-"))
    if "XDG_RUNTIME_DIR" not in os.environ:  # embedded Postgres puts a lock there (else /run/user/0)
        runtime = Path(tempfile.gettempdir()) / "bench-xdg-runtime"
        runtime.mkdir(mode=0o700, exist_ok=True)
        os.environ["XDG_RUNTIME_DIR"] = str(runtime)
    infra = Infra(root, os.environ.get("DATABASE_URL", ""), os.environ.get("KAFKA_BOOTSTRAP_SERVERS", ""))
    try:
        if not infra.server_url:
            infra.postgres = EmbeddedPostgres(root / "postgres", free_port(), statements.SERVER_SETTINGS)
            infra.postgres.start()
            infra.server_url = infra.postgres.url
            asyncio.run(statements.install(infra.server_url))
        if not infra.bootstrap:
            infra.broker = EmbeddedBroker(free_port(), root / "broker.log")
            infra.broker.start()
            infra.bootstrap = infra.broker.bootstrap
        asyncio.run(provision_topics(infra.bootstrap))
        say(f"infrastructure: postgres {infra.server_url}, kafka {infra.bootstrap}, files {root}")
        yield infra
    finally:
        if infra.postgres is None and infra.databases:
            with contextlib.suppress(Exception):
                asyncio.run(infra._drop_databases())
        if infra.broker is not None:
            infra.broker.stop()
        if infra.postgres is not None:
            with contextlib.suppress(Exception):
                infra.postgres.stop()
        if os.environ.get("BENCH_KEEP_FILES") != "1":
            shutil.rmtree(root, ignore_errors=True)


# --- CPU per process --------------------------------------------------------------------------------

_TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds used) of a process, from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / _TICK


def cpu_sample(processes: Mapping[str, int], infra: "Infra") -> dict[str, dict[int, float]]:
    """CPU seconds per process group: each of ``processes`` (name -> pid), Postgres (postmaster and
    its backends) and the broker when embedded, this driver."""
    groups: dict[str, list[int]] = {name: [pid] for name, pid in processes.items()}
    groups["bench driver"] = [os.getpid()]
    broker = getattr(infra.broker, "process", None)
    if broker is not None:
        groups["broker"] = [broker.pid]
    if infra.postgres is not None:
        try:
            postmaster = int((infra.postgres.data_dir / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            postmaster = 0
        if postmaster:
            children = []
            for entry in Path("/proc").iterdir():
                if entry.name.isdigit() and (found := _stat(int(entry.name))) and found[0] == postmaster:
                    children.append(int(entry.name))
            groups["postgres"] = [postmaster, *children]
    sample: dict[str, dict[int, float]] = {}
    for name, pids in groups.items():
        sample[name] = {pid: found[1] for pid in pids if (found := _stat(pid))}
    return sample


def cpu_used(before: dict[str, dict[int, float]], after: dict[str, dict[int, float]]) -> dict[str, float]:
    """CPU seconds each group used between two samples (a process gone by then counts nothing)."""
    return {
        name: sum(cpu - before.get(name, {}).get(pid, 0.0) for pid, cpu in pids.items()) for name, pids in after.items()
    }


# --- Kafka offsets ----------------------------------------------------------------------------------
# Tansu answers ListOffsets(latest) with the base offset of the last record batch, not the high
# watermark, so targets come from the producer's acknowledgements and progress from committed offsets.


class GroupProgress:
    """Committed offsets of a consumer group, read without joining it (OffsetFetch only)."""

    def __init__(self, bootstrap: str, group_id: str, topic: str, partitions: Sequence[int]) -> None:
        self._consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group_id, enable_auto_commit=False)
        self._parts = [TopicPartition(topic, p) for p in partitions]

    async def __aenter__(self) -> "GroupProgress":
        await self._consumer.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self._consumer.stop()

    async def committed(self) -> dict[int, int]:
        return {tp.partition: (await self._consumer.committed(tp)) or 0 for tp in self._parts}


# --- output -----------------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    line = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
    out = [line]
    for index, row in enumerate(cells):
        out.append(
            "| "
            + " | ".join(
                c.rjust(w) if index and c[:1].isdigit() else c.ljust(w) for c, w in zip(row, widths, strict=True)
            )
            + " |"
        )
        if index == 0:
            out.append(line)
    out.append(line)
    return "\n".join(out)


def code_version() -> dict[str, Any]:
    """The commit measured, and the files that differed from it (read-only git calls)."""

    def git(*args: str) -> str:
        try:
            done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10, check=False)
        except OSError:
            return ""
        return done.stdout

    changed = [line[3:] for line in git("status", "--porcelain").splitlines() if not line[3:].startswith("bench/")]
    return {"commit": git("rev-parse", "--short", "HEAD").strip(), "modified": changed}


def machine() -> dict[str, Any]:
    load = os.getloadavg()
    return {
        "cpus": os.cpu_count(),
        "loadavg_1m_at_start": round(load[0], 2),
        "python": sys.version.split()[0],
        "code": code_version(),
    }


def write_result(name: str, data: dict[str, Any]) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    path.write_text(json.dumps(data, indent=2, default=str) + "\n")
    return path


def fmt(value: float, digits: int = 0) -> str:
    return f"{value:,.{digits}f}"


def ratio(measured: float, baseline: float) -> float:
    return measured / baseline if baseline else float("nan")
