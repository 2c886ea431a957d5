"""The portal's session outlives the 15-minute access token (issue 17): a page asked near the token's
end renews it with auth's refresh token, once even when pages of one session load together; a session
ended at auth (logout elsewhere, a copied token) sends the user back to the login page."""

import asyncio
import hashlib
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from services.portal.sessions import SessionStore
from services.stack.provisioning import database_url
from tests.e2e.conftest import RunningStack

pytestmark = pytest.mark.e2e


def portal_database(stack: RunningStack) -> str:
    server = stack.env.get("DATABASE_URL") or f"postgresql://postgres@127.0.0.1:{stack.env['RECOUVREMENT_PG_PORT']}"
    return database_url(server, "portal")


async def logged_in(stack: RunningStack) -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=stack.urls["portal"], follow_redirects=False, timeout=30)
    form = await client.get("/connexion")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert csrf is not None
    done = await client.post(
        "/connexion",
        data={"identifiant": "demo.simple", "mot_de_passe": "Demo-2024!", "csrf": csrf.group(1), "suite": "/creance"},
    )
    assert done.status_code == 303, done.text
    return client


async def mine(conn: asyncpg.Connection, client: httpx.AsyncClient) -> dict[str, Any] | None:
    """This browser's session (the table keeps the cookie's SHA-256 and the tokens sealed with a key
    the cookie gives: read as the portal reads it); None once the cookie is gone."""
    if "er_session" not in client.cookies:
        return None
    found = await SessionStore(conn).find(client.cookies["er_session"])
    if found is None:
        return None
    return {
        "access_token": found.access_token,
        "refresh_token": found.refresh_token,
        "access_expires_at": found.access_expires_at,
        "expires_at": found.expires_at,
    }


async def near_its_end(conn: asyncpg.Connection, client: httpx.AsyncClient) -> None:
    """30 s before the access token's end, as after 14.5 minutes on the portal."""
    cookie = client.cookies["er_session"].encode()
    await conn.execute(
        "UPDATE portal_sessions SET access_expires_at = $1 WHERE id_hash = $2",
        datetime.now(UTC) + timedelta(seconds=30),
        hashlib.sha256(cookie).digest(),
    )


async def test_a_page_near_the_tokens_end_renews_it_once_and_a_session_ended_at_auth_logs_out(
    stack: RunningStack,
) -> None:
    conn = await asyncpg.connect(portal_database(stack))
    client = await logged_in(stack)
    cookie = client.cookies["er_session"]
    try:
        before = await mine(conn, client)
        assert before is not None and before["refresh_token"] is not None
        assert before["expires_at"] - before["access_expires_at"] > timedelta(hours=7)  # beyond its first token

        await near_its_end(conn, client)
        pages = await asyncio.gather(*(client.get("/creance") for _ in range(3)))  # one session, three pages at once
        assert [p.status_code for p in pages] == [200, 200, 200], [p.headers.get("location") for p in pages]
        after = await mine(conn, client)
        assert after is not None
        assert after["access_token"] != before["access_token"] and after["refresh_token"] != before["refresh_token"]
        assert after["access_expires_at"] - datetime.now(UTC) > timedelta(minutes=14)  # a new quarter of an hour
        assert (await client.get("/creance")).status_code == 200
        assert (await mine(conn, client) or {}).get("access_token") == after["access_token"]

        # the session ended at auth (a logout on another device of the same session, say)
        ended = httpx.delete(
            f"{stack.auth}/v1/sessions/current", headers={"authorization": f"Bearer {after['access_token']}"}
        )
        assert ended.status_code == 204
        await near_its_end(conn, client)
        page = await client.get("/creance")
        assert page.status_code == 303 and page.headers["location"].startswith("/connexion"), page.headers
        assert "er_session" not in client.cookies  # the browser's cookie is deleted
        id_hash = hashlib.sha256(cookie.encode()).digest()
        assert await conn.fetchval("SELECT count(*) FROM portal_sessions WHERE id_hash = $1", id_hash) == 0
    finally:
        await client.aclose()
        await conn.close()
