"""requests' bootstrap: the one place where its parts are built and wired."""

import logging
from datetime import timedelta
from pathlib import Path
from typing import get_args

from fastapi import FastAPI

from contracts.requests import RequestState
from contracts.simulation import QUOTE_SEAL_KIND
from services.requests.adapters.obligations_repository import ObligationRepository
from services.requests.adapters.repository import ProjectionRepository, RequestRepository
from services.requests.config import RequestsSettings
from services.requests.entrypoints.dependencies import RequestsDependencies, context_of
from services.requests.entrypoints.http import router
from services.requests.entrypoints.subscribers import register_subscribers
from services.requests.service.quote_arrivals import QuoteArrivals
from services.requests.service.sweeper import sweeper
from services.runtime.clock import Clock, SystemClock
from services.runtime.http import create_http_app
from services.runtime.metrics import StateGauge
from services.runtime.periodic import Periodic
from services.runtime.platform import Platform
from services.runtime.retention import Purge
from services.runtime.seals import SealVerifier
from services.runtime.telemetry import setup_logging, setup_tracing

MIGRATIONS = [("requests", Path(__file__).parent / "migrations")]
log = logging.getLogger(__name__)


def create_app(settings: RequestsSettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or RequestsSettings()
    clock = clock or SystemClock()
    setup_logging(settings.log_level)
    ctx = context_of(settings, clock)
    programme = ctx.programme
    platform = Platform.create(
        settings, clock, setup_tracing(settings.service_name, settings.otlp_endpoint, settings.trace_sample_ratio)
    )
    platform.purges = [
        Purge(
            "quote",
            timedelta(days=settings.quote_retention_days),
            lambda conn, before: ProjectionRepository(conn).purge_quotes(before),
        )
    ]
    register_subscribers(platform.broker, platform, ctx)
    arrivals = QuoteArrivals(settings.database_url)
    sweepers: list[Periodic] = []

    async def on_started(started: Platform) -> None:
        assert started.background_pool is not None
        await arrivals.start()
        sweeping = sweeper(started.background_pool, ctx, settings.sweep_interval_seconds)
        sweeping.start()
        sweepers.append(sweeping)
        log.info("programme in force", extra={"programme": programme.code, "cg_version": programme.conditions.version})

    async def on_stopping() -> None:
        for sweeping in sweepers:
            await sweeping.stop()
        await arrivals.stop()

    dependencies = RequestsDependencies(
        platform=platform,
        context=ctx,
        quote_arrivals=arrivals,
        quote_wait_seconds=settings.quote_wait_seconds,
        quote_seals=_quote_seals(settings),
    )
    return create_http_app(
        title="CNSS Espace Recouvrement: requests",
        description="Les demandes de remise : création, modalité, compte, validation, garanties, historique.",
        platform=platform,
        migrations=MIGRATIONS,
        routers=[router],
        on_started=on_started,
        on_stopping=on_stopping,
        dependencies=dependencies,
        state_gauges=[
            StateGauge(
                "requests",
                "Demandes de remise par état",
                lambda conn: RequestRepository(conn).count_per_state(),
                get_args(RequestState),
            ),
            StateGauge(
                "guarantee_requests",
                "Demandes en attente de garanties : reçues par la perception, en attente d'accusé, sans accusé"
                " après leurs renvois",
                lambda conn: RequestRepository(conn).guarantee_requests_per_state(ctx.reannounce_most),
                ("received", "awaiting_receipt", "unacknowledged"),
            ),
            StateGauge(
                "contributions_watch",
                "Article 2 : mises en demeure en cours, régularisées, plans en cours que la veille n'a pas"
                " examinés depuis plus d'un jour",
                lambda conn: ObligationRepository(conn).watch_per_state(),
                ("noticed", "cured", "unwatched"),
            ),
        ],
    )


def _quote_seals(settings: RequestsSettings) -> SealVerifier | None:
    if not settings.quote_public_key_files:
        log.warning("no quote seal key: validations wait for the quote's event")
        return None
    # A configured file that does not exist stops the start (a wrongly mounted Secret).
    verifier = SealVerifier.from_files(settings.quote_public_key_files, kind=QUOTE_SEAL_KIND)
    log.info("quote seals opened", extra={"kids": sorted(verifier.key_ids)})
    return verifier
