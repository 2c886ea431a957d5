"""Plan events waiting for their request's VALIDATED (``pending_plan_event``). Takes a connection: the
caller owns the transaction."""

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg

from services.runtime.db import load_queries, rows

_Q = load_queries(Path(__file__).parent / "sql" / "pending.sql")


@dataclass(frozen=True)
class WaitingEvent:
    seq: int
    event_id: UUID
    request_id: UUID
    affiliate: str
    event_type: str
    message: str
    """the event's JSON envelope, as received"""
    traceparent: str | None
    tracestate: str | None
    received_at: datetime
    refusal: str | None


@dataclass(frozen=True)
class PendingSummary:
    waiting: int
    refused: int
    """applied once their VALIDATED came, refused: dead-lettered at the next sweep"""
    oldest_received_at: datetime | None


def _waiting(row: Any) -> WaitingEvent:
    return WaitingEvent(
        seq=row["seq"],
        event_id=row["event_id"],
        request_id=row["request_id"],
        affiliate=row["affiliate"],
        event_type=row["event_type"],
        message=row["message"],
        traceparent=row["traceparent"],
        tracestate=row["tracestate"],
        received_at=row["received_at"],
        refusal=row["refusal"],
    )


class PendingRepository:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def lock_request(self, request_id: UUID) -> None:
        """Until the caller's transaction ends, no other transaction handles this request's plan events."""
        await _Q.lock_request(self._conn, request_id=request_id)

    async def add(
        self,
        *,
        event_id: UUID,
        request_id: UUID,
        affiliate: str,
        event_type: str,
        message: str,
        traceparent: str | None,
        tracestate: str | None,
        received_at: datetime,
    ) -> bool:
        """False when this event waits already (a redelivery)."""
        inserted = await rows(
            _Q.insert_waiting(
                self._conn,
                event_id=event_id,
                request_id=request_id,
                affiliate=affiliate,
                event_type=event_type,
                message=message,
                traceparent=traceparent,
                tracestate=tracestate,
                received_at=received_at,
            )
        )
        return bool(inserted)

    async def plan_known(self, request_id: UUID) -> bool:
        """Whether debt saw this request VALIDATED (its plan exists)."""
        return bool(await _Q.plan_known(self._conn, request_id=request_id))

    async def waiting_for(self, request_id: UUID) -> list[WaitingEvent]:
        """This request's waiting events in arrival order, locked until the transaction ends."""
        return [_waiting(row) for row in await rows(_Q.waiting_for(self._conn, request_id=request_id))]

    async def refuse(self, seq: int, refusal: str) -> None:
        await _Q.refuse_waiting(self._conn, seq=seq, refusal=refusal)

    async def delete(self, seq: int) -> None:
        await _Q.delete_waiting(self._conn, seq=seq)

    async def waiting_with_plan(self, limit: int) -> list[UUID]:
        return [row["request_id"] for row in await rows(_Q.waiting_with_plan(self._conn, limit=limit))]

    async def due_for_dead_letter(self, deadline: datetime, limit: int) -> list[tuple[int, UUID]]:
        """Refused ones, and those received before ``deadline``: ``(seq, request_id)`` in arrival order."""
        found = await rows(_Q.due_for_dead_letter(self._conn, deadline=deadline, limit=limit))
        return [(row["seq"], row["request_id"]) for row in found]

    async def for_update(self, seq: int) -> WaitingEvent | None:
        row = await _Q.pending_for_update(self._conn, seq=seq)
        return None if row is None else _waiting(row)

    async def forget_claim(self, consumer: str, event_id: UUID) -> None:
        """Drops ``event_id`` from ``consumer``'s inbox (the runtime's table, in this same database)."""
        await _Q.forget_claim(self._conn, consumer=consumer, event_id=event_id)

    async def summary(self) -> PendingSummary:
        row = await _Q.pending_summary(self._conn)
        return PendingSummary(row["waiting"], row["refused"], row["oldest_received_at"])
