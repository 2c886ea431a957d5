"""What ``GET /v1/requests/{id}/debits`` shows: each debit with its state and history."""

from typing import Any
from uuid import UUID

import asyncpg

from services.debits.adapters.plan_repository import PlanRepository
from services.debits.service.plan_lifecycle import debit_view
from services.runtime.db import snapshot


async def debits_of_request(conn: asyncpg.Connection, request_id: UUID) -> tuple[str, list[dict[str, Any]]] | None:
    """The plan's affiliate and its debits, or None when the request has no plan. Read as of one
    instant: a bank's answer committed between two of its reads would show a debit FAILED whose
    history ends at ORDERED, without the rejection's reason (seen in CI)."""
    async with snapshot(conn):
        return await _read(PlanRepository(conn), request_id)


async def _read(repo: PlanRepository, request_id: UUID) -> tuple[str, list[dict[str, Any]]] | None:
    plan = await repo.plan(request_id)
    if plan is None:
        return None
    history: dict[int, list[dict[str, Any]]] = {}
    for h in await repo.history(request_id):
        history.setdefault(h["sequence"], []).append(
            {
                "at": h["at"],
                "from_state": h["from_state"],
                "to_state": h["to_state"],
                "attempt": h["attempt"],
                "reason": h["reason"],
                "end_to_end_id": h["end_to_end_id"],
                "reason_code": h["reason_code"],
                "final": h["final"],
                "next_attempt_on": h["next_attempt_on"],
            }
        )
    return plan["affiliate"], [
        debit_view(d).model_dump() | {"next_attempt_on": d.next_attempt_on, "history": history.get(d.sequence, [])}
        for d in await repo.debits(request_id)
    ]
