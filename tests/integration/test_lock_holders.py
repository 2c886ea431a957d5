"""The sessions that hold a session-level advisory lock (the relay's lead, the migrations) give it
up within a minute when their host vanishes, not after Linux's 2 h 11 min of TCP keepalive.

Found by the security review of 2026-12-04 (§D(1)): the leader's connection was a plain
``asyncpg.connect``; a replica powered off while leading kept the lock on the server for two hours
and no other replica relayed its outbox meanwhile. A vanished host cannot be played here without
the kernel's firewall, so these tests hold the settings that bound it and the wiring that uses them."""

import uuid
from typing import Any

import asyncpg
import pytest

from services.debt.config import DebtSettings
from services.debt.main import create_app
from services.runtime import platform
from services.runtime.db import LOCK_HOLDER_KEEPALIVES, lock_holder_connection
from tests.conftest import Infra
from tests.support import eventually, running

pytestmark = pytest.mark.integration


async def test_a_lock_holders_session_is_given_up_by_the_server_within_a_minute_of_silence(database: str) -> None:
    conn = await lock_holder_connection(database)
    try:
        shown = {name: await conn.fetchval(f"SHOW {name}") for name in LOCK_HOLDER_KEEPALIVES}
        plain = await asyncpg.connect(database)
        try:
            default = await plain.fetchval("SHOW tcp_keepalives_idle")
        finally:
            await plain.close()
    finally:
        await conn.close()
    assert shown == {"tcp_keepalives_idle": "10", "tcp_keepalives_interval": "5", "tcp_keepalives_count": "3"} | {
        "tcp_user_timeout": "30000"
    }
    assert int(default) in (0, 7200)  # a plain session: the operating system's 2 hours (0: "the system's")
    # the silence after which the server ends the session, and the lock with it
    idle, interval, count = (int(shown[f"tcp_keepalives_{k}"]) for k in ("idle", "interval", "count"))
    assert idle + interval * count < 60 and int(shown["tcp_user_timeout"]) < 60_000


async def test_a_service_migrates_and_leads_its_relay_on_lock_holder_connections(
    infra: Infra, database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[dict[str, str]] = []

    async def recorded(dsn: str) -> Any:
        conn = await lock_holder_connection(dsn)
        opened.append(
            {name: await conn.fetchval(f"SHOW {name}") for name in ("tcp_keepalives_idle", "tcp_user_timeout")}
        )
        return conn

    monkeypatch.setattr(platform, "lock_holder_connection", recorded)
    settings = DebtSettings(
        database_url=database,
        kafka_bootstrap_servers=infra.bootstrap,
        kafka_group_id=f"debt-{uuid.uuid4().hex[:8]}",
        token_public_key_file=infra.public_key,
    )
    async with running(create_app(settings)):

        async def leading() -> bool:
            conn = await asyncpg.connect(database)
            try:
                return bool(
                    await conn.fetchval("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted")
                )
            finally:
                await conn.close()

        await eventually(leading)
    # the migrations' connection, then the relay's leader
    assert opened[:2] == [{"tcp_keepalives_idle": "10", "tcp_user_timeout": "30000"}] * 2, opened
