"""auth's bootstrap: the one place where its parts are built and wired."""

import logging
from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI

from services.auth.adapters.refresh_repository import RefreshRepository
from services.auth.adapters.repository import AccountRepository
from services.auth.config import AuthSettings
from services.auth.domain.lockout import LockoutPolicy
from services.auth.domain.pseudonyms import LoginPseudonyms
from services.auth.entrypoints.dependencies import AuthDependencies
from services.auth.entrypoints.door import LoginDoor
from services.auth.entrypoints.http import router
from services.auth.service.gate import LoginGate
from services.auth.service.import_accounts import republish_affiliates
from services.auth.service.login import LoginDependencies
from services.auth.service.passwords import Passwords
from services.runtime.clock import Clock, SystemClock
from services.runtime.http import create_http_app
from services.runtime.outbox_log import ReplayPolicy
from services.runtime.platform import Platform
from services.runtime.rate_limit import Rate
from services.runtime.retention import Purge
from services.runtime.telemetry import setup_logging, setup_tracing
from services.runtime.tokens import TokenIssuer

MIGRATIONS = [("auth", Path(__file__).parent / "migrations")]

log = logging.getLogger(__name__)


def create_app(settings: AuthSettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or AuthSettings()
    clock = clock or SystemClock()
    setup_logging(settings.log_level)
    platform = Platform.create(
        settings, clock, setup_tracing(settings.service_name, settings.otlp_endpoint, settings.trace_sample_ratio)
    )
    platform.replay_policy = ReplayPolicy(reannounce=lambda conn: republish_affiliates(conn, clock))
    platform.purges = [
        Purge(
            "login_attempt",
            timedelta(days=settings.login_attempt_retention_days),
            lambda conn, before: AccountRepository(conn).purge_attempts(before),
        ),
        # A day after it expired: long enough that the reuse of a stolen token is still recognised
        # (and refused) beside its family for a while, short enough that the table stays small.
        Purge("refresh_token", timedelta(days=1), lambda conn, before: RefreshRepository(conn).purge(before)),
    ]
    tokens = TokenIssuer(
        settings.token_private_key_file.read_bytes(),
        issuer=settings.token_issuer,
        audience=settings.token_audience,
        ttl=timedelta(minutes=settings.token_ttl_minutes),
    )

    async def on_started(started: Platform) -> None:
        # Key rotation: every verifier must hold the new public key before auth signs with it.
        if started.verifier is not None and tokens.kid not in started.verifier.key_ids:
            log.warning(
                "auth signs with a key its own verifier does not hold: was the public key deployed first?",
                extra={"kid": tokens.kid, "verifier_kids": sorted(started.verifier.key_ids)},
            )
        else:
            log.info("signing access tokens", extra={"kid": tokens.kid})
        if settings.republish_affiliates_on_start:
            assert started.pool is not None
            async with started.pool.acquire() as conn:
                await republish_affiliates(conn, clock)

    gate = LoginGate.of(
        per_address=Rate(settings.login_burst_per_address, settings.login_rate_per_address),
        per_login=Rate(settings.login_burst_per_login, settings.login_rate_per_login),
        in_flight_per_address=settings.login_in_flight_per_address,
    )
    dependencies = AuthDependencies(
        platform=platform,
        login=LoginDependencies(
            passwords=Passwords(),
            tokens=tokens,
            clock=clock,
            policy=LockoutPolicy(settings.lockout_threshold, timedelta(minutes=settings.lockout_minutes)),
            gate=gate,
            pseudonyms=LoginPseudonyms(tokens.derived_key("login-pseudonym")),
            refresh_ttl=timedelta(days=settings.refresh_token_days),
            session_max_age=timedelta(days=settings.session_max_age_days),
        ),
    )
    app = create_http_app(
        title="CNSS Espace Recouvrement: auth",
        description="Comptes Damancom, comptes groupe, connexion et jetons d'accès.",
        platform=platform,
        migrations=MIGRATIONS,
        routers=[router],
        on_started=on_started,
        dependencies=dependencies,
    )
    app.add_middleware(LoginDoor, gate=gate, trusted=platform.trusted_proxies)
    return app
