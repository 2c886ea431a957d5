"""debits' bootstrap: the one place where its parts are built and wired."""

import logging
from pathlib import Path
from typing import get_args

from fastapi import FastAPI

from contracts.debits import DebitState
from services.debits.adapters.follow_up_repository import FollowUpRepository
from services.debits.adapters.plan_repository import PlanRepository
from services.debits.config import DebitsSettings
from services.debits.entrypoints.dependencies import DebitsDependencies, context_of
from services.debits.entrypoints.http import router
from services.debits.entrypoints.subscribers import register_subscribers
from services.debits.service.accounts import republish_accounts
from services.debits.service.scheduled_run import debit_runner
from services.runtime.clock import Clock, SystemClock
from services.runtime.faults import CrashPoints
from services.runtime.http import create_http_app
from services.runtime.metrics import StateGauge
from services.runtime.outbox_log import ReplayPolicy
from services.runtime.periodic import Periodic
from services.runtime.platform import Platform
from services.runtime.telemetry import setup_logging, setup_tracing

MIGRATIONS = [("debits", Path(__file__).parent / "migrations")]
log = logging.getLogger(__name__)


def create_app(settings: DebitsSettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or DebitsSettings()
    clock = clock or SystemClock()
    setup_logging(settings.log_level)
    ctx = context_of(settings, clock)
    platform = Platform.create(
        settings, clock, setup_tracing(settings.service_name, settings.otlp_endpoint, settings.trace_sample_ratio)
    )
    platform.replay_policy = ReplayPolicy(
        prune=lambda conn: PlanRepository(conn).drop_replayed_orders_moved_on(),
        reannounce=lambda conn: republish_accounts(conn, clock),
    )
    register_subscribers(platform.broker, platform, ctx)
    runners: list[Periodic] = []

    async def on_started(started: Platform) -> None:
        if settings.republish_accounts_on_start:
            assert started.pool is not None
            async with started.pool.acquire() as conn:
                await republish_accounts(conn, clock)
        assert started.background_pool is not None
        runner = debit_runner(
            started.background_pool, ctx, settings.debit_run_interval_seconds, CrashPoints(settings.fault_injection)
        )
        runner.start()
        runners.append(runner)
        log.info("programme in force", extra={"programme": ctx.programme.code})

    async def on_stopping() -> None:
        for runner in runners:
            await runner.stop()

    return create_http_app(
        title="CNSS Espace Recouvrement: debits",
        description="Les comptes bancaires des affiliés, les plans de prélèvement, les ordres aux banques.",
        platform=platform,
        migrations=MIGRATIONS,
        routers=[router],
        on_started=on_started,
        on_stopping=on_stopping,
        dependencies=DebitsDependencies(platform=platform, context=ctx),
        state_gauges=[
            StateGauge(
                "debits",
                "Prélèvements par état",
                lambda conn: PlanRepository(conn).count_per_state(),
                get_args(DebitState),
            ),
            StateGauge(
                "debit_orders_unanswered",
                "Ordres dont le prélèvement attend la réponse de la banque : en attente, envoyés de nouveau, signalés",
                lambda conn: FollowUpRepository(conn).count_per_state(),
                ("awaiting", "resent", "flagged"),
            ),
            StateGauge(
                "debit_plans_held",
                "Plans qu'une tournée n'a pas pu ordonner, mis de côté jusqu'à ce qu'un opérateur les libère",
                lambda conn: PlanRepository(conn).count_held(),
                ("held",),
            ),
        ],
    )
