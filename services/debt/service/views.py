"""The consolidated debt as gateways read it, built once per change and stored ready to serve.

A read of the debt is far more frequent than a change (every screen of the portal shows it), so the
JSON document is computed when the position changes and the HTTP read returns it as stored.
"""

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from services.debt.domain.position import (
    CATEGORIES,
    Arrangement,
    Category,
    Line,
    PeriodBalance,
    Position,
    is_eligible,
)


def _amount(value: Decimal) -> str:
    return f"{value + 0:.2f}"  # + 0: never "-0.00"


def _line(line: Line) -> dict[str, str]:
    return {"due": _amount(line.due), "paid": _amount(line.paid), "outstanding": _amount(line.outstanding)}


def amount_lines(balance: PeriodBalance) -> dict[str, dict[str, str]]:
    """The four categories of one period, amounts as two-place strings (shared by view and event)."""
    return {c: _line(balance.line(c)) for c in CATEGORIES}


def arrangement_json(arrangement: Arrangement | None) -> dict[str, Any] | None:
    """The active arrangement as both the debt document and the position event carry it."""
    if arrangement is None:
        return None
    return {
        "arrangement_id": arrangement.arrangement_id,
        "perception": {"code": arrangement.perception_code, "name": arrangement.perception_name},
        "opened_on": arrangement.opened_on.isoformat(),
    }


def _totals(amounts: Mapping[Category, Decimal]) -> dict[str, str]:
    return {c: _amount(amounts[c]) for c in CATEGORIES} | {"total": _amount(sum(amounts.values(), Decimal(0)))}


def debt_view(position: Position, cutoff: str) -> dict[str, Any]:
    """The shape gateways depend on (``GET /v1/affiliates/{n}/debt``); outstanding totals per side of
    the programme's cut-off."""
    totals = position.totals(cutoff)
    return {
        "affiliate": position.affiliate,
        "version": position.version,
        "eligibility_cutoff": cutoff,
        "periods": [
            {"period": p.period, "eligible": is_eligible(p.period, cutoff)} | amount_lines(p) for p in position.periods
        ],
        "totals": {"eligible": _totals(totals.eligible), "non_eligible": _totals(totals.non_eligible)},
        "arrangement": arrangement_json(position.arrangement),
    }


def debt_view_json(position: Position, cutoff: str) -> str:
    return json.dumps(debt_view(position, cutoff), ensure_ascii=False, separators=(",", ":"))
