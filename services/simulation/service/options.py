"""The options the programme offers an affiliate's debt, read-only: no quote is stored, nothing is announced.

A quote written here would become the affiliate's "last simulation", the one requests binds at
validation, and replace the plan the affiliate actually chose: this path only reads the position.
"""

from dataclasses import dataclass
from decimal import Decimal

import asyncpg

from contracts.money import ZERO
from contracts.programme import CountRange
from contracts.refusals import Refusal
from services.simulation.domain.options import Suggestion, TierOption, compare_tiers, suggest_plan
from services.simulation.domain.quote_terms import offered_installments
from services.simulation.service.quoting import Rules, current_debt


@dataclass(frozen=True, slots=True)
class Options:
    affiliate: str
    debt_version: int
    options: list[TierOption]
    installments: list[CountRange]
    """every count a plan may have with no advance: the tiers' counts whose installments reach the minimum"""
    suggestion: Suggestion | None
    suggestion_refusal: Refusal | None


async def simulation_options(
    conn: asyncpg.Connection, rules: Rules, affiliate: str, monthly_budget: Decimal | None
) -> Options:
    """Each tier side by side and, given a monthly budget, the cheapest plan it allows or why none.

    Raises ``UnknownPosition``, or ``Refusal`` when the debt itself is refused (nothing to
    remit); a budget no plan fits is not an error of the call: it comes back as ``suggestion_refusal``.
    """
    programme = rules.programme
    position, debt = await current_debt(conn, programme, affiliate)
    options = compare_tiers(programme, debt)
    installments = offered_installments(programme, debt, ZERO)
    suggestion: Suggestion | None = None
    refusal: Refusal | None = None
    if monthly_budget is not None:
        try:
            suggestion = suggest_plan(programme, debt, monthly_budget)
        except Refusal as refused:
            refusal = refused
    return Options(affiliate, position.version, options, installments, suggestion, refusal)
