"""simulation's bootstrap: the one place where its parts are built and wired."""

import logging
from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI

from contracts.simulation import QUOTE_SEAL_KIND
from services.runtime.clock import Clock, SystemClock
from services.runtime.http import create_http_app
from services.runtime.platform import Platform
from services.runtime.retention import Purge
from services.runtime.seals import Sealer
from services.runtime.telemetry import setup_logging, setup_tracing
from services.simulation.adapters.repository import SimulationRepository
from services.simulation.config import SimulationSettings
from services.simulation.entrypoints.dependencies import SimulationDependencies
from services.simulation.entrypoints.http import programme_document, router
from services.simulation.entrypoints.subscribers import register_subscribers
from services.simulation.service.quoting import Rules

log = logging.getLogger(__name__)

MIGRATIONS = [("simulation", Path(__file__).parent / "migrations")]


def create_app(settings: SimulationSettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or SimulationSettings()
    clock = clock or SystemClock()
    setup_logging(settings.log_level)
    # Read once: every quote of this process applies the same programme and calendar.
    programme = settings.load_programme()
    calendar = settings.business_calendar(programme)
    log.info(
        "programme in force",
        extra={"programme": programme.code, "eligible_until": programme.eligible_until},
    )
    platform = Platform.create(
        settings, clock, setup_tracing(settings.service_name, settings.otlp_endpoint, settings.trace_sample_ratio)
    )
    platform.purges = [
        Purge(
            "quotes",
            timedelta(days=settings.quote_retention_days),
            lambda conn, before: SimulationRepository(conn).purge_quotes(before),
        )
    ]
    register_subscribers(platform.broker, platform, programme)
    dependencies = SimulationDependencies(
        platform=platform,
        rules=Rules(programme, calendar),
        sealer=_quote_sealer(settings),
        programme_json=programme_document(programme),
    )
    return create_http_app(
        title="CNSS Espace Recouvrement: simulation",
        description="Simulation de la remise et de l'échéancier selon le programme en vigueur.",
        platform=platform,
        migrations=MIGRATIONS,
        routers=[router],
        dependencies=dependencies,
    )


def _quote_sealer(settings: SimulationSettings) -> Sealer | None:
    """A configured key that does not exist stops the start: a wrongly mounted Secret must stop a
    rollout, not make every validation wait for its quote's event."""
    path = settings.quote_signing_key_file
    if path is None:
        log.warning("no quote signing key: quotes are not sealed")
        return None
    sealer = Sealer.from_file(path, kind=QUOTE_SEAL_KIND)
    log.info("quotes sealed", extra={"kid": sealer.kid})
    return sealer
