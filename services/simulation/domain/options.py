"""What the programme offers this debt, pure: each tier side by side, and the cheapest plan a monthly budget allows.

Nothing here is a quote: no advance, no dates, nothing stored. Every number still comes from the
programme (tiers, caps, minimum installment) and from the same rules as ``quote_terms.quote_terms``, so a count
shown as allowed here is a count ``quote_terms`` accepts with no advance, and a suggestion simulated with
its parameters gives the same amounts.
"""

from dataclasses import dataclass
from decimal import Decimal

from contracts.money import CENTIME, ZERO, format_amount
from contracts.programme import Modality, Programme, Rates, Tier
from services.simulation.domain import refusals
from services.simulation.domain.eligible_debt import EligibleDebt
from services.simulation.domain.quote_terms import (
    Remission,
    _check_something_to_remit,
    _nothing_to_pay,
    installment_amount,
    remission_of,
    to_pay_of,
)
from services.simulation.domain.refusals import refused

NO_INSTALLMENTS = range(0)
"""a tier that allows no installment count (or a full payment: one debit, no installments)"""


@dataclass(frozen=True, slots=True)
class TierOption:
    """One tier of the programme applied to this debt.

    ``installments``: the counts allowed in this tier with no advance (empty for ``FULL`` and for a tier
    that allows none); ``installment_at_min``/``installment_at_max``: the installment (``rest // n``) at
    the smallest and the largest of them, ``None`` when there are none.
    """

    tier: str
    modality: Modality
    rates: Rates
    remise: Remission
    to_pay: Decimal
    available: bool
    installments: range
    installment_at_min: Decimal | None
    installment_at_max: Decimal | None


@dataclass(frozen=True, slots=True)
class Suggestion:
    """The cheapest plan whose every debit fits the monthly budget (no advance).

    ``FULL``: ``installments`` is 0 and both amounts are the single debit, ``to_pay``.
    """

    modality: Modality
    tier: str
    installments: int
    to_pay: Decimal
    remise: Remission
    installment_amount: Decimal
    last_installment_amount: Decimal


def last_installment(remaining: Decimal, installments: int) -> Decimal:
    """The last installment takes the centimes the others rounded down: never smaller than them."""
    return remaining - (installments - 1) * installment_amount(remaining, installments)


def _allowed_installments(programme: Programme, tier: Tier, to_pay: Decimal) -> range:
    if tier.modality != "INSTALLMENTS" or to_pay <= ZERO:
        return NO_INSTALLMENTS
    low = tier.min_installments or 1
    high = min(tier.max_installments or programme.max_installments, programme.max_installments)
    allowed = [n for n in range(low, high + 1) if installment_amount(to_pay, n) >= programme.minimum_installment]
    # ``rest // n`` never grows with n: the allowed counts are the first ones of the tier, without a gap.
    return range(allowed[0], allowed[-1] + 1) if allowed else NO_INSTALLMENTS


def _option(programme: Programme, debt: EligibleDebt, tier: Tier) -> TierOption:
    to_pay = to_pay_of(debt, tier)
    counts = _allowed_installments(programme, tier, to_pay)
    return TierOption(
        tier=tier.code,
        modality=tier.modality,
        rates=tier.rates,
        remise=remission_of(debt, tier.rates),
        to_pay=to_pay,
        available=to_pay > ZERO and (tier.modality == "FULL" or len(counts) > 0),
        installments=counts,
        installment_at_min=installment_amount(to_pay, counts[0]) if counts else None,
        installment_at_max=installment_amount(to_pay, counts[-1]) if counts else None,
    )


def compare_tiers(programme: Programme, debt: EligibleDebt) -> list[TierOption]:
    """Every tier of the programme, in the programme's order; ``Refusal`` when nothing is remitted."""
    _check_something_to_remit(debt)
    return [_option(programme, debt, tier) for tier in programme.tiers]


def _plans_by_cost(options: list[TierOption]) -> list[TierOption]:
    """Cheapest first; at equal cost the single payment first, then the programme's order."""
    order = {option.tier: i for i, option in enumerate(options)}
    return sorted(
        (o for o in options if o.available),
        key=lambda o: (o.to_pay, o.modality != "FULL", order[o.tier]),
    )


def _choose(plans: list[TierOption], budget: Decimal) -> Suggestion | None:
    for option in plans:
        if option.modality == "FULL":
            if option.to_pay <= budget:
                return Suggestion("FULL", option.tier, 0, option.to_pay, option.remise, option.to_pay, option.to_pay)
            continue
        for n in option.installments:
            # Every installment but the last is ``rest // n``, the last one is the largest.
            last = last_installment(option.to_pay, n)
            if last <= budget:
                installment = installment_amount(option.to_pay, n)
                return Suggestion("INSTALLMENTS", option.tier, n, option.to_pay, option.remise, installment, last)
    return None


def _smallest_largest_debit(plans: list[TierOption]) -> Decimal:
    """The smallest budget some plan fits: over every plan, its largest debit, at its best count."""
    amounts = [
        option.to_pay
        if option.modality == "FULL"
        else min(last_installment(option.to_pay, n) for n in option.installments)
        for option in plans
    ]
    return min(amounts)


def suggest_plan(programme: Programme, debt: EligibleDebt, monthly_budget: Decimal) -> Suggestion:
    """The cheapest plan whose every debit is at most ``monthly_budget``, or ``Refusal``.

    Cheapest means the smallest amount to pay (the largest remise). A tier's installments are tried from
    its smallest allowed count up, so the first count that fits has the fewest, largest installments.
    ``budget-insuffisant`` names the smallest monthly amount that would work, and the plan it gives.
    """
    options = compare_tiers(programme, debt)
    if not monthly_budget.is_finite() or monthly_budget <= ZERO or monthly_budget != monthly_budget.quantize(CENTIME):
        raise refused(
            refusals.PARAMETRES_INCOHERENTS,
            "Le budget mensuel doit être un montant positif, au centime près.",
            {"monthly_budget": f"{monthly_budget:f}"},
        )
    cheapest = min(option.to_pay for option in options)
    if cheapest <= ZERO:
        raise _nothing_to_pay(cheapest)
    # Every tier leaves something to pay: the single payment is available, so some plan exists.
    plans = _plans_by_cost(options)
    choix = _choose(plans, monthly_budget)
    if choix is not None:
        return choix
    minimum = _smallest_largest_debit(plans)
    named = _choose(plans, minimum)
    assert named is not None  # the plan whose largest debit is the minimum fits it
    if named.modality == "FULL":
        plan = f"il faut au moins {format_amount(minimum)} (paiement intégral en une fois)"
    else:
        s = "s" if named.installments > 1 else ""
        plan = f"il faut au moins {format_amount(minimum)} par mois ({named.installments} échéance{s})"
    raise refused(
        refusals.BUDGET_INSUFFISANT,
        f"Avec {format_amount(monthly_budget)} par mois, aucun plan n'est possible : {plan}.",
        {
            "monthly_budget": f"{monthly_budget:.2f}",
            "minimum_monthly_budget": f"{minimum:f}",
            "modality": named.modality,
            "tier": named.tier,
            "installments": named.installments,
        },
    )
