"""debt's bootstrap: the one place where its parts are built and wired."""

from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI

from services.debt.config import DebtSettings
from services.debt.entrypoints.dependencies import DebtDependencies
from services.debt.entrypoints.http import health_router, router
from services.debt.entrypoints.subscribers import register_subscribers
from services.debt.service.apply_ledger import refresh_views, republish_positions
from services.debt.service.pending import pending_sweeper
from services.debt.service.remission_plans import apply_plan_event
from services.runtime.clock import Clock, SystemClock
from services.runtime.http import create_http_app
from services.runtime.outbox_log import ReplayPolicy
from services.runtime.periodic import Periodic
from services.runtime.platform import Platform
from services.runtime.telemetry import setup_logging, setup_tracing

MIGRATIONS = [("debt", Path(__file__).parent / "migrations")]


def create_app(settings: DebtSettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or DebtSettings()
    clock = clock or SystemClock()
    setup_logging(settings.log_level)
    platform = Platform.create(
        settings, clock, setup_tracing(settings.service_name, settings.otlp_endpoint, settings.trace_sample_ratio)
    )
    platform.replay_policy = ReplayPolicy(reannounce=lambda conn: republish_positions(conn, clock))
    register_subscribers(platform.broker, platform, settings)
    sweepers: list[Periodic] = []

    async def on_started(started: Platform) -> None:
        assert started.pool is not None and started.background_pool is not None
        async with started.pool.acquire() as conn:
            await refresh_views(conn, settings.eligibility_cutoff)
            if settings.republish_positions_on_start:
                await republish_positions(conn, clock)
        dead_letters = started.dead_letters
        assert dead_letters is not None
        sweeping = pending_sweeper(
            started.background_pool,
            lambda conn, event: apply_plan_event(conn, event, clock, settings.eligibility_cutoff),
            dead_letters.send,
            clock,
            timedelta(seconds=settings.plan_event_max_wait_seconds),
            settings.pending_sweep_interval_seconds,
        )
        sweeping.start()
        sweepers.append(sweeping)

    async def on_stopping() -> None:
        for sweeping in sweepers:
            await sweeping.stop()

    dependencies = DebtDependencies(
        platform=platform,
        eligibility_cutoff=settings.eligibility_cutoff,
        plan_event_max_wait_seconds=settings.plan_event_max_wait_seconds,
        pending_sweepers=sweepers,
    )
    return create_http_app(
        title="CNSS Espace Recouvrement: debt",
        description="La créance consolidée des affiliés, construite à partir du grand livre.",
        platform=platform,
        migrations=MIGRATIONS,
        routers=[router, health_router],
        on_started=on_started,
        on_stopping=on_stopping,
        dependencies=dependencies,
    )
