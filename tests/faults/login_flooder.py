"""A flooder and an owner, each in a process of its own, as on two machines (neither shares the
test's event loop, nor the OTLP receiver the test runs for the stack):

    python -m tests.faults.login_flooder flood URL ADDRESS ATTEMPTS CONNECTIONS
    python -m tests.faults.login_flooder owner URL ADDRESS LOGIN PASSWORD TIMES INTERVAL

``flood`` sends ATTEMPTS logins with made-up names and a wrong password to URL (auth's
/v1/sessions) from ADDRESS over CONNECTIONS keep-alive connections, and prints one JSON line: the
statuses counted, the Retry-After values seen on the 429s, transport errors, the seconds it took.
``owner`` logs in TIMES times, INTERVAL seconds apart, each time on a new connection as a browser
would, and prints the statuses and the seconds each took.
"""

import asyncio
import json
import sys
import time
import uuid
from collections import Counter

import httpx


async def flood(url: str, address: str, attempts: int, connections: int) -> dict[str, object]:
    """Raw HTTP/1.1 on asyncio streams, as an attacker's tool (wrk, a script) would: it costs the
    flooder a fraction of what httpx would, so on a shared test machine the CPU left to the stack
    is the stack's, not the flooder's."""
    target = httpx.URL(url)
    statuses: Counter[int] = Counter()
    errors: Counter[str] = Counter()
    retry_after: set[str] = set()
    left = attempts

    def request() -> bytes:
        body = json.dumps({"login": f"inconnu.{uuid.uuid4().hex[:10]}", "password": "faux"}).encode()
        head = (
            f"POST {target.raw_path.decode()} HTTP/1.1\r\nHost: {target.host}:{target.port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        return head.encode() + body

    async def connection() -> None:
        nonlocal left
        while left > 0:
            try:
                reader, writer = await asyncio.open_connection(target.host, target.port, local_addr=(address, 0))
            except OSError as error:
                errors[type(error).__name__] += 1
                await asyncio.sleep(0.1)
                continue
            try:
                while left > 0:
                    left -= 1
                    writer.write(request())
                    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
                    fields = dict(line.lower().split(": ", 1) for line in head[1:] if ": " in line)
                    await reader.readexactly(int(fields.get("content-length", "0")))
                    status = int(head[0].split()[1])
                    statuses[status] += 1
                    if status == 429:
                        retry_after.add(fields.get("retry-after", "absent"))
                    if fields.get("connection") == "close":
                        break
            except (OSError, asyncio.IncompleteReadError) as error:
                errors[type(error).__name__] += 1
            finally:
                writer.close()

    started = time.monotonic()
    await asyncio.gather(*(connection() for _ in range(connections)))
    return {
        "statuses": {str(k): v for k, v in statuses.items()},
        "retry_after": sorted(retry_after),
        "errors": dict(errors),
        "seconds": round(time.monotonic() - started, 2),
    }


async def owner(url: str, address: str, login: str, password: str, times: int, interval: float) -> dict[str, object]:
    statuses, seconds = [], []
    for _ in range(times):
        await asyncio.sleep(interval)
        async with httpx.AsyncClient(transport=httpx.AsyncHTTPTransport(local_address=address), timeout=30) as client:
            started = time.monotonic()
            answer = await client.post(url, json={"login": login, "password": password})
            seconds.append(round(time.monotonic() - started, 3))
            statuses.append(answer.status_code)
    return {"statuses": statuses, "seconds": seconds}


if __name__ == "__main__":
    mode, url, address, *rest = sys.argv[1:]
    if mode == "flood":
        report = asyncio.run(flood(url, address, int(rest[0]), int(rest[1])))
    else:
        report = asyncio.run(owner(url, address, rest[0], rest[1], int(rest[2]), float(rest[3])))
    print(json.dumps(report))
