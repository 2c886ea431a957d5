"""Positions projection and issued quotes in Postgres. Takes a connection: the caller owns the transaction."""

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from uuid import UUID

import asyncpg

from contracts.simulation import Quote
from services.runtime.db import load_queries
from services.runtime.outbox import OutgoingMessage, outbox_rows
from services.simulation.domain.eligible_debt import EligibleDebt, Outstanding

_Q = load_queries(Path(__file__).parent / "sql")


@dataclass(frozen=True, slots=True)
class ProjectedPosition:
    version: int
    eligible_until: str
    debt: EligibleDebt
    has_arrangement: bool


class SimulationRepository:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def save_position(
        self,
        affiliate: str,
        version: int,
        outstanding: Sequence[Outstanding],
        eligible_until: str,
        debt: EligibleDebt,
        *,
        has_arrangement: bool,
    ) -> None:
        """Upsert, unless a newer version of this affiliate's position is already stored."""
        periods = [
            [r.period, f"{r.principal}", f"{r.majorations}", f"{r.astreintes}", f"{r.frais}"] for r in outstanding
        ]
        await _Q.upsert_position(
            self._conn,
            affiliate=affiliate,
            version=version,
            periods=json.dumps(periods, separators=(",", ":")),
            eligible_until=eligible_until,
            eligible_periods=list(debt.periods),
            principal=debt.principal,
            majorations=debt.majorations,
            astreintes=debt.astreintes,
            frais=debt.frais,
            has_arrangement=has_arrangement,
        )

    async def position_of(self, affiliate: str) -> ProjectedPosition | None:
        row = await _Q.eligible_of(self._conn, affiliate=affiliate)
        if row is None:
            return None
        debt = EligibleDebt(
            tuple(row["eligible_periods"]), row["principal"], row["majorations"], row["astreintes"], row["frais"]
        )
        return ProjectedPosition(row["version"], row["eligible_until"], debt, row["has_arrangement"])

    async def outstanding_of(self, affiliate: str) -> list[Outstanding]:
        """Every period's outstanding amounts, to recompute the totals under another cut-off."""
        text: str | None = await _Q.periods_of(self._conn, affiliate=affiliate)
        if text is None:
            return []
        return [Outstanding(p, Decimal(pr), Decimal(m), Decimal(a), Decimal(f)) for p, pr, m, a, f in json.loads(text)]

    async def save_quote(self, quote: Quote, body: str, announcement: OutgoingMessage) -> None:
        """The quote and its event in one statement: they commit together, even outside a transaction."""
        [(event_id, topic, key, event_type, event_body, traceparent, tracestate)] = outbox_rows([announcement])
        await _Q.insert_quote_announced(
            self._conn,
            quote_id=quote.quote_id,
            affiliate=quote.affiliate,
            debt_version=quote.debt_version,
            issued_at=quote.issued_at,
            expires_at=quote.expires_at,
            body=body,
            event_id=event_id,
            topic=topic,
            key=key,
            event_type=event_type,
            event_body=event_body,
            traceparent=traceparent,
            tracestate=tracestate,
        )

    async def purge_quotes(self, before: datetime) -> int:
        count: int = await _Q.purge_quotes(self._conn, before=before)
        return count

    async def quote_of(self, quote_id: UUID) -> tuple[str, str] | None:
        """The quote's affiliate and its JSON body, as issued."""
        row = await _Q.quote_of(self._conn, quote_id=quote_id)
        return None if row is None else (row["affiliate"], row["body"])
