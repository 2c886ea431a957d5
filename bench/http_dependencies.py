"""What FastAPI's dependency solving costs a read, beside a bare route, in the same run: the next cut
the GET debt row points at (issue 14; ``docs/architecture.md``, "Measured again, the night of
2026-12-07").

Direct ASGI calls in one process, no server, no socket, no database: a route that returns a constant
body, then the same route with each dependency the debt read declares, then with all of them. The
bearer scheme and the paging are the runtime's own (``runtime.http._BEARER``, ``runtime.paging.Page``);
the principal and the connection are stand-ins of the same shape (an async function over the bearer
scheme; a ``yield`` dependency with ``scope="function"``), since the real ones need a verifier and a
pool. Optional: ``BENCH_ONLY=http_dependencies``.

    python -m bench.http_dependencies
"""

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request, Response
from fastapi.security import HTTPAuthorizationCredentials
from starlette.types import Message

from bench.common import say, scaled, table, write_result
from services.runtime.http import _BEARER, AffiliatePath
from services.runtime.paging import Page

NAME = "http_dependencies"


async def _principal(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)]) -> str:
    return credentials.credentials if credentials else ""


async def _service(request: Request) -> object:
    return request.app.state.dependencies


async def _connection(request: Request) -> AsyncIterator[object]:
    yield request.app.state.dependencies


Principal = Annotated[str, Depends(_principal)]
Service = Annotated[object, Depends(_service)]
Connection = Annotated[object, Depends(_connection, scope="function")]

VARIANTS: dict[str, Callable[..., Any]] = {}


def variant(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def register(handler: Callable[..., Any]) -> Callable[..., Any]:
        VARIANTS[name] = handler
        return handler

    return register


@variant("bare route (path parameter only)")
async def bare(numero: AffiliatePath) -> Response:
    return Response(b"{}", media_type="application/json")


@variant("+ the bearer token (principal)")
async def with_principal(numero: AffiliatePath, principal: Principal) -> Response:
    return Response(b"{}", media_type="application/json")


@variant("+ a yield connection (scope=function)")
async def with_connection(numero: AffiliatePath, conn: Connection) -> Response:
    return Response(b"{}", media_type="application/json")


@variant("+ the paging (limit, cursor)")
async def with_page(numero: AffiliatePath, page: Page) -> Response:
    return Response(b"{}", media_type="application/json")


@variant("+ the service's dependencies")
async def with_service(numero: AffiliatePath, deps: Service) -> Response:
    return Response(b"{}", media_type="application/json")


@variant("the debt read's whole set")
async def whole(
    numero: AffiliatePath,
    principal: Principal,
    deps: Service,
    conn: Connection,
    page: Page,
    request: Request,
    response: Response,
) -> Response:
    return Response(b"{}", media_type="application/json")


def _app(handler: Callable[..., Any]) -> FastAPI:
    app = FastAPI()
    app.state.dependencies = object()
    app.get("/v1/affiliates/{numero}/debt")(handler)
    return app


async def _per_call_us(app: FastAPI, calls: int) -> float:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/v1/affiliates/1234567/debt",
        "raw_path": b"/v1/affiliates/1234567/debt",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"bench"), (b"authorization", b"Bearer t")],
        "client": ("127.0.0.1", 1),
        "server": ("bench", 80),
    }

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start" and message["status"] != 200:
            raise RuntimeError(f"answered {message['status']}")

    for _ in range(calls // 10):  # warm up
        await app(dict(scope), receive, send)
    started = time.perf_counter()
    for _ in range(calls):
        await app(dict(scope), receive, send)
    return (time.perf_counter() - started) / calls * 1e6


def main() -> dict[str, Any]:
    calls = int(scaled(20_000, 2_000))
    apps = {name: _app(handler) for name, handler in VARIANTS.items()}

    async def measure() -> dict[str, float]:
        # Twice each, alternating, and the faster kept: the machine is shared.
        best: dict[str, float] = {}
        for _ in range(2):
            for name, app in apps.items():
                best[name] = min(best.get(name, float("inf")), await _per_call_us(app, calls))
        return best

    timings = asyncio.run(measure())
    bare_us = timings["bare route (path parameter only)"]
    result = {"calls": calls, "us_per_call": timings, "bare_us": bare_us}
    say(f"{calls:,} direct ASGI calls per variant, the faster of two passes")
    print(
        table(
            ["route", "µs per call", "over the bare route, µs", "× bare"],
            [[n, f"{us:.1f}", f"{us - bare_us:+.1f}", f"{us / bare_us:.2f}"] for n, us in timings.items()],
        )
    )
    write_result(NAME, result)
    return result


def rows_for(result: dict[str, Any]) -> list[list[str]]:
    whole_us = result["us_per_call"]["the debt read's whole set"]
    return [
        [
            "FastAPI dependencies of the debt read (profile)",
            f"{result['calls']:,} direct ASGI calls",
            f"{whole_us:.0f} µs per call",
            f"{result['bare_us']:.0f} µs (bare route)",
            f"{whole_us / result['bare_us']:.1f}× bare",
            "-",
        ]
    ]


if __name__ == "__main__":
    main()
