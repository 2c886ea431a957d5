"""Positions as messages: what debt announces on ``debt.positions.v1``.

A busy batch announces thousands of positions. They are written straight to JSON from values debt
computed itself rather than validated field by field through the contract models (three times the
cost); ``tests/unit/test_position_messages.py`` holds every shape to ``contracts.debt.PositionChanged``.
"""

import json
import uuid
from collections.abc import Iterable
from typing import Any

from opentelemetry.context import Context

from contracts.debt import PositionChanged
from contracts.topics import DEBT_POSITIONS
from services.debt.domain.position import Position
from services.debt.service.read_models import amount_lines, arrangement_json
from services.runtime.clock import Clock
from services.runtime.outbox import OutgoingMessage

PRODUCER = "debt"


def position_payload(position: Position) -> dict[str, Any]:
    return {
        "affiliate": position.affiliate,
        "version": position.version,
        "periods": [
            {"period": p.period}
            | amount_lines(p)
            | {"principal_paid_on": p.principal_paid_on.isoformat() if p.principal_paid_on else None}
            for p in position.periods
        ],
        "arrangement": arrangement_json(position.arrangement),
    }


def position_messages(
    positions: Iterable[Position], clock: Clock, trace_contexts: dict[str, Context] | None = None
) -> list[OutgoingMessage]:
    """One event per affiliate, each continuing the trace of the entry that changed it."""
    contexts = trace_contexts or {}
    occurred_at = clock.now().isoformat()
    messages = []
    for position in positions:
        event_id = uuid.uuid4()
        envelope = {
            "event_id": str(event_id),
            "type": PositionChanged.TYPE,
            "occurred_at": occurred_at,
            "producer": PRODUCER,
            "correlation_id": None,
            "payload": position_payload(position),
        }
        body = json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode()
        messages.append(
            OutgoingMessage(
                DEBT_POSITIONS.name,
                position.affiliate,
                event_id,
                PositionChanged.TYPE,
                body,
                contexts.get(position.affiliate),
            )
        )
    return messages
