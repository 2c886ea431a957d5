"""debits' bootstrap: the one place where its parts are built and wired."""

from pathlib import Path

from fastapi import FastAPI

from services.debits.config import DebitsSettings
from services.debits.entrypoints.http import router
from services.debits.service.accounts import republish_accounts
from services.runtime.clock import Clock, SystemClock
from services.runtime.http import create_http_app
from services.runtime.platform import Platform
from services.runtime.telemetry import setup_logging, setup_tracing

MIGRATIONS = [("debits", Path(__file__).parent / "migrations")]


def create_app(settings: DebitsSettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or DebitsSettings()
    clock = clock or SystemClock()
    setup_logging(settings.log_level)
    platform = Platform.create(settings, clock, setup_tracing(settings.service_name, settings.otlp_endpoint))

    async def on_started(started: Platform) -> None:
        if settings.republish_accounts_on_start:
            assert started.pool is not None
            async with started.pool.acquire() as conn:
                await republish_accounts(conn, clock)

    return create_http_app(
        title="CNSS Espace Recouvrement: debits",
        description="Les comptes bancaires des affiliés et, plus tard, les prélèvements.",
        platform=platform,
        migrations=MIGRATIONS,
        routers=[router],
        on_started=on_started,
    )
