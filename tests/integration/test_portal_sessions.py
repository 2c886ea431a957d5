"""The portal's own database (sessions) and what it says when a service does not answer."""

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from services.portal.config import PortalSettings
from services.portal.main import MIGRATIONS, create_app
from services.portal.sessions import Affilie, SessionStore
from services.runtime.db import migrate
from services.stack.embedded import free_port

pytestmark = pytest.mark.integration

ATLAS = Affilie("1000001", "Atlas Textiles SARL", "001234567000089", "CAS-01", "Perception Casablanca Anfa")
RIF = Affilie("1000004", "Rif Céramique SARL AU", "001234567000090", "TNG-01", "Perception Tanger")


@pytest.fixture
async def conn(database: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(database)
    await migrate(connection, MIGRATIONS)
    yield connection
    await connection.close()


async def test_the_browser_holds_only_a_random_id_and_logout_ends_the_session(conn: asyncpg.Connection) -> None:
    store = SessionStore(conn)
    expires = datetime.now(UTC) + timedelta(minutes=15)
    cookie, opened = await store.open(
        access_token="token-a", login="demo.groupe", display_name="Groupe", affilies=[ATLAS, RIF], expires_at=expires
    )
    assert opened.affiliate is None  # a group account chooses
    stored = await conn.fetchrow("SELECT id_hash, access_token FROM portal_sessions")
    assert "token-a" not in stored["access_token"]  # sealed: see the test below
    assert (await store.find(cookie)).access_token == "token-a"
    assert cookie.encode() not in bytes(stored["id_hash"])  # a dump of the table opens no session
    assert len(cookie) >= 43  # 256 random bits

    await store.choose(cookie, RIF.numero)
    found = await store.find(cookie)
    assert found is not None and found.affilie == RIF and found.holds(ATLAS.numero)
    assert await store.find(cookie + "x") is None

    await store.close(cookie)
    assert await store.find(cookie) is None
    assert await conn.fetchval("SELECT count(*) FROM portal_sessions") == 0


async def test_a_copy_of_the_database_holds_no_token_it_can_use(conn: asyncpg.Connection) -> None:
    """Security review 2026-12-04 §B: the portal stored auth's access and refresh tokens in clear, and
    a refresh token renews a session from anywhere. They are now sealed with a key derived from the
    cookie, which the database never holds."""
    store = SessionStore(conn)
    expires = datetime.now(UTC) + timedelta(days=1)
    access, refresh = "eyJ.access-token-of-this-test.sig", "refresh-token-of-this-test-0123456789"
    cookie, _ = await store.open(
        access_token=access,
        login="demo.simple",
        display_name="Atlas",
        affilies=[ATLAS],
        expires_at=expires,
        refresh_token=refresh,
        access_expires_at=datetime.now(UTC) + timedelta(minutes=15),
    )
    dump = " ".join(str(v) for row in await conn.fetch("SELECT * FROM portal_sessions") for v in row.values())
    assert access not in dump and refresh not in dump and cookie not in dump
    found = await store.find(cookie)
    assert found is not None and (found.access_token, found.refresh_token) == (access, refresh)

    await store.renew(cookie, "access-2", "refresh-2", datetime.now(UTC) + timedelta(minutes=15))
    dump = " ".join(str(v) for row in await conn.fetch("SELECT * FROM portal_sessions") for v in row.values())
    assert "access-2" not in dump and "refresh-2" not in dump
    assert (await store.find(cookie)).refresh_token == "refresh-2"

    # another session's row moved under this id: its tokens do not open with this cookie
    other, _ = await store.open(
        access_token="other", login="demo.simple", display_name="Atlas", affilies=[ATLAS], expires_at=expires
    )
    await conn.execute(
        "UPDATE portal_sessions SET access_token = (SELECT access_token FROM portal_sessions"
        " WHERE id_hash = sha256($1)) WHERE id_hash = sha256($2)",
        other.encode(),
        cookie.encode(),
    )
    assert await store.find(cookie) is None


async def test_a_single_affiliate_is_chosen_at_once_and_expired_sessions_are_purged(conn: asyncpg.Connection) -> None:
    store = SessionStore(conn)
    now = datetime.now(UTC)
    live, session = await store.open(
        access_token="t1", login="demo.simple", display_name="Atlas", affilies=[ATLAS], expires_at=now + timedelta(1)
    )
    assert session.affiliate == ATLAS.numero
    dead, _ = await store.open(
        access_token="t2", login="demo.simple", display_name="Atlas", affilies=[ATLAS], expires_at=now - timedelta(1)
    )
    assert await store.find(dead) is None  # an expired session is never served, purged or not
    assert await store.purge_expired() == 1
    assert await store.find(live) is not None


async def test_a_backlog_of_expired_sessions_is_purged_whole_in_one_pass(conn: asyncpg.Connection) -> None:
    """Before: a thousand every five minutes, fewer than a busy hour's logins (review E)."""
    await conn.execute(
        "INSERT INTO portal_sessions (id_hash, access_token, login, display_name, affiliates, csrf_token, expires_at,"
        " access_expires_at) SELECT sha256(i::text::bytea), 't', 'l', 'n', '[]', 'c', now() - interval '1 hour',"
        " now() - interval '1 hour'"
        " FROM generate_series(1, 2500) AS i"
    )
    assert await SessionStore(conn).purge_expired() == 2500
    assert await conn.fetchval("SELECT count(*) FROM portal_sessions") == 0


@pytest.fixture
async def portal_without_services(database: str) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    nowhere = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    settings = PortalSettings(
        DATABASE_URL=database,
        AUTH_URL=nowhere,
        DEBT_URL=nowhere,
        SIMULATION_URL=nowhere,
        REQUESTS_URL=nowhere,
        DEBITS_URL=nowhere,
        COOKIE_SECURE=False,
        UPSTREAM_TIMEOUT_SECONDS=2,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://portal") as client:
            yield app, client


async def test_a_service_down_gives_a_readable_page_and_keeps_the_session(
    portal_without_services: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = portal_without_services
    form = await client.get("/connexion")
    assert form.status_code == 200
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert csrf is not None
    login = await client.post(
        "/connexion", data={"identifiant": "demo.simple", "mot_de_passe": "x", "csrf": csrf.group(1), "suite": "/"}
    )
    assert login.status_code == 503
    assert "momentanément indisponible" in login.text and "Traceback" not in login.text
    assert login.headers["x-trace-id"] in login.text  # the reference to give support: the whole trace

    async with app.state.portal.pool.acquire() as conn:
        cookie, _ = await SessionStore(conn).open(
            access_token="t",
            login="demo.simple",
            display_name="Atlas",
            affilies=[ATLAS],
            expires_at=datetime.now(UTC) + timedelta(minutes=5),
        )
    client.cookies.set("er_session", cookie)
    page = await client.get("/creance")
    assert page.status_code == 503
    assert "Rien n&#39;a été perdu" in page.text
    assert page.headers["content-type"].startswith("text/html")
    # the session survives a service's outage: the user is not logged out for it
    async with app.state.portal.pool.acquire() as conn:
        assert await SessionStore(conn).find(cookie) is not None


async def test_forms_without_their_token_are_refused(
    portal_without_services: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    _, client = portal_without_services
    await client.get("/connexion")
    forged = await client.post("/connexion", data={"identifiant": "a", "mot_de_passe": "b", "csrf": "forged"})
    assert forged.status_code == 403 and "Le formulaire a expiré" in forged.text
    anonymous = await client.get("/creance")
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/connexion?suite=/creance")
    headers = (await client.get("/connexion")).headers
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["cache-control"] == "no-store"


async def test_the_first_page_follows_the_browsers_language_until_the_user_chooses(
    portal_without_services: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    _, client = portal_without_services
    arabic = await client.get("/connexion", headers={"accept-language": "ar-MA,ar;q=0.9,fr;q=0.8"})
    assert 'lang="ar"' in arabic.text and 'dir="rtl"' in arabic.text
    french = await client.get("/connexion", headers={"accept-language": "fr-FR,fr;q=0.9,en;q=0.8"})
    assert 'lang="fr"' in french.text and 'dir="ltr"' in french.text
    client.cookies.set("er_lang", "fr")  # the user's choice wins over the browser's
    chosen = await client.get("/connexion", headers={"accept-language": "ar"})
    assert 'lang="fr"' in chosen.text
