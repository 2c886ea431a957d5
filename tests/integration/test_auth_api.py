"""auth over HTTP, with its real database and broker: login, lockout, events, bad input."""

import asyncio
import json
import os
import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import pytest
from argon2 import PasswordHasher
from typer.testing import CliRunner

from contracts.topics import AUTH_AFFILIATES, AUTH_EVENTS, all_topic_names
from services.auth.config import AuthSettings
from services.auth.domain.pseudonyms import LoginPseudonyms
from services.auth.entrypoints.cli import cli as auth_cli
from services.auth.entrypoints.operations import import_export
from services.auth.main import create_app
from services.auth.service.import_accounts import DamancomExport
from services.runtime.clock import FrozenClock
from services.runtime.tokens import TokenIssuer, TokenVerifier
from tests.conftest import Infra
from tests.support import new_affiliate, read_to_end, read_topic, running

pytestmark = pytest.mark.integration

PASSWORD = "Bon-Mot-2024!"
TOKENS = {"issuer": "espace-recouvrement/auth", "audience": "espace-recouvrement", "ttl": timedelta(minutes=15)}


def export(login: str) -> DamancomExport:
    perception = {"code": "CAS-01", "name": "Perception Casablanca Anfa"}
    return DamancomExport.model_validate(
        {
            "affiliates": [
                {
                    "numero": "7000001",
                    "raison_sociale": "Atlas Test SARL",
                    "ice": "001000000000001",
                    "perception": perception,
                },
                {
                    "numero": "7000002",
                    "raison_sociale": "Zagora Test SA",
                    "ice": "001000000000002",
                    "perception": perception,
                    "contact": {"email": "tresorerie@zagora.ma", "mobile": "+212661000002", "language": "ar"},
                },
            ],
            "accounts": [
                {
                    "login": login,
                    "display_name": "[TEST] groupe",
                    "password": PASSWORD,
                    "affiliates": ["7000001", "7000002"],
                }
            ],
        }
    )


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime.now(UTC))


@pytest.fixture
def login() -> str:
    return f"groupe.{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def client(infra: Infra, database: str, clock: FrozenClock, login: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = AuthSettings(
        database_url=database,
        kafka_bootstrap_servers=infra.bootstrap,
        token_private_key_file=infra.private_key,
        token_public_key_file=infra.public_key,
    )
    async with running(create_app(settings, clock)) as client:
        await import_export(database, export(login))
        yield client


async def open_session(client: httpx.AsyncClient, login: str, password: str) -> httpx.Response:
    return await client.post("/v1/sessions", json={"login": login, "password": password})


async def test_login_returns_a_short_lived_token_holding_the_group_affiliates(
    client: httpx.AsyncClient, infra: Infra, login: str
) -> None:
    response = await open_session(client, login.upper() + "  ", PASSWORD)  # typed as people type
    assert response.status_code == 201, response.text
    body = response.json()
    assert [a["numero"] for a in body["affiliates"]] == ["7000001", "7000002"]
    assert body["affiliates"][0]["perception"] == {"code": "CAS-01", "name": "Perception Casablanca Anfa"}
    assert body["expires_in"] == 15 * 60
    principal = TokenVerifier.from_file(
        infra.public_key, issuer="espace-recouvrement/auth", audience="espace-recouvrement"
    ).verify(body["access_token"])
    assert principal.affiliates == {"7000001", "7000002"}

    mine = await client.get("/v1/me/affiliates", headers={"authorization": f"Bearer {body['access_token']}"})
    assert mine.status_code == 200
    assert [a["raison_sociale"] for a in mine.json()["affiliates"]] == ["Atlas Test SARL", "Zagora Test SA"]


async def test_a_hash_imported_with_other_argon2_parameters_is_made_anew_at_the_first_login(
    client: httpx.AsyncClient, database: str
) -> None:
    login = f"importe.{uuid.uuid4().hex[:8]}"
    theirs = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1).hash(PASSWORD)  # Damancom's own
    imported = export(login).model_dump()
    imported["accounts"][0] |= {"password": None, "password_hash": theirs}
    await import_export(database, DamancomExport.model_validate(imported))

    async def stored() -> str:
        conn = await asyncpg.connect(database)
        try:
            value: str = await conn.fetchval("SELECT password_hash FROM account WHERE login = $1", login)
            return value
        finally:
            await conn.close()

    assert (await open_session(client, login, "pas-le-bon-2024")).status_code == 401
    assert await stored() == theirs  # a failed login changes nothing
    assert (await open_session(client, login, PASSWORD)).status_code == 201
    ours = await stored()
    assert ours != theirs and ours.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert not PasswordHasher().check_needs_rehash(ours)
    assert (await open_session(client, login, PASSWORD)).status_code == 201  # the new hash verifies
    assert await stored() == ours  # and is not made again


def verifier(infra: Infra) -> TokenVerifier:
    return TokenVerifier.from_file(infra.public_key, issuer="espace-recouvrement/auth", audience="espace-recouvrement")


async def refreshed(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post("/v1/sessions/refresh", json={"refresh_token": token})


async def test_a_refresh_token_gives_a_new_access_token_once_and_a_copy_ends_the_session(
    client: httpx.AsyncClient, infra: Infra, login: str, database: str, clock: FrozenClock
) -> None:
    first = (await open_session(client, login, PASSWORD)).json()
    assert len(first["refresh_token"]) >= 40 and first["refresh_token"] not in first["access_token"]
    session = verifier(infra).verify(first["access_token"]).session_id
    assert session is not None

    second = await refreshed(client, first["refresh_token"])
    assert second.status_code == 200, second.text
    body = second.json()
    assert body["refresh_token"] != first["refresh_token"] and body["access_token"] != first["access_token"]
    again = verifier(infra).verify(body["access_token"])
    assert (again.session_id, again.affiliates) == (session, {"7000001", "7000002"})  # the same session
    assert [a["numero"] for a in body["affiliates"]] == ["7000001", "7000002"]
    conn = await asyncpg.connect(database)
    try:  # only hashes are kept: a dump of the table opens no session
        stored = await conn.fetch("SELECT token_hash FROM refresh_token")
        assert len(stored) == 2 and all(first["refresh_token"].encode() not in bytes(r[0]) for r in stored)
    finally:
        await conn.close()

    # the first token again within seconds: a retry whose answer was lost, served again
    retried = await refreshed(client, first["refresh_token"])
    assert retried.status_code == 200 and retried.json()["refresh_token"] != body["refresh_token"]
    # later: a copy was used, so the whole session ends, every token of it
    clock.advance(timedelta(seconds=31))  # beyond REUSE_LEEWAY
    reused = await refreshed(client, first["refresh_token"])
    assert (reused.status_code, reused.json()["code"]) == (401, "session-invalide")
    assert (await refreshed(client, body["refresh_token"])).json()["code"] == "session-invalide"
    assert (await refreshed(client, retried.json()["refresh_token"])).json()["code"] == "session-invalide"
    assert (await refreshed(client, "x" * 43)).status_code == 401  # unknown


async def test_logout_ends_the_session_and_an_unused_refresh_token_expires(
    client: httpx.AsyncClient, clock: FrozenClock, login: str
) -> None:
    opened = (await open_session(client, login, PASSWORD)).json()
    other = (await open_session(client, login, PASSWORD)).json()  # another device, another session
    closed = await client.delete("/v1/sessions/current", headers={"authorization": f"Bearer {opened['access_token']}"})
    assert closed.status_code == 204
    assert (await refreshed(client, opened["refresh_token"])).json()["code"] == "session-invalide"
    assert (await client.delete("/v1/sessions/current")).status_code == 401  # logout needs the token

    clock.advance(timedelta(days=30, seconds=1))  # REFRESH_TOKEN_DAYS
    late = await refreshed(client, other["refresh_token"])
    assert (late.status_code, late.json()["code"]) == (401, "session-invalide")


async def test_a_session_refreshed_every_day_still_ends_thirty_days_after_its_login(
    client: httpx.AsyncClient, clock: FrozenClock, login: str, database: str
) -> None:
    """Security review 2026-12-04 §B: each refresh gave a token living REFRESH_TOKEN_DAYS from its own
    issue, so a session refreshed often enough (or a stolen token, used so) never ended."""
    started = clock.now()
    token = (await open_session(client, login, PASSWORD)).json()["refresh_token"]
    for _ in range(29):
        clock.advance(timedelta(days=1))
        answer = await refreshed(client, token)
        assert answer.status_code == 200, answer.text
        token = answer.json()["refresh_token"]
    conn = await asyncpg.connect(database)
    try:
        last = await conn.fetchrow("SELECT expires_at, session_started_at FROM refresh_token ORDER BY issued_at DESC")
    finally:
        await conn.close()
    assert (last["session_started_at"], last["expires_at"]) == (started, started + timedelta(days=30))
    clock.advance(timedelta(days=1, seconds=1))  # SESSION_MAX_AGE_DAYS after the login
    late = await refreshed(client, token)
    assert (late.status_code, late.json()["code"]) == (401, "session-invalide")
    assert (await open_session(client, login, PASSWORD)).status_code == 201  # a new login, a new session


async def test_unknown_login_and_wrong_password_are_indistinguishable(client: httpx.AsyncClient, login: str) -> None:
    wrong = await open_session(client, login, "pas le bon")
    unknown = await open_session(client, f"inconnu.{uuid.uuid4().hex[:6]}", "pas le bon")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.headers["content-type"] == "application/problem+json"
    strip = lambda r: {k: v for k, v in r.json().items() if k != "instance"}  # noqa: E731
    assert (
        strip(wrong)
        == strip(unknown)
        == {
            "type": "https://recouvrement.cnss.ma/problemes/identifiants-invalides",
            "status": 401,
            "code": "identifiants-invalides",
            "title": "Identifiant ou mot de passe incorrect.",
        }
    )


@pytest.mark.parametrize("known", [True, False], ids=["known-login", "unknown-login"])
async def test_five_failures_lock_the_login_for_fifteen_minutes(
    client: httpx.AsyncClient, clock: FrozenClock, login: str, known: bool
) -> None:
    name = login if known else f"fantome.{uuid.uuid4().hex[:6]}"
    statuses = [(await open_session(client, name, f"essai-{i}")).status_code for i in range(5)]
    assert statuses == [401, 401, 401, 401, 423]
    locked = await open_session(client, name, PASSWORD)  # even the right password
    assert locked.status_code == 423
    problem = locked.json()
    assert problem["code"] == "compte-verrouille"
    assert datetime.fromisoformat(problem["locked_until"]) == clock.now() + timedelta(minutes=15)
    assert int(locked.headers["retry-after"]) == 15 * 60

    clock.advance(timedelta(minutes=15))
    after = await open_session(client, name, PASSWORD)
    assert after.status_code == (201 if known else 401)


async def test_a_success_resets_the_failure_count(client: httpx.AsyncClient, login: str) -> None:
    for _ in range(4):
        assert (await open_session(client, login, "faux")).status_code == 401
    assert (await open_session(client, login, PASSWORD)).status_code == 201
    for _ in range(4):
        assert (await open_session(client, login, "faux")).status_code == 401


async def test_logins_and_the_lock_are_events_on_auth_events(
    client: httpx.AsyncClient, infra: Infra, login: str
) -> None:
    await open_session(client, login, PASSWORD)
    for _ in range(5):
        await open_session(client, login, "faux")

    def types(records: list) -> list[str]:
        return [json.loads(r.value)["type"] for r in records]

    records = await read_topic(infra.bootstrap, AUTH_EVENTS.name, lambda r: "auth.login_locked" in types(r), key=login)
    assert types(records) == [
        "auth.account_imported",
        "auth.login_succeeded",
        *["auth.login_failed"] * 5,
        "auth.login_locked",
    ]
    assert json.loads(records[-1].value)["payload"]["login"] == login
    assert all(PASSWORD.encode() not in r.value and b"faux" not in r.value for r in records)


async def test_a_password_typed_as_a_login_never_reaches_the_events(client: httpx.AsyncClient, infra: Infra) -> None:
    """The security review's (d): an unknown login's text, sometimes a password typed in the wrong
    field, was the payload and the key of every ``auth.login_failed`` and ``auth.login_locked``."""
    typed = f"Secret-{uuid.uuid4().hex[:12]}!"  # normalized as auth normalizes a login: lower case
    statuses = [(await open_session(client, typed, "anything")).status_code for _ in range(5)]
    assert statuses == [401] * 4 + [423]  # the fifth failure locks it

    def locked(records: list) -> bool:
        return any(json.loads(r.value)["type"] == "auth.login_locked" for r in records)

    pseudonym = LoginPseudonyms(TokenIssuer(infra.private_key.read_bytes(), **TOKENS).derived_key("login-pseudonym"))
    said = pseudonym.announced(typed.lower(), known=False)
    records = await read_topic(infra.bootstrap, AUTH_EVENTS.name, locked, key=said)
    events = [json.loads(r.value) for r in records]
    assert [e["type"] for e in events] == [*["auth.login_failed"] * 5, "auth.login_locked"]
    assert {e["payload"]["login"] for e in events} == {said}  # one name for one text: guesses still add up
    assert re.fullmatch(r"inconnu:[0-9a-f]{24}", said)
    assert all(e["payload"]["account_id"] is None for e in events)
    everything = await read_to_end(infra.bootstrap, AUTH_EVENTS.name)
    assert not [r for r in everything if typed.lower().encode() in (r.key or b"") + r.value]


async def test_imported_affiliates_are_announced_with_their_perception(
    client: httpx.AsyncClient, infra: Infra, database: str
) -> None:
    """Affiliates of this test's own: 7000001 and 7000002 are imported by every test of this file,
    so their profiles were on the topic before this one ran (the aesthetics review's "satisfied by
    any earlier import")."""

    def profiles(records: list) -> list[dict]:
        return [AUTH_AFFILIATES.adapter().validate_json(r.value).payload.model_dump(mode="json") for r in records]

    with_contact, without = new_affiliate(), new_affiliate()
    own = export(f"groupe.{uuid.uuid4().hex[:8]}").model_dump(mode="json")
    own["affiliates"][0] |= {"numero": without, "raison_sociale": f"Sans Contact {without} SARL"}
    own["affiliates"][0]["ice"] = f"001{without}00001"
    own["affiliates"][1] |= {"numero": with_contact, "raison_sociale": f"Avec Contact {with_contact} SA"}
    own["affiliates"][1]["ice"] = f"001{with_contact}00002"
    own["accounts"][0]["affiliates"] = [without, with_contact]
    await import_export(database, DamancomExport.model_validate(own))

    records = await read_topic(infra.bootstrap, AUTH_AFFILIATES.name, bool, key=with_contact)
    assert profiles(records) == [
        {
            "affiliate": with_contact,
            "raison_sociale": f"Avec Contact {with_contact} SA",
            "ice": f"001{with_contact}00002",
            "perception": {"code": "CAS-01", "name": "Perception Casablanca Anfa"},
            "contact": {"email": "tresorerie@zagora.ma", "mobile": "+212661000002", "language": "ar"},
        }
    ]
    # without contact details in the file: none announced (notifications tells that affiliate nothing)
    records = await read_topic(infra.bootstrap, AUTH_AFFILIATES.name, bool, key=without)
    assert [(p["raison_sociale"], p["contact"]) for p in profiles(records)] == [(f"Sans Contact {without} SARL", None)]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b'{"login": "a", "password":', 400, "json-invalide"),
        (b'{"login": "a", "password": "b", "admin": true}', 422, "requete-invalide"),
        (b'{"login": "a"}', 422, "requete-invalide"),
        (json.dumps({"login": "a", "password": "x" * 10_000}).encode(), 422, "requete-invalide"),
        (json.dumps({"login": "a", "password": "x" * 100_000}).encode(), 413, "requete-trop-volumineuse"),
        (b"[1, 2]", 422, "requete-invalide"),
    ],
    ids=["malformed", "unknown-field", "missing-field", "10kB-password", "100kB-body", "not-an-object"],
)
async def test_bad_input_is_a_clear_problem_never_a_500(
    client: httpx.AsyncClient, body: bytes, status: int, code: str
) -> None:
    response = await client.post("/v1/sessions", content=body, headers={"content-type": "application/json"})
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == code
    assert "Traceback" not in response.text


async def test_a_chunked_body_is_held_to_the_same_limit(client: httpx.AsyncClient) -> None:
    async def chunks():  # type: ignore[no-untyped-def]
        yield b'{"login": "a", "password": "'
        for _ in range(100):
            yield b"x" * 1024
        yield b'"}'

    response = await client.post("/v1/sessions", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert response.json()["code"] == "requete-trop-volumineuse"


async def test_a_login_that_grows_when_lowercased_is_a_422_not_a_500(client: httpx.AsyncClient) -> None:
    response = await open_session(client, "İ" * 100, "whatever")
    assert response.status_code == 422
    assert response.json()["code"] == "requete-invalide"


async def test_me_requires_a_valid_token(client: httpx.AsyncClient) -> None:
    assert (await client.get("/v1/me/affiliates")).status_code == 401
    bad = await client.get("/v1/me/affiliates", headers={"authorization": "Bearer not.a.token"})
    assert bad.status_code == 401
    assert bad.json()["code"] == "jeton-invalide"
    assert bad.headers["www-authenticate"] == "Bearer"


async def test_health_and_readiness(client: httpx.AsyncClient) -> None:
    assert (await client.get("/health/live")).json() == {"status": "ok"}
    ready = await client.get("/health/ready")
    assert ready.status_code == 200
    assert ready.json()["service"] == "auth"  # the launcher checks who answers on a port
    assert ready.json()["checks"] == {"database": True}
    assert ready.json()["dependencies"] == {"broker": True, "outbox_relay": True}
    details = (await client.get("/health/details")).json()
    assert {key: details[key] for key in ("database", "broker", "outbox_relay")} == dict.fromkeys(
        ("database", "broker", "outbox_relay"), True
    )
    assert details["instance"].endswith(f"/{os.getpid()}")  # the process that answered (one of the replicas)
    assert set(details["partitions"]) <= set(all_topic_names())  # what it consumes now (see test_replicas)


async def test_errors_answer_in_the_callers_language(client: httpx.AsyncClient, login: str) -> None:
    """Accept-Language: ar gives the title in Arabic, the same code and figures; French by default."""
    arabic = {"accept-language": "ar-MA,ar;q=0.9,fr;q=0.5"}
    wrong = await client.post("/v1/sessions", json={"login": login, "password": "pas le bon"}, headers=arabic)
    assert (wrong.status_code, wrong.json()["code"]) == (401, "identifiants-invalides")
    assert (
        wrong.json()["title"] == "اسم المستخدم أو كلمة المرور غير صحيحة." and wrong.headers["content-language"] == "ar"
    )
    french = await client.post("/v1/sessions", json={"login": login, "password": "pas le bon"})
    assert french.json()["title"] == "Identifiant ou mot de passe incorrect."
    assert french.headers["content-language"] == "fr"

    invalid = await client.post("/v1/sessions", json={"login": login}, headers=arabic)
    body = invalid.json()
    assert (invalid.status_code, body["code"]) == (422, "requete-invalide")
    assert body["errors"] == [{"field": "password", "code": "missing", "message": "حقل إلزامي"}]
    assert body["title"] == "يتضمن الطلب قيما غير صالحة."


async def test_answers_carrying_tokens_are_never_cached_nor_kept_for_idempotency(
    client: httpx.AsyncClient, login: str, database: str
) -> None:
    """RFC 6749 5.1: no-store on what carries tokens; a retry with an Idempotency-Key is served again,
    never from a copy of the tokens in the database (a dump must open no session)."""
    opened = await open_session(client, login, PASSWORD)
    assert opened.headers["cache-control"] == "no-store"
    bearer = {"authorization": f"Bearer {opened.json()['access_token']}", "idempotency-key": "renouvellement-1"}
    renewed = await client.post(
        "/v1/sessions/refresh", json={"refresh_token": opened.json()["refresh_token"]}, headers=bearer
    )
    assert renewed.status_code == 200 and renewed.headers["cache-control"] == "no-store"
    conn = await asyncpg.connect(database)
    try:
        assert await conn.fetchval("SELECT count(*) FROM idempotency_key") == 0
    finally:
        await conn.close()


async def test_an_operator_has_every_profile_announced_again_by_a_command(
    client: httpx.AsyncClient, infra: Infra, database: str
) -> None:
    affiliate = new_affiliate()
    own = export(f"groupe.{uuid.uuid4().hex[:8]}").model_dump(mode="json")
    own["affiliates"] = [own["affiliates"][1] | {"numero": affiliate, "ice": f"001{affiliate}00002"}]
    own["accounts"][0]["affiliates"] = [affiliate]
    await import_export(database, DamancomExport.model_validate(own))
    await read_topic(infra.bootstrap, AUTH_AFFILIATES.name, bool, key=affiliate)

    said = await asyncio.to_thread(
        CliRunner().invoke, auth_cli, ["republish", "--database-url", database], catch_exceptions=False
    )
    assert said.exit_code == 0, said.output
    count = int(said.output.split()[0])
    conn = await asyncpg.connect(database)
    try:
        assert count == await conn.fetchval("SELECT count(*) FROM affiliate")
    finally:
        await conn.close()
    records = await read_topic(infra.bootstrap, AUTH_AFFILIATES.name, lambda r: len(r) >= 2, key=affiliate)
    first, again = (AUTH_AFFILIATES.adapter().validate_json(r.value) for r in records)  # the service relays it
    assert again.payload == first.payload and again.event_id != first.event_id
