"""Baselines for the HTTP and startup benches: bare FastAPI apps served exactly as ``recouvrement serve``
serves a service (``uvicorn.run`` with ``factory=True``, one worker, ``log_config=None``).

    BENCH_BODY_FILE=body.json HTTP_PORT=8000 python -m bench.bare_app constant   # same bytes, no work
    BENCH_DSN=postgresql://… HTTP_PORT=8000 python -m bench.bare_app stored    # one pooled read, no more
    HTTP_PORT=8000 python -m bench.bare_app hello                                # hello world
"""

import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
from fastapi import FastAPI, Response


def constant() -> FastAPI:
    """The debt and simulation routes' paths, answering a constant body (the real response's bytes,
    read once): ``GET /v1/affiliates/{n}/debt`` with 200, ``POST /v1/simulations`` with 201 (the
    request body is not read, as nothing is done with it)."""
    body = Path(os.environ["BENCH_BODY_FILE"]).read_bytes()
    app = FastAPI()

    @app.get("/health/live")
    async def live() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/v1/affiliates/{numero}/debt")
    async def debt(numero: str) -> Response:
        return Response(body, media_type="application/json")

    @app.post("/v1/simulations", status_code=201)
    async def simulation() -> Response:
        return Response(body, status_code=201, media_type="application/json")

    return app


def stored() -> FastAPI:
    """The floor of any debt read that goes to Postgres: ``GET /v1/affiliates/{n}/debt`` reads the
    stored view (``SELECT view FROM position WHERE affiliate = $1``, the statement debt runs) through a
    plain asyncpg pool and answers it. No token, no paging, no span, no middleware, no metrics: what
    is left of the service's cost once every one of those is gone."""
    pool: asyncpg.Pool | None = None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        nonlocal pool
        pool = await asyncpg.create_pool(os.environ["BENCH_DSN"], min_size=2, max_size=10)
        yield
        await pool.close()

    app = FastAPI(lifespan=lifespan)

    @app.get("/health/live")
    async def live() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/v1/affiliates/{numero}/debt")
    async def debt(numero: str) -> Response:
        assert pool is not None
        async with pool.acquire() as conn:
            view = await conn.fetchval("SELECT view FROM position WHERE affiliate = $1", numero)
        return Response(view.encode(), media_type="application/json")

    return app


def hello() -> FastAPI:
    app = FastAPI()

    @app.get("/")
    async def root() -> dict[str, str]:
        return {"hello": "world"}

    return app


def main() -> None:
    import uvicorn

    kind = sys.argv[1] if len(sys.argv) > 1 else "hello"
    if kind not in ("constant", "stored", "hello"):
        raise SystemExit(f"unknown app {kind!r}")
    uvicorn.run(
        f"bench.bare_app:{kind}",
        factory=True,
        host="127.0.0.1",
        port=int(os.environ.get("HTTP_PORT", "8000")),
        log_config=None,
        timeout_graceful_shutdown=10,
    )


if __name__ == "__main__":
    main()
