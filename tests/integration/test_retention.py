"""Nothing grows forever: each service's retention purges what outlived its window, and only that.

The purges are the ones each service's bootstrap wires (read from its app, not rebuilt here), run
against its real tables. Rows are dated in the past by SQL: nobody waits thirty days in a test.
(The portal's expired sessions: ``test_portal_sessions``.)
"""

import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from pydantic import ValidationError

from services.auth.config import AuthSettings
from services.auth.main import MIGRATIONS as AUTH_MIGRATIONS
from services.auth.main import create_app as auth_app
from services.requests.config import RequestsSettings
from services.requests.main import MIGRATIONS as REQUESTS_MIGRATIONS
from services.requests.main import create_app as requests_app
from services.runtime.db import create_pool, migrate
from services.runtime.retention import Retention, platform_purges
from services.runtime.settings import ServiceSettings
from services.simulation.config import SimulationSettings
from services.simulation.main import MIGRATIONS as SIMULATION_MIGRATIONS
from services.simulation.main import create_app as simulation_app
from tests.conftest import Infra

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC)


async def migrated_pool(database: str, migrations: Sequence[tuple[str, Path]]) -> asyncpg.Pool:
    conn = await asyncpg.connect(database)
    try:
        await migrate(conn, migrations)
    finally:
        await conn.close()
    pool: asyncpg.Pool = await create_pool(database, size=2)
    return pool


def retention_of(app: Any, settings: ServiceSettings, pool: asyncpg.Pool) -> tuple[Retention, dict[str, int]]:
    """The service's purges as its bootstrap wired them, and what the metrics were told."""
    told: dict[str, int] = {}

    def on_purged(table: str, count: int) -> None:
        told[table] = told.get(table, 0) + count

    platform = app.state.platform
    return Retention(pool, [*platform_purges(settings), *platform.purges], on_purged=on_purged), told


@pytest.fixture
async def auth_pool(database: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await migrated_pool(database, AUTH_MIGRATIONS)
    yield pool
    await pool.close()


async def test_auth_purges_old_inbox_log_and_idle_login_counters_and_keeps_the_rest(
    auth_pool: asyncpg.Pool, database: str, infra: Infra
) -> None:
    settings = AuthSettings(
        database_url=database,
        kafka_bootstrap_servers=infra.bootstrap,
        token_private_key_file=infra.private_key,
        token_public_key_file=infra.public_key,
        inbox_retention_days=30,
        outbox_retention_days=7,
        login_attempt_retention_days=30,
    )
    retention, told = retention_of(auth_app(settings), settings, auth_pool)
    async with auth_pool.acquire() as conn:
        # inbox: 3 applied 31 days ago, 2 applied 29 days ago
        for age in (31, 31, 31, 29, 29):
            await conn.execute(
                "INSERT INTO inbox (consumer, event_id, applied_at) VALUES ('c', $1, $2)",
                uuid.uuid4(),
                NOW - timedelta(days=age),
            )
        # the outbox's log: one sent 8 days ago, one 6 days ago
        for row_id, age in ((1, 8), (2, 6)):
            await conn.execute(
                "INSERT INTO outbox_log (id, event_id, topic, key, event_type, body, created_at, sent_at)"
                " VALUES ($1, $2, 'auth.events.v1', 'k', 't', '{}', $3, $3)",
                row_id,
                uuid.uuid4(),
                NOW - timedelta(days=age),
            )
        # idempotency keys (24 h): one taken 25 hours ago, one an hour ago
        for key, hours in (("old", 25), ("new", 1)):
            await conn.execute(
                "INSERT INTO idempotency_key (account_id, key, request_hash, status, created_at)"
                " VALUES ('a', $1, '\\x00', 201, $2)",
                key,
                NOW - timedelta(hours=hours),
            )
        # login counters: idle 40 days; idle 40 days but locked until tomorrow; touched yesterday
        await conn.executemany(
            "INSERT INTO login_attempt (login, address, consecutive_failures, locked_until, last_attempt_at)"
            " VALUES ($1, '10.0.0.1', 3, $2, $3)",
            [
                ("idle", None, NOW - timedelta(days=40)),
                ("locked", NOW + timedelta(days=1), NOW - timedelta(days=40)),
                ("recent", None, NOW - timedelta(days=1)),
            ],
        )

    purged = await retention.run_once(NOW)

    assert purged == {"inbox": 3, "outbox_log": 1, "idempotency_key": 1, "login_attempt": 1, "refresh_token": 0}
    assert told == {what: n for what, n in purged.items() if n}  # what /metrics counts (nothing for a 0)
    async with auth_pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM inbox") == 2
        assert await conn.fetchval("SELECT array_agg(id) FROM outbox_log") == [2]
        logins = await conn.fetchval("SELECT array_agg(login ORDER BY login) FROM login_attempt")
        assert logins == ["locked", "recent"]
        assert await conn.fetchval("SELECT array_agg(key) FROM idempotency_key") == ["new"]
    assert await retention.run_once(NOW) == {
        "inbox": 0,
        "outbox_log": 0,
        "idempotency_key": 0,
        "login_attempt": 0,
        "refresh_token": 0,
    }


async def test_a_backlog_larger_than_one_delete_is_purged_whole(auth_pool: asyncpg.Pool) -> None:
    """Each statement deletes a few thousand rows; the job goes on until nothing old is left."""
    async with auth_pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO inbox (consumer, event_id, applied_at)"
            " SELECT 'c', gen_random_uuid(), $1 FROM generate_series(1, 12000)",
            NOW - timedelta(days=60),
        )
    settings = ServiceSettings(service_name="auth")
    purged = await Retention(auth_pool, platform_purges(settings)).run_once(NOW)
    assert purged == {"inbox": 12000, "outbox_log": 0, "idempotency_key": 0}


async def test_simulation_purges_quotes_expired_before_the_window(database: str, infra: Infra) -> None:
    pool = await migrated_pool(database, SIMULATION_MIGRATIONS)
    settings = SimulationSettings(
        database_url=database, kafka_bootstrap_servers=infra.bootstrap, quote_retention_days=30
    )
    retention, _ = retention_of(simulation_app(settings), settings, pool)
    try:
        async with pool.acquire() as conn:
            for expired_days_ago in (45, 31, 10):
                issued = NOW - timedelta(days=expired_days_ago, minutes=30)
                await conn.execute(
                    "INSERT INTO quotes (quote_id, affiliate, debt_version, issued_at, expires_at, body)"
                    " VALUES ($1, '1234567', 1, $2, $3, '{}')",
                    uuid.uuid4(),
                    issued,
                    issued + timedelta(minutes=30),
                )
        assert (await retention.run_once(NOW))["quotes"] == 2
        async with pool.acquire() as conn:
            left = await conn.fetchval("SELECT expires_at FROM quotes")
        assert NOW - left < timedelta(days=11)
    finally:
        await pool.close()


async def test_requests_purges_its_copies_of_old_quotes_and_keeps_the_recent_ones(database: str, infra: Infra) -> None:
    pool = await migrated_pool(database, REQUESTS_MIGRATIONS)
    settings = RequestsSettings(
        database_url=database,
        kafka_bootstrap_servers=infra.bootstrap,
        token_public_key_file=infra.public_key,
        quote_retention_days=30,
    )
    retention, _ = retention_of(requests_app(settings), settings, pool)
    try:
        async with pool.acquire() as conn:
            for age in (40, 20):
                await conn.execute(
                    "INSERT INTO quote (quote_id, affiliate, modality, issued_at, body)"
                    " VALUES ($1, '1234567', 'FULL', $2, '{}')",
                    uuid.uuid4(),
                    NOW - timedelta(days=age),
                )
        assert (await retention.run_once(NOW))["quote"] == 1
        async with pool.acquire() as conn:
            assert await conn.fetchval("SELECT count(*) FROM quote WHERE issued_at > $1", NOW - timedelta(days=21)) == 1
            assert await conn.fetchval("SELECT count(*) FROM quote") == 1
    finally:
        await pool.close()


def test_an_inbox_that_would_forget_before_the_log_stops_replaying_is_refused() -> None:
    with pytest.raises(ValidationError, match="INBOX_RETENTION_DAYS"):
        ServiceSettings(inbox_retention_days=7, outbox_retention_days=7)
