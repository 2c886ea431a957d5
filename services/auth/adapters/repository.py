"""Accounts in Postgres. Takes a connection: the caller owns the transaction."""

from datetime import datetime
from pathlib import Path

import asyncpg

from services.auth.domain.accounts import Account, Affiliate
from services.auth.domain.lockout import Attempts
from services.runtime.db import load_queries, rows

_Q = load_queries(Path(__file__).parent / "sql" / "accounts.sql")


class AccountRepository:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def by_login(self, login: str) -> Account | None:
        row = await _Q.account_by_login(self._conn, login=login)
        return Account(**dict(row)) if row else None

    async def affiliates_of(self, account_id: str) -> list[Affiliate]:
        found = await rows(_Q.affiliates_of(self._conn, account_id=account_id))
        return [Affiliate(**dict(row)) for row in found]

    async def upgrade_password_hash(self, account: Account, new_hash: str) -> None:
        """Replaces the hash ``account`` was read with; a hash changed since (a new import) is kept."""
        await _Q.upgrade_password_hash(
            self._conn, account_id=account.id, old_hash=account.password_hash, new_hash=new_hash
        )

    async def purge_attempts(self, before: datetime) -> int:
        count: int = await _Q.purge_attempts(self._conn, before=before)
        return count

    async def attempts(self, login: str, address: str) -> Attempts:
        row = await _Q.attempts(self._conn, login=login, address=address)
        if row is None:
            return Attempts()
        return Attempts(consecutive_failures=row["consecutive_failures"], locked_until=row["locked_until"])

    async def lock_attempts(self, login: str, address: str) -> Attempts:
        row = await _Q.lock_attempts(self._conn, login=login, address=address)
        return Attempts(consecutive_failures=row["consecutive_failures"], locked_until=row["locked_until"])

    async def save_attempts(self, login: str, address: str, attempts: Attempts) -> None:
        await _Q.save_attempts(
            self._conn,
            login=login,
            address=address,
            consecutive_failures=attempts.consecutive_failures,
            locked_until=attempts.locked_until,
        )

    async def upsert_affiliate(self, affiliate: Affiliate) -> None:
        await _Q.upsert_affiliate(
            self._conn,
            numero=affiliate.numero,
            raison_sociale=affiliate.raison_sociale,
            ice=affiliate.ice,
            perception_code=affiliate.perception_code,
            perception_name=affiliate.perception_name,
            email=affiliate.email,
            mobile=affiliate.mobile,
            language=affiliate.language,
        )

    async def upsert_account(self, account: Account, affiliates: list[str]) -> str:
        account_id: str = await _Q.upsert_account(
            self._conn,
            id=account.id,
            login=account.login,
            password_hash=account.password_hash,
            display_name=account.display_name,
        )
        await _Q.replace_affiliations(self._conn, account_id=account_id, numeros=affiliates)
        return account_id

    async def affiliates_after(self, after: str, page: int) -> list[Affiliate]:
        found = await rows(_Q.affiliates_after(self._conn, after=after, page=page))
        return [Affiliate(**dict(row)) for row in found]

    async def count(self) -> int:
        count: int = await _Q.count_accounts(self._conn)
        return count
