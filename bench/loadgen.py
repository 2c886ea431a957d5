"""A small closed-loop HTTP/1.1 load generator on raw asyncio streams (uvloop when available), run as
its own process: N keep-alive connections, each sending the next request as soon as the previous
response is read. Counts the responses completed inside the measurement window (after a warm-up).

    python -m bench.loadgen PORT PATH CONNECTIONS WARMUP_S DURATION_S [HEADER ...]

``BENCH_LOADGEN_METHOD=POST`` and ``BENCH_LOADGEN_BODY_FILE=body.json`` send that body (with its
``Content-Length``) on every request instead of a bodiless GET.

Prints one JSON object: requests, rps, latency percentiles (ms), status counts, body bytes.
"""

import asyncio
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

MAX_HEAD = 64 * 1024


async def _connection(
    port: int,
    request: bytes,
    *,
    window: tuple[float, float],
    latencies: list[float],
    statuses: Counter[int],
    sizes: set[int],
) -> None:
    start, stop = window
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=MAX_HEAD)
    try:
        while (sent := time.perf_counter()) < stop:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.lower() == b"content-length":
                    length = int(value)
                    break
            else:
                raise RuntimeError(f"no content-length in {head[:300]!r}")
            await reader.readexactly(length)
            done = time.perf_counter()
            if start <= done < stop:
                latencies.append(done - sent)
                statuses[status] += 1
                sizes.add(length)
    finally:
        writer.close()


async def load(
    port: int,
    path: str,
    *,
    connections: int,
    warmup: float,
    duration: float,
    headers: list[str],
    method: str = "GET",
    body: bytes = b"",
) -> dict[str, Any]:
    length = [f"Content-Length: {len(body)}"] if body else []
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", *headers, *length, "", ""]
    request = "\r\n".join(lines).encode() + body
    start = time.perf_counter() + warmup
    window = (start, start + duration)
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    sizes: set[int] = set()
    await asyncio.gather(
        *(
            _connection(port, request, window=window, latencies=latencies, statuses=statuses, sizes=sizes)
            for _ in range(connections)
        )
    )
    latencies.sort()

    def pct(q: float) -> float:
        return (
            latencies[min(len(latencies) - 1, round(q / 100 * (len(latencies) - 1)))] * 1000
            if latencies
            else float("nan")
        )

    return {
        "connections": connections,
        "duration_s": duration,
        "requests": len(latencies),
        "rps": len(latencies) / duration,
        "p50_ms": pct(50),
        "p90_ms": pct(90),
        "p99_ms": pct(99),
        "max_ms": latencies[-1] * 1000 if latencies else float("nan"),
        "statuses": {str(k): v for k, v in statuses.items()},
        "body_bytes": sorted(sizes),
    }


def main() -> None:
    port, path, connections, warmup, duration, *headers = sys.argv[1:]
    try:
        import uvloop

        run = uvloop.run
    except ImportError:  # pragma: no cover - uvicorn[standard] installs it
        run = asyncio.run
    result = run(
        load(
            int(port),
            path,
            connections=int(connections),
            warmup=float(warmup),
            duration=float(duration),
            headers=headers,
            method=os.environ.get("BENCH_LOADGEN_METHOD", "GET"),
            body=Path(body_file).read_bytes() if (body_file := os.environ.get("BENCH_LOADGEN_BODY_FILE")) else b"",
        )
    )
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
