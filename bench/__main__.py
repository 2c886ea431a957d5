"""``make bench``: every benchmark in sequence, then one summary table (each figure beside its same-run
baseline). ``BENCH_SCALE=0.05`` for a quick run; ``BENCH_ONLY=ingestion,startup`` to pick some;
``BENCH_BREAKDOWN=1`` (or ``BENCH_ONLY=breakdown``) adds the stage-by-stage timing of the debt service;
``BENCH_PROFILE=1`` runs the measured debt service under cProfile and prints the top of the profile.

Results: ``bench/results/<name>.json`` and ``bench/results/summary.json`` (git-ignored).
"""

import os
import sys
import time
import traceback
from collections.abc import Callable
from types import ModuleType
from typing import Any

from bench import (
    breakdown,
    debit_intake,
    debit_run,
    debt_http,
    flows,
    http_dependencies,
    ingestion,
    portal_pages,
    simulation_http,
    startup,
)
from bench.common import code_version, machine, say, scale, table, write_result

BENCHES: dict[str, ModuleType] = {
    "ingestion": ingestion,
    "debt_http": debt_http,
    "simulation_http": simulation_http,
    "flows": flows,
    "flows_deployed": flows,
    "portal_pages": portal_pages,
    "startup": startup,
    "debit_run": debit_run,
    "debit_intake": debit_intake,
    "breakdown": breakdown,
    "http_dependencies": http_dependencies,
}
ENTRY = {"flows_deployed": "main_as_deployed"}
"""a bench that is another run of a module: its entry point"""
OPTIONAL = {"breakdown": "BENCH_BREAKDOWN", "http_dependencies": "BENCH_DEPENDENCIES"}
ISSUE_14_START = {
    "ingestion": "11 % month order, 27 % affiliate order",
    "debt_http": "16 %",
    "simulation_http": "4-5.6 %",
    "flows": "13.8-20.2 flows/s, 0.5-12 % of validations refused",
    "flows_deployed": "–",
    "portal_pages": "×1.6 to ×2.15",
    "startup cold, with demo": "41-50 s",
    "idle stack (make run, warm, demo)": "about 1.4 cores of 2 (top, 10 s)",
    "debit_run": "5.2 % (398 orders/s), 1M never run",
    "debit_intake": "4,430 plans in 120 s (37 plans/s), slowing as it goes",
}
"""the figures issue 14 started from (2026-12-05), printed beside today's: by bench, or by row for
the benches with several rows"""


def issue_14_start(bench: str, row: list[str]) -> str:
    if bench == "startup":
        return ISSUE_14_START.get(row[0], "–")  # by row: the idle stack, the launches
    return ISSUE_14_START.get(bench, "–")


def main() -> int:
    only = [name for name in os.environ.get("BENCH_ONLY", "").split(",") if name]
    unknown = set(only) - set(BENCHES)
    if unknown:
        print(f"unknown bench(es) {sorted(unknown)}; known: {sorted(BENCHES)}", file=sys.stderr)
        return 2
    started = time.monotonic()
    results: dict[str, Any] = {}
    failures: dict[str, str] = {}
    changes: dict[str, str] = {}
    for name, module in BENCHES.items():
        if (only and name not in only) or (not only and name in OPTIONAL and os.environ.get(OPTIONAL[name]) != "1"):
            continue
        say(f"=== {name} (BENCH_SCALE={scale()}) ===")
        run: Callable[[], dict[str, Any]] = getattr(module, ENTRY.get(name, "main"))
        bench_started = time.monotonic()
        before = code_version()
        try:
            results[name] = run()
        except Exception as exc:  # one bench failing must not hide the others' figures
            traceback.print_exc()
            failures[name] = f"{type(exc).__name__}: {exc}"[:2000]
        if code_version() != before:  # other people commit while a long run goes on
            changes[name] = f"code changed during the run: {before} -> {code_version()}"
            say(f"WARNING {name}: {changes[name]}")
        say(f"=== {name} took {time.monotonic() - bench_started:.0f} s ===")
    rows = []
    for name, result in results.items():
        rows += [[*row, issue_14_start(name, row)] for row in BENCHES[name].rows_for(result)]
    print()
    print(f"Summary (BENCH_SCALE={scale()}, {machine()['cpus']} CPUs, {time.monotonic() - started:.0f} s in all)")
    header = ["bench", "volume / detail", "measured", "baseline (same run)", "ratio", "aim", "issue 14's start"]
    print(table(header, rows))
    for name, reason in failures.items():
        print(f"FAILED {name}: {reason}")
    for name, change in changes.items():
        print(f"WARNING {name}: {change}")
    summary = {"scale": scale(), "machine": machine(), "rows": rows, "failures": failures, "code_changes": changes}
    write_result("summary", summary)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
