"""The portal's bootstrap: the one place where its parts are built and wired."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.portal.api import ServiceRefusal, Services, ServiceUnavailable, SessionExpired
from services.portal.config import PortalSettings
from services.portal.pages import connexion, creance, demande, demandes, notifications
from services.portal.sessions import SessionStore
from services.portal.web import (
    SESSION_COOKIE,
    AffiliateNotChosen,
    InvalidCsrf,
    LoginAgain,
    Portal,
    login_redirect,
    redirect,
    render,
    trace_reference,
)
from services.runtime.client_address import trusted_networks
from services.runtime.db import create_pool, database_ready, migrate
from services.runtime.http import BodyLimit
from services.runtime.metrics import HttpTimer, Metrics
from services.runtime.periodic import Periodic
from services.runtime.telemetry import server_spans, setup_logging, setup_tracing

log = logging.getLogger(__name__)

MIGRATIONS = [("portal", Path(__file__).parent / "migrations")]

SECURITY_HEADERS = {
    # Own scripts and styles only: no inline script can run, even if some text slipped into a page.
    "content-security-policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
}


class SecurityHeaders:
    """Pure ASGI (no BaseHTTPMiddleware): the headers every answer carries, and the trace id that a
    user gives support (the error pages print it too)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.headers = [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in self.headers if k not in present]
                if reference := trace_reference():
                    extra.append((b"x-trace-id", reference.encode()))
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, with_headers)


def create_app(settings: PortalSettings | None = None) -> FastAPI:
    settings = settings or PortalSettings()
    setup_logging(settings.log_level)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per upstream call is noise; spans say it
    tracer_provider = setup_tracing(settings.service_name, settings.otlp_endpoint, settings.trace_sample_ratio)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        migrator = await asyncpg.connect(settings.database_url)
        try:
            await migrate(migrator, MIGRATIONS)
        finally:
            await migrator.close()
        pool = await create_pool(settings.database_url, size=settings.database_pool_size)
        client = Services.client_for(settings)
        app.state.portal = Portal(
            settings, pool, Services(settings, client), trusted_networks(settings.trusted_proxies)
        )

        async def purge() -> None:
            async with pool.acquire() as conn:
                await SessionStore(conn).purge_expired()

        purger = Periodic("expired sessions purge", purge, interval=300)
        purger.start()
        yield
        await purger.stop()
        await client.aclose()
        await pool.close()
        tracer_provider.force_flush(timeout_millis=2000)

    app = FastAPI(
        title="CNSS Espace Recouvrement: portail",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        telemetry=server_spans(tracer_provider, exclude_prefixes=("/health/", "/static/")),
    )
    app.add_middleware(BodyLimit)
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    for module in (connexion, creance, demandes, demande, notifications):
        app.include_router(module.router)
    _install_error_pages(app)

    app.add_middleware(SecurityHeaders)
    metrics = Metrics(settings.service_name)  # no outbox: the HTTP series only
    app.add_middleware(HttpTimer, metrics=metrics)

    @app.get("/metrics", include_in_schema=False)
    async def prometheus() -> Response:
        return Response(await metrics.render(None), media_type=CONTENT_TYPE_LATEST)

    @app.get("/health/live")
    async def live() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/health/ready")
    async def ready(request: Request) -> JSONResponse:
        portal = getattr(request.app.state, "portal", None)
        checks = {"database": await database_ready(portal.pool if portal else None)}
        ok = all(checks.values())
        body = {"status": "ok" if ok else "unavailable", "service": settings.service_name, "checks": checks}
        return JSONResponse(body, status_code=200 if ok else 503)

    return app


def _install_error_pages(app: FastAPI) -> None:
    """Every failure becomes a page a person can read, in their language, never a stack trace."""

    @app.exception_handler(LoginAgain)
    async def _login(request: Request, exc: LoginAgain) -> Response:
        response = login_redirect(exc.suite, exc.motif)
        response.delete_cookie(SESSION_COOKIE)
        return response

    @app.exception_handler(SessionExpired)
    async def _expired(request: Request, exc: SessionExpired) -> Response:
        response = login_redirect(request.url.path, "session-expiree")
        response.delete_cookie(SESSION_COOKIE)
        return response

    @app.exception_handler(AffiliateNotChosen)
    async def _choose(request: Request, exc: AffiliateNotChosen) -> Response:
        return redirect("/affilies")

    @app.exception_handler(InvalidCsrf)
    async def _csrf(request: Request, exc: InvalidCsrf) -> Response:
        return render(request, "erreur.html", 403, message="erreur.csrf")

    @app.exception_handler(ServiceRefusal)
    async def _refused(request: Request, exc: ServiceRefusal) -> Response:
        return render(request, "refus.html", exc.status, erreur=exc)

    @app.exception_handler(ServiceUnavailable)
    async def _unavailable(request: Request, exc: ServiceUnavailable) -> Response:
        log.warning("service unavailable behind a page", extra={"service": exc.service, "path": request.url.path})
        return render(request, "erreur.html", 503, message="erreur.indisponible")

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        return render(request, "erreur.html", 400, message="erreur.formulaire")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        message = "erreur.introuvable" if exc.status_code == 404 else "erreur.formulaire"
        return render(request, "erreur.html", exc.status_code, message=message)

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> Response:
        log.exception("portal page failed", extra={"path": request.url.path})
        return render(request, "erreur.html", 500, message="erreur.interne")
