"""The HTTP app every service serves: health, readiness, problem+json errors, tracing, auth."""

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, TypeVar

import asyncpg
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from contracts.identifiers import AFFILIATE_DESCRIPTION, AFFILIATE_PATTERN
from services.runtime.client_address import client_address
from services.runtime.idempotency import Idempotency
from services.runtime.metrics import HttpTimer, StateGauge
from services.runtime.openapi import complete_document
from services.runtime.platform import Platform
from services.runtime.problems import Problem, install_problem_handlers
from services.runtime.telemetry import instance_id, server_spans
from services.runtime.tokens import InvalidToken, Principal
from services.runtime.turns import Priority

MAX_BODY_BYTES = 64 * 1024

_UNAUTHENTICATED = {"WWW-Authenticate": "Bearer"}


class BodyLimit:
    """Refuses a declared body over the limit before reading it (a 10 MB 'password' costs nothing)."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            # Built only here: a problem's answer is a JSON document in the caller's language.
            too_large = Problem(413, "requete-trop-volumineuse", "La requête est trop volumineuse.")
            await too_large.answer_scope(scope)(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            # A chunked body declares no length: count what arrives and stop at the limit.
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.limit:
                raise HTTPException(413)  # answered as problem+json by the handlers
            return message

        await self.app(scope, counted, send)


D = TypeVar("D")


def dependencies_of(kind: type[D]) -> Callable[[Request], Awaitable[D]]:
    """The FastAPI dependency that hands a handler its service's dependency object, the one its
    bootstrap built once and gave ``create_http_app(dependencies=...)``: typed here, once, instead
    of ``app.state`` attributes read back by every handler."""

    async def provide(request: Request) -> D:  # async: a plain def would hop to the thread pool
        found = request.app.state.dependencies
        if not isinstance(found, kind):
            raise TypeError(f"the app was built with {type(found).__name__}, not {kind.__name__}")
        return found

    return provide


def platform_of(request: Request) -> Platform:
    platform: Platform = request.app.state.platform
    return platform


_BEARER = HTTPBearer(
    auto_error=False,  # a missing token is our problem+json 401, not FastAPI's 403
    scheme_name="bearer",
    bearerFormat="JWT",
    description="the access token `POST /v1/sessions` (auth) returns",
)
"""FastAPI's own bearer scheme, for what it documents: each operation that needs a token says so
in the committed OpenAPI documents (``security: bearer``)."""


async def authenticated(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)]
) -> Principal:
    # async on purpose: FastAPI runs a plain-def dependency in a thread pool, a hop per request.
    if credentials is None or not credentials.credentials:
        raise Problem(401, "non-authentifie", "Authentification requise.", headers=_UNAUTHENTICATED)
    verifier = platform_of(request).verifier
    if verifier is None:
        raise Problem(401, "jeton-invalide", "Jeton d'accès invalide ou expiré.", headers=_UNAUTHENTICATED)
    try:
        return verifier.verify(credentials.credentials)
    except InvalidToken:
        raise Problem(
            401,
            "jeton-invalide",
            "Jeton d'accès invalide ou expiré. Veuillez vous reconnecter.",
            headers=_UNAUTHENTICATED,
        ) from None


CurrentPrincipal = Annotated[Principal, Depends(authenticated)]


async def caller_address(request: Request) -> str:
    """The client's address, through the proxies ``TRUSTED_PROXIES`` names and no others."""
    peer = request.client.host if request.client else None
    return client_address(peer, request.headers.get("x-forwarded-for"), platform_of(request).trusted_proxies)


CallerAddress = Annotated[str, Depends(caller_address)]


def _connection_as(priority: Priority) -> Callable[[Request], AsyncIterator[asyncpg.Connection]]:
    async def connection(request: Request) -> AsyncIterator[asyncpg.Connection]:
        pool = platform_of(request).pool
        assert pool is not None
        async with pool.acquire_as(priority) as conn:  # PoolExhausted -> 503 service-sature (problems.py)
            yield conn

    return connection


Connection = Annotated[asyncpg.Connection, Depends(_connection_as(Priority.ORDINARY), scope="function")]
"""One connection from the HTTP pool for the handler, given back as soon as the handler returns
(before its answer is written). Declared after the caller's principal, so an unauthenticated call
takes none. Not for a handler that waits on something else (a quote's arrival, argon2): it would
hold a connection a busy pool needs; those acquire their own around each database step."""

StartingConnection = Annotated[asyncpg.Connection, Depends(_connection_as(Priority.STARTING), scope="function")]
"""The same, for the first step of a journey: under load it waits longer, so that those who have
started finish (``services/runtime/turns.py``)."""


AffiliatePath = Annotated[str, PathParam(pattern=AFFILIATE_PATTERN, description=AFFILIATE_DESCRIPTION)]
AffiliateQuery = Annotated[str, Query(pattern=AFFILIATE_PATTERN, description=AFFILIATE_DESCRIPTION)]


def require_affiliate(principal: Principal, affiliate: str) -> None:
    """Same answer whether the affiliate is someone else's or does not exist: nothing leaks."""
    if not principal.holds(affiliate):
        raise Problem(404, "affilie-introuvable", "Affilié introuvable pour ce compte.")


def create_http_app(
    *,
    title: str,
    description: str,
    platform: Platform,
    migrations: Sequence[tuple[str, Path]],
    routers: Sequence[APIRouter],
    on_started: Callable[[Platform], Awaitable[None]] | None = None,
    on_stopping: Callable[[], Awaitable[None]] | None = None,
    dependencies: object = None,
    state_gauges: Sequence[StateGauge] = (),
) -> FastAPI:
    """``on_started`` runs before the consumers start; ``on_stopping`` before anything stops (end
    the service's own background work while the database is still there)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await platform.start(migrations, before_consuming=on_started)
        yield
        if on_stopping is not None:
            await on_stopping()
        await platform.stop()

    app = FastAPI(
        title=title,
        description=description,
        version="1",
        lifespan=lifespan,
        telemetry=server_spans(platform.tracer_provider, exclude_prefixes=("/health/",)),
    )
    app.state.platform = platform
    app.state.dependencies = dependencies  # what the handlers get through dependencies_of
    install_problem_handlers(app)
    complete_document(app)
    # Inside BodyLimit: the body it reads to compare requests is bounded.
    app.add_middleware(Idempotency, platform=platform, ttl=timedelta(hours=platform.settings.idempotency_key_hours))
    app.add_middleware(BodyLimit)
    platform.metrics.count_states(state_gauges)
    app.add_middleware(HttpTimer, metrics=platform.metrics)  # outermost: a 413 or a 503 is timed too

    @app.get("/metrics", tags=["santé"], summary="Métriques Prometheus (exploitation)", include_in_schema=False)
    async def metrics() -> Response:
        """Counts and ages only: no affiliate, no RIB, no URL with an identifier."""
        body = await platform.metrics.render(platform.pool, platform.consumers())
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    @app.get("/health/live", tags=["santé"], summary="Le processus répond")
    async def live() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/health/ready", tags=["santé"], summary="Prêt à servir : la base de données répond")
    async def ready() -> Any:
        """What serving HTTP needs, and only that: the database. A broker away, or the relay
        restarting, delays events (the outbox keeps them) but every read and every change still
        works: taking the service out of rotation for it would turn a lag into an outage."""
        checks = {"database": await platform.database_ready()}
        dependencies = await platform.dependencies()
        ok = all(checks.values())
        body = {
            "status": "ok" if ok else "unavailable",
            "service": platform.settings.service_name,  # the launcher checks who answers on the port
            "instance": instance_id(),  # which replica answered
            "checks": checks,
            "dependencies": dependencies,
        }
        return JSONResponse(body, status_code=200 if ok else 503)

    @app.get("/health/details", tags=["santé"], summary="Base de données, broker et relais : pour les alertes")
    async def details() -> Any:
        """Every dependency's state, always 200: for alerts and dashboards, never for rotation."""
        return {
            "database": await platform.database_ready(),
            **await platform.dependencies(),
            "instance": instance_id(),
            "partitions": platform.assignment(),  # which replica holds which partitions of the group
        }

    for router in routers:
        app.include_router(router)
    return app
