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
    Remission,
    is_eligible,
)


def _amount(value: Decimal) -> str:
    return f"{value + 0:.2f}"  # + 0: never "-0.00"


def _line(line: Line) -> dict[str, str]:
    return {"due": _amount(line.due), "paid": _amount(line.paid), "outstanding": _amount(line.outstanding)}


def amount_lines(balance: PeriodBalance) -> dict[str, dict[str, str]]:
    """The four categories of one period, amounts as two-place strings (shared by view and event).

    ``outstanding`` is net of what a definitive remission wrote off (due − paid − written off); the
    documented shapes (``DebtOut``, ``contracts.debt.AmountLine``) carry no written-off column yet: the
    debt document's ``remission`` section says, per period, what was written off."""
    return {c: _line(balance.line(c)) for c in CATEGORIES}


def remission_json(remission: Remission | None) -> dict[str, Any] | None:
    """The latest plan's remission: PENDING (shown, not yet deducted), DEFINITIVE (written off) or
    REINSTATED (owed again)."""
    if remission is None:
        return None
    return {
        "request_id": remission.request_id,
        "state": remission.state,
        "eligible_periods": list(remission.eligible_periods),
        "remise": {c: _amount(remission.remise[c]) for c in CATEGORIES} | {"total": _amount(remission.remise_total)},
        "to_pay": _amount(remission.to_pay),
        "paid": _amount(remission.paid),
        "unapplied": _amount(remission.unapplied),
        "periods": [
            {"period": period} | {c: _amount(shares.get(c, Decimal(0))) for c in CATEGORIES}
            for period, shares in sorted(remission.shares.items())
        ],
    }


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
        "remission": remission_json(position.remission),
    }


def debt_view_json(position: Position, cutoff: str) -> str:
    return json.dumps(debt_view(position, cutoff), ensure_ascii=False, separators=(",", ":"))
