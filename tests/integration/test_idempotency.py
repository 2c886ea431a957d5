"""``Idempotency-Key`` (issue 17, ``runtime/idempotency.py``) on the requests service, real Postgres
and broker: a gateway that lost an answer sends the same POST again with the same key and gets the
first answer, not a second request nor a 409."""

# ruff: noqa: F401, F811 (``svc``, the requests service, is test_requests_lifecycle's fixture: the tests name it)

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import asyncpg
import httpx
import pytest
from starlette.types import Receive, Scope, Send

from services.runtime import idempotency
from services.runtime.db import create_pool, load_queries, migrate
from services.runtime.idempotency import Idempotency
from services.runtime.tokens import Principal, TokenIssuer, TokenVerifier
from tests.conftest import Infra
from tests.integration.test_requests_lifecycle import Requests, svc
from tests.support import new_affiliate

pytestmark = pytest.mark.integration


def caller(svc: Requests, *affiliates: str) -> dict[str, str]:
    """One account's token, kept: keys are the caller's own."""
    principal = Principal(str(uuid.uuid4()), "passerelle", frozenset(affiliates))
    return {"authorization": f"Bearer {svc.issuer.issue(principal, datetime.now(UTC))[0]}"}


async def requests_of(svc: Requests, affiliate: str) -> int:
    conn = await asyncpg.connect(svc.database)
    try:
        count: int = await conn.fetchval("SELECT count(*) FROM request WHERE affiliate = $1", affiliate)
        return count
    finally:
        await conn.close()


async def test_the_same_key_and_request_get_the_first_answer_again_and_one_request(svc: Requests) -> None:
    affiliate, other = new_affiliate(), new_affiliate()
    await svc.known(affiliate)
    gateway = caller(svc, affiliate, other)
    keyed = gateway | {"idempotency-key": "creation-42"}

    first = await svc.client.post("/v1/requests", json={"affiliate": affiliate}, headers=keyed)
    again = await svc.client.post("/v1/requests", json={"affiliate": affiliate}, headers=keyed)

    assert first.status_code == 201, first.text
    assert (again.status_code, again.content) == (201, first.content)  # status and body, byte for byte
    assert again.headers["idempotent-replayed"] == "true" and "idempotent-replayed" not in first.headers
    assert again.headers["content-type"] == first.headers["content-type"]
    assert await requests_of(svc, affiliate) == 1
    # without the key the rule answers, as before
    unkeyed = await svc.client.post("/v1/requests", json={"affiliate": affiliate}, headers=gateway)
    assert (unkeyed.status_code, unkeyed.json()["code"]) == (409, "demande-en-cours")

    # the same key for another request is a mistake of the client: refused, nothing done
    reused = await svc.client.post("/v1/requests", json={"affiliate": other}, headers=keyed)
    assert (reused.status_code, reused.json()["code"]) == (422, "cle-idempotence-reutilisee")
    assert reused.headers["content-type"] == "application/problem+json"
    assert await requests_of(svc, other) == 0

    # another caller's key of the same name is its own: it never gets this caller's answer
    stranger = caller(svc, affiliate) | {"idempotency-key": "creation-42"}
    theirs = await svc.client.post("/v1/requests", json={"affiliate": affiliate}, headers=stranger)
    assert (theirs.status_code, theirs.json()["code"]) == (409, "demande-en-cours")


async def test_two_tries_at_once_make_one_request(svc: Requests) -> None:
    affiliate = new_affiliate()
    await svc.known(affiliate)
    keyed = caller(svc, affiliate) | {"idempotency-key": "double-clic"}
    answers = await asyncio.gather(
        *(svc.client.post("/v1/requests", json={"affiliate": affiliate}, headers=keyed) for _ in range(4))
    )
    outcomes = sorted((a.status_code, a.json().get("code", a.json().get("state"))) for a in answers)
    assert outcomes[0][0] == 201 and await requests_of(svc, affiliate) == 1
    for status, what in outcomes[1:]:  # replayed, or told the first is being served
        assert (status, what) in {(201, outcomes[0][1]), (409, "requete-en-cours")}, outcomes


async def test_a_key_is_forgotten_after_its_window_and_a_bad_key_is_refused(svc: Requests) -> None:
    affiliate = new_affiliate()
    await svc.known(affiliate)
    gateway = caller(svc, affiliate)
    first = await svc.client.post(
        "/v1/requests", json={"affiliate": affiliate}, headers=gateway | {"idempotency-key": "hier"}
    )
    assert first.status_code == 201
    conn = await asyncpg.connect(svc.database)
    try:
        # a day and an hour later (IDEMPOTENCY_KEY_HOURS=24), the key names nothing any more
        moved = await conn.execute(
            "UPDATE idempotency_key SET created_at = $1 WHERE key = 'hier'", datetime.now(UTC) - timedelta(hours=25)
        )
        assert moved == "UPDATE 1"
    finally:
        await conn.close()
    later = await svc.client.post(
        "/v1/requests", json={"affiliate": affiliate}, headers=gateway | {"idempotency-key": "hier"}
    )
    assert (later.status_code, later.json()["code"]) == (409, "demande-en-cours")  # served, not replayed
    assert "idempotent-replayed" not in later.headers

    for bad in ("", "deux mots", "x" * 256):
        refused = await svc.client.post(
            "/v1/requests", json={"affiliate": affiliate}, headers=gateway | {"idempotency-key": bad}
        )
        assert (refused.status_code, refused.json()["code"]) == (400, "cle-idempotence-invalide"), bad


async def test_a_token_refused_keeps_nothing(svc: Requests) -> None:
    affiliate = new_affiliate()
    await svc.known(affiliate)
    no_token = await svc.client.post(
        "/v1/requests", json={"affiliate": affiliate}, headers={"idempotency-key": "sans-jeton"}
    )
    assert no_token.status_code == 401
    conn = await asyncpg.connect(svc.database)
    try:
        assert await conn.fetchval("SELECT count(*) FROM idempotency_key WHERE key = 'sans-jeton'") == 0
    finally:
        await conn.close()
    keyed = caller(svc, affiliate) | {"idempotency-key": "sans-jeton"}
    assert (await svc.client.post("/v1/requests", json={"affiliate": affiliate}, headers=keyed)).status_code == 201


async def test_an_answer_that_did_nothing_frees_the_key(database: str, infra: Infra) -> None:
    """A 503 (overload: nothing done) or any 5xx is not given again: the same key tries again and
    is served. The middleware alone, over an app that fails once, on a real database."""
    conn = await asyncpg.connect(database)
    try:
        await migrate(conn, [])
    finally:
        await conn.close()
    pool = await create_pool(database, size=2)
    verifier = TokenVerifier.from_files([infra.public_key], issuer=ISSUER, audience=AUDIENCE)
    issuer = TokenIssuer(infra.private_key.read_bytes(), issuer=ISSUER, audience=AUDIENCE, ttl=timedelta(minutes=5))
    token = issuer.issue(Principal("compte-1", "passerelle", frozenset()), datetime.now(UTC))[0]
    answers = iter([(503, b'{"code":"service-sature"}'), (201, b'{"id":1}'), (201, b'{"id":2}')])
    served: list[bytes] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        served.append((await receive())["body"])
        status, body = next(answers)
        await send(
            {"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json")]}
        )
        await send({"type": "http.response.body", "body": body})

    platform = SimpleNamespace(pool=pool, background_pool=pool, verifier=verifier)
    middleware = Idempotency(app, platform, timedelta(hours=24))  # type: ignore[arg-type]
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=middleware), base_url="http://t") as client:
            headers = {"authorization": f"Bearer {token}", "idempotency-key": "k"}
            statuses = [(await client.post("/v1/x", content=b"{}", headers=headers)).status_code for _ in range(3)]
    finally:
        await pool.close()
    assert statuses == [503, 201, 201]
    assert served == [b"{}", b"{}"]  # the app ran twice: after the 503, then never again


ISSUER, AUDIENCE = "test-issuer", "test-audience"


async def migrated(database: str) -> asyncpg.Pool:
    conn = await asyncpg.connect(database)
    try:
        await migrate(conn, [])
    finally:
        await conn.close()
    return await create_pool(database, size=2)


async def test_a_client_that_leaves_mid_body_leaves_the_key_free(database: str, infra: Infra) -> None:
    """Review 2026-12-05: the cut body was hashed, run (400) and kept; the full retry then got 422."""
    pool = await migrated(database)
    verifier = TokenVerifier.from_files([infra.public_key], issuer=ISSUER, audience=AUDIENCE)
    issuer = TokenIssuer(infra.private_key.read_bytes(), issuer=ISSUER, audience=AUDIENCE, ttl=timedelta(minutes=5))
    token = issuer.issue(Principal("compte-2", "passerelle", frozenset()), datetime.now(UTC))[0]
    ran: list[bool] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        ran.append(True)

    middleware = Idempotency(
        app, SimpleNamespace(pool=pool, background_pool=pool, verifier=verifier), timedelta(hours=24)
    )  # type: ignore[arg-type]
    messages = iter([{"type": "http.request", "body": b'{"affil', "more_body": True}, {"type": "http.disconnect"}])
    sent: list[Any] = []

    async def receive() -> Any:
        return next(messages)

    async def send(message: Any) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/v1/requests",
        "raw_path": b"/v1/requests",
        "query_string": b"",
        "headers": [(b"authorization", f"Bearer {token}".encode()), (b"idempotency-key", b"coupe")],
    }
    try:
        await middleware(scope, receive, send)
        async with pool.acquire() as conn:
            assert await conn.fetchval("SELECT count(*) FROM idempotency_key") == 0
    finally:
        await pool.close()
    assert (ran, sent) == ([], [])  # nothing run, nothing answered to a client that is gone


async def test_a_request_that_lost_its_key_to_a_takeover_records_nothing(database: str) -> None:
    """A first try slower than ABANDONED_AFTER is taken over by its retry; its late answer (or its
    release) must not touch the retry's. Another request never takes an abandoned key over."""
    pool = await migrated(database)
    queries = load_queries(Path(idempotency.__file__).parent / "sql" / "idempotency.sql")
    try:
        async with pool.acquire() as conn:
            args = {"account_id": "a", "key": "k", "ttl_seconds": 86400.0, "abandoned_seconds": 120.0}
            first = (await queries.begin(conn, request_hash=b"same", **args))["created_at"]
            assert await queries.begin(conn, request_hash=b"same", **args) is None  # held, in progress
            await conn.execute("UPDATE idempotency_key SET created_at = created_at - interval '3 minutes'")
            assert await queries.begin(conn, request_hash=b"other", **args) is None  # not by another request
            retry = (await queries.begin(conn, request_hash=b"same", **args))["created_at"]
            assert retry != first - timedelta(minutes=3)
            late = {"account_id": "a", "key": "k", "claimed_at": first - timedelta(minutes=3)}
            await queries.answered(conn, status=201, headers="[]", body=b"late", **late)
            await queries.release(conn, **late)
            row = await conn.fetchrow("SELECT status, body FROM idempotency_key")
            assert row is not None and row["status"] is None  # the retry's claim stands, untouched
            await queries.answered(
                conn, account_id="a", key="k", claimed_at=retry, status=201, headers="[]", body=b"ok"
            )
            assert await conn.fetchval("SELECT body FROM idempotency_key") == b"ok"
    finally:
        await pool.close()


async def test_a_chunked_body_over_the_limit_is_a_413_not_a_500(svc: Requests) -> None:
    affiliate = new_affiliate()

    async def chunks() -> Any:
        for _ in range(70):
            yield b"x" * 1024

    keyed = caller(svc, affiliate) | {"idempotency-key": "gros", "content-type": "application/json"}
    answer = await svc.client.post("/v1/requests", content=chunks(), headers=keyed)
    assert (answer.status_code, answer.json()["code"]) == (413, "requete-trop-volumineuse")
