"""``recouvrement run`` (``python -m services.cli run``): seconds from launch to the "Ctrl-C" line, i.e.
embedded Postgres and broker up, topics provisioned, every service ready (and the demo seeded when
asked). Cold = new data dir (initdb, keys); warm = the same data dir again. Without and with the demo.

Baseline: on the same machine in the same run, launching one bare uvicorn hello-world process until
it answers 200; the ratio says how many "bare service starts" the whole stack costs.

    BENCH_SCALE=0.05 python -m bench.startup
"""

import contextlib
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import (
    ROOT,
    child_env,
    http_status,
    machine,
    median,
    say,
    scale,
    spawn,
    stop_process,
    table,
    warm_bytecode,
    write_result,
)
from services.stack.embedded import EmbeddedPostgres, free_port, free_ports

NAME = "startup"
WARM_IMPORTS = (
    "services.cli",
    "services.stack.launcher",
    "services.stack.seed",
    "services.auth.main",
    "services.debt.main",
    "bench.bare_app",
    "uvicorn.loops.auto",
    "uvicorn.protocols.http.auto",
)
READY_MARK = "Ctrl-C"
PHASES = {  # a line of the launcher's output -> the phase it ends
    "postgres embarqué prêt": "postgres",
    "broker Kafka embarqué": "broker",
    "services prêts": "services",
    "données de démo chargées": "demo",
}


def _ports() -> dict[str, int]:
    names = ("pg", "kafka", "auth", "debt")
    return dict(zip(names, free_ports(len(names)), strict=True))


def _cleanup_orphans(data_dir: Path, ports: dict[str, int]) -> None:
    """Only after a launcher had to be killed: stop what it started (its Postgres, its broker)."""
    postgres = EmbeddedPostgres(data_dir / "postgres", ports["pg"])
    if (postgres.data_dir / "postmaster.pid").exists():
        with contextlib.suppress(Exception):
            postgres.stop()
    needle = f"tcp://127.0.0.1:{ports['kafka']}".encode()
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            with contextlib.suppress(OSError):
                if needle in (proc / "cmdline").read_bytes():
                    os.kill(int(proc.name), signal.SIGTERM)


IDLE_SETTLE_S = 20.0
"""after "Ctrl-C": the demo's events are consumed and every consumer has gone quiet"""
IDLE_WINDOW_S = 30.0
IDLE_AIM = 0.10
"""issue 14: an idle stack under a tenth of one core"""


def _processes() -> dict[int, tuple[int, str, float]]:
    """Every process: its parent, its name and the CPU seconds it used so far (from /proc)."""
    found: dict[int, tuple[int, str, float]] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            head, tail = (entry / "stat").read_text().rsplit(")", 1)
        except (OSError, ValueError):
            continue
        fields = tail.split()
        found[int(entry.name)] = (int(fields[1]), head.partition("(")[2], (int(fields[11]) + int(fields[12])) / tick)
    return found


def _stack_cpu(roots: list[int]) -> dict[tuple[int, str], float]:
    """CPU seconds so far of ``roots`` and all their descendants: the launcher and every service,
    partner and broker it started; the Postgres postmaster (pg_ctl detaches it) and its backends."""
    table = _processes()
    children: dict[int, list[int]] = {}
    for pid, (parent, _, _) in table.items():
        children.setdefault(parent, []).append(pid)
    used: dict[tuple[int, str], float] = {}
    todo = [pid for pid in roots if pid in table]
    while todo:
        pid = todo.pop()
        used[(pid, table[pid][1])] = table[pid][2]
        todo += children.get(pid, [])
    return used


def idle_share(roots: list[int], window_s: float) -> dict[str, Any]:
    """The share of one core the stack's processes used over ``window_s`` of no traffic."""
    before = _stack_cpu(roots)
    time.sleep(window_s)
    after = _stack_cpu(roots)
    by_name: dict[str, float] = {}
    for (pid, name), cpu in after.items():
        by_name[name] = by_name.get(name, 0.0) + (cpu - before.get((pid, name), 0.0)) / window_s
    return {"share": sum(by_name.values()), "by_name": dict(sorted(by_name.items(), key=lambda i: -i[1]))}


def _postmaster(data_dir: Path) -> list[int]:
    with contextlib.suppress(OSError, ValueError, IndexError):
        return [int((data_dir / "postgres" / "postmaster.pid").read_text().split()[0])]
    return []


def launch(
    data_dir: Path,
    ports: dict[str, int],
    demo: bool,
    *,
    bytecode_cache: bool = True,
    timeout: float = 180,
    idle_s: float = 0.0,
) -> dict[str, Any]:
    """``idle_s``: once ready, also how much of a core the idle stack uses over that window."""
    drop = ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS") if "BENCH_STARTUP_EXTERNAL" not in os.environ else ()
    env = child_env(
        {
            "RECOUVREMENT_DATA_DIR": str(data_dir),
            "RECOUVREMENT_PG_PORT": str(ports["pg"]),
            "RECOUVREMENT_KAFKA_PORT": str(ports["kafka"]),
            "RECOUVREMENT_AUTH_PORT": str(ports["auth"]),
            "RECOUVREMENT_DEBT_PORT": str(ports["debt"]),
            "RECOUVREMENT_SEED_DEMO": "1" if demo else "0",
        },
        drop=(*drop, "OTEL_EXPORTER_OTLP_ENDPOINT"),
        bytecode_cache=bytecode_cache,
    )
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "services.cli", "run"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        ready, phases, output = _read_until_ready(process, started, timeout)
        if ready is None:
            raise RuntimeError("the stack did not start:\n" + "".join(output[-40:]))
        idle = None
        if idle_s:
            time.sleep(IDLE_SETTLE_S)
            idle = idle_share([process.pid, *_postmaster(data_dir)], idle_s)
    finally:
        stop_started = time.monotonic()
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
        try:
            process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate(timeout=10)
            _cleanup_orphans(data_dir, ports)
        stopped = time.monotonic() - stop_started
    return {"seconds": ready, "phases": phases, "stop_seconds": stopped, "idle": idle}


def _read_until_ready(
    process: subprocess.Popen[bytes], started: float, timeout: float
) -> tuple[float | None, dict[str, float], list[str]]:
    """The launcher's output until its "Ctrl-C" line: when it came, when each phase ended, the lines."""
    assert process.stdout is not None
    fd = process.stdout.fileno()
    output: list[str] = []
    phases: dict[str, float] = {}
    pending = b""
    deadline = started + timeout
    while time.monotonic() < deadline:
        readable, _, _ = select.select([fd], [], [], 0.5)
        if not readable:
            if process.poll() is not None:
                break
            continue
        chunk = os.read(fd, 65536)  # raw reads: a buffered readline would hide lines from select
        if not chunk:
            break
        now = time.monotonic() - started
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for raw in lines:
            line = raw.decode(errors="replace")
            output.append(line + "\n")
            for mark, phase in PHASES.items():
                if mark in line:
                    phases[phase] = now
            if READY_MARK in line:
                return now, phases, output
    return None, phases, output


def bare_idle(root: Path) -> float:
    """The baseline of the idle figure: one bare uvicorn hello world, no traffic, the same window."""
    port = free_port()
    process = spawn(["-m", "bench.bare_app", "hello"], child_env({"HTTP_PORT": str(port)}), root / "idle.log")
    try:
        deadline = time.monotonic() + 60
        while http_status(port, "/", timeout=1.0) != 200:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("bare uvicorn did not answer")
            time.sleep(0.05)

        def cpu() -> float:
            fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

        before = cpu()
        time.sleep(IDLE_WINDOW_S)
        return (cpu() - before) / IDLE_WINDOW_S
    finally:
        stop_process(process)


def bare_start(root: Path, *, bytecode_cache: bool = True) -> float:
    port = free_port()
    log = root / f"hello-{port}.log"
    env = child_env({"HTTP_PORT": str(port)}, bytecode_cache=bytecode_cache)
    started = time.monotonic()
    process = spawn(["-m", "bench.bare_app", "hello"], env, log)
    try:
        deadline = started + 60
        while http_status(port, "/", timeout=1.0) != 200:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"bare uvicorn did not answer:\n{log.read_text()[-2000:]}")
            time.sleep(0.005)
        return time.monotonic() - started
    finally:
        stop_process(process)


def main() -> dict[str, Any]:
    s = scale()
    repeats = 3 if s >= 0.5 else 1
    root = Path(tempfile.mkdtemp(prefix="bench-startup-"))
    runs: dict[str, list[dict[str, Any]]] = {}
    no_cache = "warm, no demo, without bytecode cache"
    try:
        warm_bytecode(*WARM_IMPORTS)
        bare_start(root)  # the first start also warms the OS file cache for the imports
        bare = [bare_start(root) for _ in range(max(3, repeats * 2))]
        bare_no_cache = [bare_start(root, bytecode_cache=False) for _ in range(repeats)]
        say(
            f"bare uvicorn hello world: {median(bare):.2f} s (median of {len(bare)}); "
            f"{median(bare_no_cache):.2f} s without bytecode cache"
        )
        for repeat in range(repeats):
            for demo in (False, True):
                data_dir = root / f"data-{int(demo)}-{repeat}"
                ports = _ports()
                plan = [("cold", True), ("warm", True)] + ([] if demo else [(no_cache, False)])
                for temperature, cache in plan:
                    key = f"{temperature}, {'with' if demo else 'no'} demo" if cache else no_cache
                    measure_idle = IDLE_WINDOW_S if (repeat, key) == (0, "warm, with demo") else 0.0
                    run = launch(data_dir, ports, demo, bytecode_cache=cache, idle_s=measure_idle)
                    if run["idle"] is not None:
                        idle = run["idle"]
                        say(f"idle stack: {idle['share']:.1%} of one core over {IDLE_WINDOW_S:.0f} s")
                    runs.setdefault(key, []).append(run)
                    stop = run["stop_seconds"]
                    say(f"{key}: ready in {run['seconds']:.2f} s ({_phases(run)}), stopped in {stop:.1f} s")
                shutil.rmtree(data_dir, ignore_errors=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    baseline = median(bare)
    idle_bare = bare_idle(root)
    result: dict[str, Any] = {
        "bench": NAME,
        "scale": s,
        "machine": machine(),
        "repeats": repeats,
        "baseline": {"what": "bare uvicorn hello world, launch -> first 200", "seconds": bare, "median": baseline},
        "baseline_without_bytecode_cache": {"seconds": bare_no_cache, "median": median(bare_no_cache)},
        "idle": {
            "window_s": IDLE_WINDOW_S,
            "stack": next(r["idle"] for r in runs["warm, with demo"] if r["idle"] is not None),
            "bare_uvicorn": idle_bare,
        },
        "runs": {
            key: {
                "seconds": [r["seconds"] for r in values],
                "median": median([r["seconds"] for r in values]),
                "phases_median": {
                    p: median([r["phases"][p] for r in values if p in r["phases"]])
                    for p in PHASES.values()
                    if any(p in r["phases"] for r in values)
                },
                "stop_seconds_median": median([r["stop_seconds"] for r in values]),
                "bare_starts": median([r["seconds"] for r in values]) / baseline,
            }
            for key, values in runs.items()
        },
    }
    print_report(result)
    write_result(NAME, result)
    return result


def _phases(run: dict[str, Any]) -> str:
    return ", ".join(f"{name} {at:.2f}" for name, at in sorted(run["phases"].items(), key=lambda item: item[1]))


def rows_for(result: dict[str, Any]) -> list[list[str]]:
    base = result["baseline"]["median"]
    idle = result["idle"]
    top = ", ".join(f"{name} {share:.1%}" for name, share in list(idle["stack"]["by_name"].items())[:3])
    return [
        [
            "idle stack (make run, warm, demo)",
            f"{idle['window_s']:.0f} s without traffic; {top}",
            f"{idle['stack']['share']:.1%} of one core",
            f"{idle['bare_uvicorn']:.1%} (bare uvicorn)",
            "-",
            f"< {IDLE_AIM:.0%}",
        ],
        *_launch_rows(result, base),
    ]


def _launch_rows(result: dict[str, Any], base: float) -> list[list[str]]:
    return [
        [
            f"startup {key}",
            "launch → Ctrl-C",
            f"{r['median']:.2f} s",
            f"{base:.2f} s",
            f"{r['bare_starts']:.1f}× bare",
            "≤ 15 s" if key == "cold, with demo" else "-",  # issue 14: a newcomer's first make run
        ]
        for key, r in result["runs"].items()
    ]


def print_report(result: dict[str, Any]) -> None:
    base = result["baseline"]["median"]
    print()
    print(f"recouvrement run, launch → 'Ctrl-C' line (median of {result['repeats']}; BENCH_SCALE={result['scale']})")
    rows = []
    for key, r in result["runs"].items():
        phases = ", ".join(f"{p} {t:.2f}" for p, t in sorted(r["phases_median"].items(), key=lambda item: item[1]))
        rows.append([key, f"{r['median']:.2f}", f"{r['bare_starts']:.1f}", phases, f"{r['stop_seconds_median']:.1f}"])
    rows.append(["baseline: bare uvicorn hello world", f"{base:.2f}", "1.0", "launch → first 200", "-"])
    no_cache = result["baseline_without_bytecode_cache"]["median"]
    rows.append(["(bare uvicorn, without bytecode cache)", f"{no_cache:.2f}", f"{no_cache / base:.1f}", "", "-"])
    print(table(["run", "s to ready", "× bare start", "phases ended at (s)", "stop s"], rows))
    idle = result["idle"]
    shares = ", ".join(f"{name} {share:.1%}" for name, share in idle["stack"]["by_name"].items())
    print(
        f"  idle (warm, with demo, {IDLE_SETTLE_S:.0f} s after ready, over {idle['window_s']:.0f} s): "
        f"{idle['stack']['share']:.1%} of one core (aim < {IDLE_AIM:.0%}; a bare uvicorn "
        f"{idle['bare_uvicorn']:.1%}): {shares}"
    )


if __name__ == "__main__":
    main()
