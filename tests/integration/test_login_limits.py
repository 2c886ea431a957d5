"""auth's door under a flood (issue 13): limits before hashing, lockout per address, bounded waits
for a connection. Real database and broker; the app in process, called from several addresses."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI

from services.auth.config import AuthSettings
from services.auth.entrypoints.operations import import_export
from services.auth.main import create_app
from services.runtime.clock import FrozenClock
from services.runtime.db import PoolExhausted, create_pool
from services.runtime.turns import Priority, Turns
from tests.conftest import Infra
from tests.integration.test_auth_api import PASSWORD, export

pytestmark = pytest.mark.integration


def settings(infra: Infra, database: str, **limits: object) -> AuthSettings:
    return AuthSettings(
        database_url=database,
        kafka_bootstrap_servers=infra.bootstrap,
        token_private_key_file=infra.private_key,
        token_public_key_file=infra.public_key,
        **limits,  # type: ignore[arg-type]
    )


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[None]:
    async with app.router.lifespan_context(app):
        yield


def caller(app: FastAPI, address: str, forwarded_for: str | None = None) -> httpx.AsyncClient:
    headers = {"x-forwarded-for": forwarded_for} if forwarded_for else {}
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://test", headers=headers)


async def attempt(client: httpx.AsyncClient, login: str, password: str) -> httpx.Response:
    return await client.post("/v1/sessions", json={"login": login, "password": password})


async def test_five_failures_from_one_address_lock_the_login_there_only(infra: Infra, database: str) -> None:
    login = f"groupe.{uuid.uuid4().hex[:8]}"
    app = create_app(settings(infra, database), FrozenClock(datetime.now(UTC)))
    async with serving(app):
        await import_export(database, export(login))
        async with caller(app, "198.51.100.7") as guesser, caller(app, "203.0.113.20") as owner:
            statuses = [(await attempt(guesser, login, f"essai-{i}")).status_code for i in range(6)]
            assert statuses == [401, 401, 401, 401, 423, 423]
            # The owner, elsewhere, is not locked out by somebody else's guesses.
            mine = await attempt(owner, login, PASSWORD)
            assert mine.status_code == 201, mine.text
            # ... and the guesser stays locked, even with the right password.
            assert (await attempt(guesser, login, PASSWORD)).status_code == 423


async def test_an_address_past_its_burst_is_answered_429_before_any_password_is_hashed(
    infra: Infra, database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    login = f"groupe.{uuid.uuid4().hex[:8]}"
    limits = {"login_burst_per_address": 3, "login_rate_per_address": 1, "login_burst_per_login": 100}
    app = create_app(settings(infra, database, **limits), FrozenClock(datetime.now(UTC)))
    async with serving(app):
        await import_export(database, export(login))
        hashed = 0
        deps = app.state.dependencies.login
        verify = deps.passwords.verify

        async def counted(password_hash: str | None, password: str) -> bool:
            nonlocal hashed
            hashed += 1
            return await verify(password_hash, password)

        monkeypatch.setattr(deps.passwords, "verify", counted)
        async with caller(app, "198.51.100.8") as flooder, caller(app, "203.0.113.21") as owner:
            answers = [await attempt(flooder, f"x.{i}", "faux") for i in range(10)]
            assert [a.status_code for a in answers] == [401] * 3 + [429] * 7
            refused = answers[-1]
            assert refused.headers["content-type"] == "application/problem+json"
            assert refused.json()["code"] == "trop-de-tentatives"
            assert 1 <= int(refused.headers["retry-after"]) <= 60
            assert refused.json()["retry_after"] == int(refused.headers["retry-after"])
            assert hashed == 3  # the seven refused cost no argon2
            assert (await attempt(owner, login, PASSWORD)).status_code == 201


async def test_one_login_tried_from_many_addresses_is_slowed_for_everyone_without_being_locked(
    infra: Infra, database: str
) -> None:
    login = f"groupe.{uuid.uuid4().hex[:8]}"
    limits = {"login_burst_per_login": 4, "login_rate_per_login": 1}
    app = create_app(settings(infra, database, **limits), FrozenClock(datetime.now(UTC)))
    async with serving(app):
        await import_export(database, export(login))
        statuses = []
        for i in range(6):
            async with caller(app, f"198.51.100.{20 + i}") as botnet:
                statuses.append((await attempt(botnet, login.upper(), "faux")).status_code)
        assert statuses == [401] * 4 + [429] * 2  # one bucket for the login however it is typed


async def test_only_a_trusted_proxy_may_name_the_caller(infra: Infra, database: str) -> None:
    login = f"groupe.{uuid.uuid4().hex[:8]}"
    app = create_app(settings(infra, database, TRUSTED_PROXIES="10.0.0.0/8"), FrozenClock(datetime.now(UTC)))
    async with serving(app):
        await import_export(database, export(login))
        # Through the portal (trusted), the user's own address is what gets locked.
        async with caller(app, "10.1.2.3", forwarded_for="198.51.100.30") as via_portal:
            for i in range(5):
                await attempt(via_portal, login, f"essai-{i}")
            assert (await attempt(via_portal, login, PASSWORD)).status_code == 423
        async with caller(app, "10.1.2.3", forwarded_for="198.51.100.31") as other_user_via_portal:
            assert (await attempt(other_user_via_portal, login, PASSWORD)).status_code == 201
        # An untrusted caller cannot borrow an address to escape its lock, nor lock another's.
        async with caller(app, "198.51.100.30", forwarded_for="198.51.100.99") as liar:
            assert (await attempt(liar, login, PASSWORD)).status_code == 423


async def test_a_request_waits_a_bounded_time_for_a_connection_then_gets_a_503(infra: Infra, database: str) -> None:
    app = create_app(
        settings(infra, database, DATABASE_POOL_SIZE=1, DATABASE_ACQUIRE_TIMEOUT_SECONDS=0.3),
        FrozenClock(datetime.now(UTC)),
    )
    async with serving(app), caller(app, "203.0.113.22") as client:
        pool = app.state.platform.pool
        assert pool is not None
        async with pool.acquire():  # the only connection, held as a stuck query would
            started = asyncio.get_running_loop().time()
            answer = await attempt(client, "quelquun", "faux")
            waited = asyncio.get_running_loop().time() - started
        assert answer.status_code == 503, answer.text
        assert answer.json()["code"] == "service-sature"
        assert answer.headers["retry-after"] == "2"
        assert 0.25 <= waited < 4  # bounded by the 0.3 s timeout, with room for a loaded machine
        assert (await attempt(client, "quelquun", "faux")).status_code == 401  # free again


async def test_the_pool_timeout_holds_for_every_acquire(database: str) -> None:
    pool = await create_pool(database, size=1, acquire_timeout=0.2)
    try:
        async with pool.acquire():
            with pytest.raises(PoolExhausted):
                await pool.acquire()
            with pytest.raises(PoolExhausted):
                async with pool.acquire(timeout=0.1):
                    pass
        async with pool.acquire() as conn:
            assert await conn.fetchval("SELECT 1") == 1
    finally:
        await pool.close()


async def test_a_validation_gets_the_next_connection_before_the_newcomers_queued_before_it(database: str) -> None:
    """The pool's turns over a real pool (services/runtime/turns.py): one connection, held; three
    new requests queue, then a validation; the validation is served first, the newcomers after it
    in their order, and a newcomer past its allowance is told to come back (503), losing no place."""
    pool = await create_pool(database, size=1, acquire_timeout=0.2)
    pool.turns = Turns(1, {Priority.FINISHING: 0.0, Priority.ORDINARY: 0.05, Priority.STARTING: 0.5})
    served: list[str] = []

    async def call(name: str, priority: Priority) -> None:
        async with pool.acquire_as(priority) as conn:
            served.append(f"{name}:{await conn.fetchval('SELECT 1')}")

    try:
        async with pool.acquire_as(Priority.ORDINARY):
            calls = [asyncio.create_task(call(f"new{i}", Priority.STARTING)) for i in range(3)]
            await asyncio.sleep(0.05)
            calls.append(asyncio.create_task(call("validate", Priority.FINISHING)))
            await asyncio.sleep(0.05)
        await asyncio.gather(*calls)
        assert served == ["validate:1", "new0:1", "new1:1", "new2:1"]

        async with pool.acquire_as(Priority.ORDINARY):
            began = asyncio.get_running_loop().time()
            with pytest.raises(PoolExhausted):
                await call("late", Priority.STARTING)
            assert 0.6 <= asyncio.get_running_loop().time() - began < 4  # its 0.5 s allowance + the 0.2 s timeout
        await call("after", Priority.FINISHING)
        assert served[-1] == "after:1" and pool.turns.waiting == 0
    finally:
        await pool.close()
