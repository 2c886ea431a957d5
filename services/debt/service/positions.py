"""Positions as messages: what debt announces on ``debt.positions.v1``."""

from collections.abc import Iterable

from opentelemetry.context import Context

from contracts.debt import PositionChanged
from contracts.topics import DEBT_POSITIONS
from services.debt.domain.position import CATEGORIES, Position
from services.runtime.clock import Clock
from services.runtime.outbox import OutgoingMessage

PRODUCER = "debt"


def position_payload(position: Position) -> dict[str, object]:
    return {
        "affiliate": position.affiliate,
        "version": position.version,
        "periods": [
            {"period": p.period}
            | {
                c: {"due": p.line(c).due, "paid": p.line(c).paid, "outstanding": p.line(c).outstanding}
                for c in CATEGORIES
            }
            for p in position.periods
        ],
        "arrangement": None
        if position.arrangement is None
        else {
            "arrangement_id": position.arrangement.arrangement_id,
            "perception": {"code": position.arrangement.perception_code, "name": position.arrangement.perception_name},
            "opened_on": position.arrangement.opened_on,
        },
    }


def position_messages(
    positions: Iterable[Position], clock: Clock, trace_contexts: dict[str, Context] | None = None
) -> list[OutgoingMessage]:
    """One event per affiliate, each continuing the trace of the entry that changed it."""
    contexts = trace_contexts or {}
    now = clock.now()
    return [
        OutgoingMessage(
            DEBT_POSITIONS.name,
            position.affiliate,
            PositionChanged.build(position_payload(position), producer=PRODUCER, occurred_at=now),
            trace_context=contexts.get(position.affiliate),
        )
        for position in positions
    ]
