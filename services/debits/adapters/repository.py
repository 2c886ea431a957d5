"""Bank accounts in Postgres. Takes a connection: the caller owns the transaction."""

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import asyncpg

from services.debits.domain.accounts import CompteBancaire
from services.runtime.db import load_queries, rows

_Q = load_queries(Path(__file__).parent / "sql")


class AccountRepository:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def upsert(self, comptes: Sequence[CompteBancaire], registered_at: datetime) -> set[str]:
        """Store new accounts and changed names; return the affiliates whose accounts changed."""
        if not comptes:
            return set()
        changed = await rows(
            _Q.upsert_accounts(
                self._conn,
                ids=[c.id for c in comptes],
                affiliates=[c.affiliate for c in comptes],
                ribs=[c.rib for c in comptes],
                bank_codes=[c.bank_code for c in comptes],
                bank_names=[c.bank_name for c in comptes],
                holders=[c.holder for c in comptes],
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

    async def accounts_of(self, affiliates: Sequence[str]) -> dict[str, list[CompteBancaire]]:
        found: dict[str, list[CompteBancaire]] = defaultdict(list)
        for row in await rows(_Q.accounts_of(self._conn, affiliates=list(affiliates))):
            found[row["affiliate"]].append(
                CompteBancaire(
                    id=row["id"],
                    affiliate=row["affiliate"],
                    rib=row["rib"],
                    bank_code=row["bank_code"],
                    bank_name=row["bank_name"],
                    holder=row["holder"],
                )
            )
        return found
