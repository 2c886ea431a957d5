"""notifications' bootstrap: the one place where its parts are built and wired."""

from datetime import timedelta
from pathlib import Path

import httpx
from fastapi import FastAPI

from services.notifications.adapters.repository import NotificationRepository
from services.notifications.config import NotificationsSettings
from services.notifications.entrypoints.dependencies import NotificationsDependencies, context_of
from services.notifications.entrypoints.http import router
from services.notifications.entrypoints.subscribers import register_subscribers
from services.notifications.service.delivery import deliver_due
from services.notifications.service.reminders import remind
from services.runtime.clock import Clock, SystemClock, business_date
from services.runtime.http import create_http_app
from services.runtime.metrics import StateGauge
from services.runtime.periodic import Periodic
from services.runtime.platform import Platform
from services.runtime.retention import Purge
from services.runtime.telemetry import setup_logging, setup_tracing

MIGRATIONS = [("notifications", Path(__file__).parent / "migrations")]


def create_app(settings: NotificationsSettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or NotificationsSettings()
    clock = clock or SystemClock()
    setup_logging(settings.log_level)
    client = httpx.AsyncClient(timeout=10)
    ctx = context_of(settings, clock, client)
    platform = Platform.create(
        settings, clock, setup_tracing(settings.service_name, settings.otlp_endpoint, settings.trace_sample_ratio)
    )
    platform.purges = [
        Purge(
            "notification",
            timedelta(days=settings.notification_retention_days),
            lambda conn, before: NotificationRepository(conn).purge(before),
        )
    ]
    register_subscribers(platform.broker, platform)
    scheduled: list[Periodic] = []

    async def on_started(started: Platform) -> None:
        pool = started.background_pool
        assert pool is not None

        async def sweep() -> None:
            async with pool.acquire() as conn:
                await remind(conn, ctx, business_date(clock))

        async def send() -> None:
            await deliver_due(pool, ctx)

        scheduled.extend(
            [
                Periodic("notifications-sweep", sweep, settings.sweep_interval_seconds),
                Periodic("notifications-sender", send, settings.send_interval_seconds),
            ]
        )
        for work in scheduled:
            work.start()

    async def on_stopping() -> None:
        for work in scheduled:
            await work.stop()
        await client.aclose()

    return create_http_app(
        title="CNSS Espace Recouvrement: notifications",
        description="Ce qui a été dit aux affiliés, quand et par quel canal (e-mail, SMS).",
        platform=platform,
        migrations=MIGRATIONS,
        routers=[router],
        on_started=on_started,
        on_stopping=on_stopping,
        dependencies=NotificationsDependencies(platform=platform, context=ctx),
        state_gauges=[
            StateGauge(
                "notifications",
                "Notifications par état : à envoyer, envoyées, sans objet, en échec",
                lambda conn: NotificationRepository(conn).count_per_state(),
                ("PENDING", "SENT", "SKIPPED", "FAILED"),
            )
        ],
    )
