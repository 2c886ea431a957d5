"""``Idempotency-Key`` on the POSTs (issue 17): a gateway that lost an answer (a timeout, a cut
connection) sends the same request again with the same key and gets the first answer, status and
body, instead of a second effect or a 409. The same key with another request is refused (422
``cle-idempotence-reutilisee``); a request still being served answers 409 ``requete-en-cours`` with
``Retry-After``. Keys are the caller's own (the token's account), kept ``IDEMPOTENCY_KEY_HOURS``.

What is kept: every answer but those that did nothing and invite a retry (5xx, 401, 403, 408, 429),
and those marked ``Cache-Control: no-store`` (auth's tokens: a database dump must open no session):
those free the key. A POST without a key, or without a valid token (login: the route answers), is
served as before.

The answer is stored after the handler's own transaction, not in it: a process dying between the two
leaves the key "in progress"; after ``ABANDONED_AFTER`` the next try takes it over and the request runs
again, where each command's own rules (a request validated once, a state machine) keep it from acting
twice.
"""

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.runtime.db import PoolExhausted, load_queries
from services.runtime.problems import Problem
from services.runtime.tokens import InvalidToken

if TYPE_CHECKING:  # the platform purges the keys (retention), so it imports this module
    from services.runtime.platform import Platform

log = logging.getLogger(__name__)
_QUERIES = load_queries(Path(__file__).parent / "sql" / "idempotency.sql")

HEADER = b"idempotency-key"
REPLAYED = (b"idempotent-replayed", b"true")
MAX_KEY_LENGTH = 255
ABANDONED_AFTER = timedelta(minutes=2)
"""far beyond any request's life (the pool's wait, the handlers' timeouts): its process is gone"""
TOO_LARGE = "La requête est trop volumineuse."
NOT_KEPT = frozenset({401, 403, 408, 429})
"""answers that did nothing and invite the same request again (with every 5xx)"""


@dataclass(frozen=True)
class Held:
    request_hash: bytes
    status: int | None
    headers: list[tuple[bytes, bytes]]
    body: bytes


def request_hash(scope: Scope, body: bytes) -> bytes:
    """The same key must come with the same request: method, path, query and body, byte for byte."""
    digest = hashlib.sha256()
    for part in (scope["method"].encode(), scope.get("raw_path") or scope["path"].encode(), scope["query_string"]):
        digest.update(len(part).to_bytes(8, "big") + part)
    digest.update(body)
    return digest.digest()


def valid_key(key: bytes) -> bool:
    return 0 < len(key) <= MAX_KEY_LENGTH and all(0x21 <= byte <= 0x7E for byte in key)


class Idempotency:
    """ASGI middleware; inside ``BodyLimit`` so the body it reads is bounded."""

    def __init__(self, app: ASGIApp, platform: "Platform", ttl: timedelta) -> None:
        self.app = app
        self.platform = platform
        self.ttl = ttl

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = dict(scope.get("headers", ())).get(HEADER) if scope["type"] == "http" else None
        account = self._account(scope) if key is not None and scope["method"] == "POST" else None
        if key is None or account is None or self.platform.pool is None:
            await self.app(scope, receive, send)
            return
        if not valid_key(key):
            await _answer(
                Problem(
                    400,
                    "cle-idempotence-invalide",
                    "La clé Idempotency-Key doit compter de 1 à 255 caractères ASCII visibles.",
                ),
                scope,
                receive,
                send,
            )
            return
        try:
            body = await _read_body(receive)
        except HTTPException as too_large:  # BodyLimit, outside: a chunked body over the limit
            await _answer(Problem(too_large.status_code, "requete-trop-volumineuse", TOO_LARGE), scope, receive, send)
            return
        if body is None:  # the client left mid-body: nothing to run, nothing to keep against its retry
            return
        digest = request_hash(scope, body)
        try:
            claimed_at, held = await self._begin(account, key.decode(), digest)
        except PoolExhausted:
            busy = Problem(503, "service-sature", "Le service est momentanément saturé.", headers={"Retry-After": "2"})
            await _answer(busy, scope, receive, send)
            return
        if claimed_at is not None:
            await self._serve_first(scope, body, send, account, key.decode(), claimed_at)
        elif held is None:  # purged between the two statements: let the client come back
            await _answer(_in_progress(), scope, receive, send)
        elif held.request_hash != digest:
            reused = Problem(
                422,
                "cle-idempotence-reutilisee",
                "Cette clé Idempotency-Key a déjà servi pour une autre requête.",
            )
            await _answer(reused, scope, receive, send)
        elif held.status is None:
            await _answer(_in_progress(), scope, receive, send)
        else:
            await send({"type": "http.response.start", "status": held.status, "headers": [*held.headers, REPLAYED]})
            await send({"type": "http.response.body", "body": held.body})

    def _account(self, scope: Scope) -> str | None:
        """The caller the key belongs to; None without a valid token (the route will answer 401)."""
        header = dict(scope.get("headers", ())).get(b"authorization", b"").decode("latin-1")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token or self.platform.verifier is None:
            return None
        try:
            return self.platform.verifier.verify(token).account_id
        except InvalidToken:
            return None

    async def _begin(self, account: str, key: str, digest: bytes) -> tuple[datetime | None, Held | None]:
        """(the claim, None): the key is ours, serve the request; (None, what holds the key) otherwise."""
        assert self.platform.pool is not None
        async with self.platform.pool.acquire() as conn:
            taken = await _QUERIES.begin(
                conn,
                account_id=account,
                key=key,
                request_hash=digest,
                ttl_seconds=self.ttl.total_seconds(),
                abandoned_seconds=ABANDONED_AFTER.total_seconds(),
            )
            if taken is not None:
                return taken["created_at"], None
            row = await _QUERIES.held(conn, account_id=account, key=key)
        if row is None:
            return None, None
        headers = [
            (name.encode("latin-1"), value.encode("latin-1")) for name, value in json.loads(row["headers"] or "[]")
        ]
        return None, Held(bytes(row["request_hash"]), row["status"], headers, bytes(row["body"] or b""))

    async def _serve_first(
        self, scope: Scope, body: bytes, send: Send, account: str, key: str, claimed_at: datetime
    ) -> None:
        start: Message = {}
        chunks: list[bytes] = []

        async def replay_body() -> Message:
            return {"type": "http.request", "body": body, "more_body": False}

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, replay_body, capture)
        finally:
            await self._finish(account, key, claimed_at, start, b"".join(chunks))

    async def _finish(self, account: str, key: str, claimed_at: datetime, start: Message, body: bytes) -> None:
        """Records the answer, or frees the key, only while this request still holds it (one taken
        over after ABANDONED_AFTER has lost it: the statements match its claim)."""
        assert self.platform.background_pool is not None
        status = int(start.get("status", 500))
        try:
            # The background pool: a burst of HTTP calls holding every HTTP connection must not leave
            # a served request's answer unrecorded.
            async with self.platform.background_pool.acquire() as conn:
                no_store = any(n.lower() == b"cache-control" and b"no-store" in v for n, v in start.get("headers", []))
                if status >= 500 or status in NOT_KEPT or no_store:
                    await _QUERIES.release(conn, account_id=account, key=key, claimed_at=claimed_at)
                    return
                headers = [[n.decode("latin-1"), v.decode("latin-1")] for n, v in start.get("headers", [])]
                await _QUERIES.answered(
                    conn,
                    account_id=account,
                    key=key,
                    claimed_at=claimed_at,
                    status=status,
                    headers=json.dumps(headers),
                    body=body,
                )
        except Exception:  # the answer was sent; a retry after ABANDONED_AFTER runs the request again
            log.warning("idempotency answer not recorded", extra={"status": status}, exc_info=True)


async def _read_body(receive: Receive) -> bytes | None:
    """The whole body; None when the client disconnected before sending it all."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _in_progress() -> Problem:
    return Problem(
        409,
        "requete-en-cours",
        "La même requête est en cours de traitement ; réessayez dans un instant.",
        headers={"Retry-After": "1"},
    )


async def _answer(problem: Problem, scope: Scope, receive: Receive, send: Send) -> None:
    await problem.answer_scope(scope)(scope, receive, send)


async def purge(conn: Any, before: datetime) -> int:
    """Forgets up to a few thousand keys taken before ``before``; returns how many."""
    count: int = await _QUERIES.purge(conn, before=before)
    return count
