"""Portal sessions: a random id in an HttpOnly cookie, everything else (the access token) in Postgres.

Stored server-side so that logging out ends the session everywhere at once, and so that any
replica of the portal serves any page.
"""

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg

from services.runtime.db import load_queries

_queries = load_queries(Path(__file__).parent / "sql")
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


def _hash(cookie_value: str) -> bytes:
    return hashlib.sha256(cookie_value.encode()).digest()


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
    ) -> tuple[str, Session]:
        """The new cookie value and the session; a single affiliate is chosen at once (guide: no choice)."""
        cookie_value = secrets.token_urlsafe(32)
        session = Session(
            access_token=access_token,
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
            access_token=access_token,
            login=login,
            display_name=display_name,
            affiliates=json.dumps([a.as_json() for a in affilies]),
            affiliate=session.affiliate,
            csrf_token=session.csrf_token,
            expires_at=expires_at,
        )
        return cookie_value, session

    async def find(self, cookie_value: str) -> Session | None:
        row = await _queries.live_session(self.conn, id_hash=_hash(cookie_value))
        if row is None:
            return None
        return Session(
            access_token=row["access_token"],
            login=row["login"],
            display_name=row["display_name"],
            affilies=[Affilie.of(a) for a in json.loads(row["affiliates"])],
            affiliate=row["affiliate"],
            csrf_token=row["csrf_token"],
            expires_at=row["expires_at"],
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
