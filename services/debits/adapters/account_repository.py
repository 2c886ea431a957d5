"""Bank accounts in Postgres. Takes a connection: the caller owns the transaction."""

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import asyncpg

from services.debits.domain.accounts import RegisteredAccount
from services.runtime.db import load_queries, rows

_Q = load_queries(Path(__file__).parent / "sql")


class AccountRepository:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def upsert(self, registered: Sequence[RegisteredAccount], registered_at: datetime) -> set[str]:
        """Store new accounts and changed names; return the affiliates whose accounts changed."""
        if not registered:
            return set()
        changed = await rows(
            _Q.upsert_accounts(
                self._conn,
                ids=[c.id for c in registered],
                affiliates=[c.affiliate for c in registered],
                ribs=[c.rib for c in registered],
                bank_codes=[c.bank_code for c in registered],
                bank_names=[c.bank_name for c in registered],
                holders=[c.holder for c in registered],
                registered_at=registered_at,
            )
        )
        return {row["affiliate"] for row in changed}

    async def bump_versions(self, affiliates: Sequence[str]) -> dict[str, int]:
        bumped = await rows(_Q.bump_versions(self._conn, affiliates=list(affiliates)))
        return {row["affiliate"]: row["version"] for row in bumped}

    async def lock_versions(self, affiliates: Sequence[str]) -> dict[str, int]:
        locked = await rows(_Q.lock_versions(self._conn, affiliates=list(affiliates)))
        return {row["affiliate"]: row["version"] for row in locked}

    async def affiliates_after(self, after: str, page: int) -> list[str]:
        return [row["affiliate"] for row in await rows(_Q.affiliates_after(self._conn, after=after, page=page))]

    async def accounts_of(self, affiliates: Sequence[str]) -> dict[str, list[RegisteredAccount]]:
        found: dict[str, list[RegisteredAccount]] = defaultdict(list)
        for row in await rows(_Q.accounts_of(self._conn, affiliates=list(affiliates))):
            found[row["affiliate"]].append(
                RegisteredAccount(
                    id=row["id"],
                    affiliate=row["affiliate"],
                    rib=row["rib"],
                    bank_code=row["bank_code"],
                    bank_name=row["bank_name"],
                    holder=row["holder"],
                )
            )
        return found
