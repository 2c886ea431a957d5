"""Refresh tokens in Postgres (their hashes). Takes a connection: the caller owns the transaction."""

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from uuid import UUID

import asyncpg

from services.auth.domain.accounts import Account
from services.runtime.db import load_queries

_Q = load_queries(Path(__file__).parent / "sql" / "sessions.sql")


@dataclass(frozen=True)
class StoredRefresh:
    id: UUID
    family_id: UUID
    account_id: str
    expires_at: datetime
    used_at: datetime | None
    revoked_at: datetime | None
    session_started_at: datetime


class RefreshRepository:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def insert(
        self,
        id: UUID,
        family_id: UUID,
        account_id: str,
        token_hash: bytes,
        issued_at: datetime,
        expires_at: datetime,
        session_started_at: datetime,
    ) -> None:
        await _Q.insert_refresh(
            self._conn,
            id=id,
            family_id=family_id,
            account_id=account_id,
            token_hash=token_hash,
            issued_at=issued_at,
            expires_at=expires_at,
            session_started_at=session_started_at,
        )

    async def lock_family_of(self, token_hash: bytes) -> UUID | None:
        """Takes the session's lock (until the transaction ends); None for an unknown token."""
        family: UUID | None = await _Q.family_of(self._conn, token_hash=token_hash)
        if family is not None:
            await self.lock_family(family)
        return family

    async def lock_family(self, family_id: UUID) -> None:
        await _Q.lock_family(self._conn, family_id=str(family_id))

    async def lock(self, token_hash: bytes) -> StoredRefresh | None:
        row = await _Q.lock_refresh(self._conn, token_hash=token_hash)
        return StoredRefresh(**dict(row)) if row else None

    async def mark_used(self, id: UUID, at: datetime) -> None:
        await _Q.mark_used(self._conn, id=id, at=at)

    async def revoke_family(self, family_id: UUID, at: datetime) -> int:
        count: int = await _Q.revoke_family(self._conn, family_id=family_id, at=at)
        return count

    async def account(self, account_id: str) -> Account | None:
        row = await _Q.account_by_id(self._conn, account_id=account_id)
        return Account(**dict(row)) if row else None

    async def purge(self, before: datetime) -> int:
        count: int = await _Q.purge_refresh(self._conn, before=before)
        return count
