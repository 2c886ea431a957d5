"""``Idempotency-Key`` (issue 17, ``runtime/idempotency.py``) on the requests service, real Postgres
and broker: a gateway that lost an answer sends the same POST again with the same key and gets the
first answer, not a second request nor a 409."""

# ruff: noqa: F401, F811 (``svc``, the requests service, is test_requests_lifecycle's fixture: the tests name it)

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import asyncpg
import httpx
import pytest
from starlette.types import Receive, Scope, Send

from services.runtime.db import create_pool, migrate
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
