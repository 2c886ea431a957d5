"""Portal sessions: a random id in an HttpOnly cookie, everything else (the tokens) in Postgres.

Stored server-side so that logging out ends the session everywhere at once, and so that any
replica of the portal serves any page. The row is found by the id's SHA-256, and its tokens are
sealed (AES-GCM) with a key derived from the id, which only the browser holds: a copy of the
database opens no session and holds no usable token (security review 2026-12-04 §B: auth's refresh
tokens were stored in clear). The access token lives 15 minutes; the session lives as long
as auth's refresh token (capped by ``SESSION_MAX_HOURS``): a page asked within a minute of the
access token's end first exchanges the refresh token (``renew``), under the session's row lock.
"""

import base64
import hashlib
import json
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from services.runtime.db import load_queries

log = logging.getLogger(__name__)
_queries = load_queries(Path(__file__).parent / "sql")
RENEW_BEFORE = timedelta(minutes=1)
"""an access token this close to its end is renewed before the page calls a service with it"""
PURGE_BATCH = 1000
"""expired sessions deleted per statement (``sql/sessions.sql``, ``purge_expired``)"""


@dataclass(frozen=True, slots=True)
class Affilie:
    numero: str
    raison_sociale: str
    ice: str
    perception_code: str
    perception_name: str

    @classmethod
    def of(cls, data: dict[str, Any]) -> "Affilie":
        return cls(
            numero=data["numero"],
            raison_sociale=data["raison_sociale"],
            ice=data["ice"],
            perception_code=data["perception"]["code"],
            perception_name=data["perception"]["name"],
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "numero": self.numero,
            "raison_sociale": self.raison_sociale,
            "ice": self.ice,
            "perception": {"code": self.perception_code, "name": self.perception_name},
        }


@dataclass(frozen=True, slots=True)
class Session:
    access_token: str
    refresh_token: str | None
    access_expires_at: datetime
    login: str
    display_name: str
    affilies: list[Affilie]
    affiliate: str | None
    csrf_token: str
    expires_at: datetime

    @property
    def affilie(self) -> Affilie | None:
        return next((a for a in self.affilies if a.numero == self.affiliate), None)

    def holds(self, numero: str) -> bool:
        return any(a.numero == numero for a in self.affilies)

    def needs_renewal(self, now: datetime) -> bool:
        return self.refresh_token is not None and self.access_expires_at - now < RENEW_BEFORE


def _hash(cookie_value: str) -> bytes:
    return hashlib.sha256(cookie_value.encode()).digest()


_SEALED = "s1:"


def _key(cookie_value: str) -> bytes:
    # Another digest of the id than ``_hash``, which the row stores: the row never holds its key.
    return hashlib.sha256(b"portal session tokens\x00" + cookie_value.encode()).digest()


def _seal(cookie_value: str, token: str) -> str:
    nonce = secrets.token_bytes(12)
    sealed = AESGCM(_key(cookie_value)).encrypt(nonce, token.encode(), _hash(cookie_value))
    return _SEALED + base64.b64encode(nonce + sealed).decode()


def _unseal(cookie_value: str, stored: str) -> str:
    raw = base64.b64decode(stored.removeprefix(_SEALED))
    return AESGCM(_key(cookie_value)).decrypt(raw[:12], raw[12:], _hash(cookie_value)).decode()


class SessionStore:
    """Takes a connection; the caller owns it (and any transaction)."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def open(
        self,
        *,
        access_token: str,
        login: str,
        display_name: str,
        affilies: list[Affilie],
        expires_at: datetime,
        refresh_token: str | None = None,
        access_expires_at: datetime | None = None,
    ) -> tuple[str, Session]:
        """The new cookie value and the session; a single affiliate is chosen at once (guide: no choice).
        Without a refresh token the session ends with its access token (``access_expires_at``)."""
        cookie_value = secrets.token_urlsafe(32)
        access_expires_at = access_expires_at or expires_at
        session = Session(
            access_token=access_token,
            refresh_token=refresh_token,
            access_expires_at=access_expires_at,
            login=login,
            display_name=display_name,
            affilies=affilies,
            affiliate=affilies[0].numero if len(affilies) == 1 else None,
            csrf_token=secrets.token_urlsafe(32),
            expires_at=expires_at,
        )
        await _queries.insert_session(
            self.conn,
            id_hash=_hash(cookie_value),
            access_token=_seal(cookie_value, access_token),
            refresh_token=None if refresh_token is None else _seal(cookie_value, refresh_token),
            access_expires_at=access_expires_at,
            login=login,
            display_name=display_name,
            affiliates=json.dumps([a.as_json() for a in affilies]),
            affiliate=session.affiliate,
            csrf_token=session.csrf_token,
            expires_at=expires_at,
        )
        return cookie_value, session

    async def find(self, cookie_value: str, *, lock: bool = False) -> Session | None:
        """``lock``: under the row lock, in the caller's transaction (before a renewal)."""
        query = _queries.lock_live_session if lock else _queries.live_session
        row = await query(self.conn, id_hash=_hash(cookie_value))
        if row is None:
            return None
        try:
            access_token = _unseal(cookie_value, row["access_token"])
            refresh_token = None if row["refresh_token"] is None else _unseal(cookie_value, row["refresh_token"])
        except (InvalidTag, ValueError):  # a row altered in the database: no session
            log.warning("portal session whose tokens do not open: refused")
            return None
        return Session(
            access_token=access_token,
            refresh_token=refresh_token,
            access_expires_at=row["access_expires_at"],
            login=row["login"],
            display_name=row["display_name"],
            affilies=[Affilie.of(a) for a in json.loads(row["affiliates"])],
            affiliate=row["affiliate"],
            csrf_token=row["csrf_token"],
            expires_at=row["expires_at"],
        )

    async def renew(
        self, cookie_value: str, access_token: str, refresh_token: str, access_expires_at: datetime
    ) -> None:
        await _queries.renew(
            self.conn,
            id_hash=_hash(cookie_value),
            access_token=_seal(cookie_value, access_token),
            refresh_token=_seal(cookie_value, refresh_token),
            access_expires_at=access_expires_at,
        )

    async def choose(self, cookie_value: str, numero: str) -> None:
        await _queries.choose_affiliate(self.conn, id_hash=_hash(cookie_value), affiliate=numero)

    async def close(self, cookie_value: str) -> None:
        await _queries.delete_session(self.conn, id_hash=_hash(cookie_value))

    async def purge_expired(self) -> int:
        """Every expired session, a thousand per statement (each delete stays short): a busy hour's
        sessions all go in one pass, not a thousand every five minutes."""
        total = 0
        while (purged := await _queries.purge_expired(self.conn)) > 0:
            total += purged
            if purged < PURGE_BATCH:
                break
        return total
