"""The quote: remise per category, the amount to pay and the dated debit schedule, to the centime.

Every number comes from the programme (rates by tier, caps, minimum installment, debit day), so a
new ministerial decision is a new programme file, not new code.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from contracts.calendar import BusinessCalendar, due_dates
from contracts.money import CENTIME, MAX_AMOUNT, ZERO, format_amount, round_down, round_half_up
from contracts.programme import CountRange, Modality, Programme, Rates, Tier, count_ranges
from contracts.refusals import Refusal
from contracts.simulation import (
    CategoryAmounts,
    DebitKind,
    QuoteTerms,
    RemiseAmounts,
    ScheduledDebit,
    validated_schedule,
)
from services.simulation.domain import refusals
from services.simulation.domain.eligible_debt import EligibleDebt
from services.simulation.domain.refusals import refused


@dataclass(frozen=True, slots=True)
class Remission:
    majorations: Decimal
    astreintes: Decimal
    frais: Decimal

    @property
    def total(self) -> Decimal:
        return self.majorations + self.astreintes + self.frais


def _base(amount: Decimal) -> Decimal:
    # An overpaid category (negative total) has nothing to remit: a remise is never negative.
    return max(amount, ZERO)


def remission_of(debt: EligibleDebt, rates: Rates) -> Remission:
    """Rounded half-up on the category totals, not period by period (the decision's rule)."""
    return Remission(
        majorations=round_half_up(_base(debt.majorations) * rates.majorations),
        astreintes=round_half_up(_base(debt.astreintes) * rates.astreintes),
        frais=round_half_up(_base(debt.frais) * rates.frais),
    )


def to_pay_of(debt: EligibleDebt, tier: Tier) -> Decimal:
    """``P + (M − rM) + (F − rF) + (A − rA)``: the signed totals, so an overpayment is a credit."""
    return debt.total - remission_of(debt, tier.rates).total


def installment_amount(remaining: Decimal, installments: int) -> Decimal:
    """Each installment but the last; the last takes the remainder, which is never smaller."""
    return round_down(remaining / installments)


def offered_installments(programme: Programme, debt: EligibleDebt, advance: Decimal) -> list[CountRange]:
    """The counts a plan may have for this debt with this advance, as sorted, disjoint ranges: those the
    tiers allow (``Programme.allowed_installment_ranges``) whose installments all reach the minimum.

    The tier, hence the amount to pay, depends on the count, so each count is tried with its own
    tier: a lower tier remits more, so its installments are smaller, and a debt can allow 1 to 21 and
    25 to 26 but not 22 to 24. Only ``rest // n`` needs checking: the last installment is
    ``rest − (n−1)·(rest // n)``, never less than the others.
    """
    by_tier: dict[str, Decimal] = {}

    def reaches_minimum(n: int) -> bool:
        tier = programme.tier("INSTALLMENTS", n)
        if tier.code not in by_tier:
            by_tier[tier.code] = to_pay_of(debt, tier)
        remaining = by_tier[tier.code] - advance
        return remaining > ZERO and installment_amount(remaining, n) >= programme.minimum_installment

    allowed = programme.allowed_installment_ranges()
    return count_ranges(n for r in allowed for n in range(r.low, r.high + 1) if reaches_minimum(n))


def max_installments_for(programme: Programme, debt: EligibleDebt, advance: Decimal) -> int:
    """The largest count whose installments all reach the minimum with this advance (0: none does)."""
    offered = offered_installments(programme, debt, advance)
    return offered[-1].high if offered else 0


def _check_something_to_remit(debt: EligibleDebt) -> None:
    if _base(debt.majorations) + _base(debt.astreintes) + _base(debt.frais) == ZERO:
        raise refused(
            refusals.RIEN_A_REMETTRE,
            "Aucune majoration, astreinte ni frais de recouvrement ne reste dû sur les périodes éligibles : "
            "il n'y a rien à remettre.",
        )
    # the total too: four categories each under the limit can add up past it (the quote's to_pay
    # could then not be written: a 500 instead of a refusal)
    amounts = (debt.principal, debt.majorations, debt.astreintes, debt.frais, debt.total)
    if any(abs(x) >= MAX_AMOUNT for x in amounts):
        raise refused("montant-hors-limites", "Le montant de la créance dépasse la capacité du système.")


def _nothing_to_pay(to_pay: Decimal) -> Refusal:
    return refused(
        refusals.RIEN_A_PAYER,
        "Après remise, il ne reste rien à payer sur les périodes éligibles : aucun prélèvement n'est à prévoir.",
        {"to_pay": f"{to_pay:f}"},
    )


def _tier(programme: Programme, modality: Modality, advance: Decimal, installments: int) -> Tier:
    if modality == "FULL":
        if advance != ZERO or installments != 0:
            raise refused(
                refusals.PARAMETRES_INCOHERENTS,
                "Le paiement intégral ne comporte ni avance ni échéances.",
                {"advance": f"{advance:f}", "installments": installments},
            )
        return programme.tier("FULL")
    if not programme.allows_installments(installments):
        allowed = programme.allowed_installment_ranges()
        raise refused(
            refusals.ECHEANCES_HORS_LIMITES,
            f"Le programme permet {refusals.counts_in_words(allowed)} échéances ; {installments} n'en fait pas partie.",
            {
                "installments": installments,
                "min_installments": allowed[0].low,
                "max_installments": allowed[-1].high,
                "allowed": refusals.counts_as_json(allowed),
            },
        )
    return programme.tier("INSTALLMENTS", installments)


def _up_to(ranges: list[CountRange]) -> bool:
    """Every count from 1 to the largest: "au plus n" says it all."""
    return len(ranges) == 1 and ranges[0].low == 1


def _check_installments(
    programme: Programme, debt: EligibleDebt, to_pay: Decimal, advance: Decimal, installments: int
) -> None:
    if not ZERO <= advance < to_pay:
        raise refused(
            refusals.AVANCE_HORS_LIMITES,
            f"L'avance doit être comprise entre {format_amount(ZERO)} et {format_amount(to_pay - CENTIME)} "
            f"(inférieure au montant à payer, {format_amount(to_pay)}).",
            {"advance": f"{advance:f}", "advance_min": "0.00", "advance_max": f"{to_pay - CENTIME:f}"},
        )
    minimum = programme.minimum_installment
    installment = installment_amount(to_pay - advance, installments)
    if installment >= minimum:
        return
    offered = offered_installments(programme, debt, advance)
    largest = offered[-1].high if offered else 0
    details: dict[str, refusals.Detail] = {
        "installments": installments,
        "installment_amount": f"{installment:f}",
        "minimum_installment": f"{minimum:f}",
        "max_installments_allowed": largest,
        "allowed": refusals.counts_as_json(offered),
    }
    if offered and not _up_to(offered):
        advice = f"Avec cette avance, choisissez {refusals.counts_in_words(offered)} échéances."
    elif largest:
        advice = f"Avec cette avance, choisissez au plus {largest} échéance{'s' if largest > 1 else ''}."
    else:
        advice = "Avec cette avance, aucun plan par acomptes n'est possible : réduisez l'avance ou payez intégralement."
    largest_advance = to_pay - minimum * installments
    if largest_advance >= ZERO:
        details["advance_max_for_installments"] = f"{largest_advance:f}"
    raise refused(
        refusals.ECHEANCE_SOUS_MINIMUM,
        f"Chaque échéance doit atteindre {format_amount(minimum)} ; avec {installments} échéances elle serait de "
        f"{format_amount(installment)}. {advice}",
        details,
    )


def _schedule(
    programme: Programme,
    calendar: BusinessCalendar,
    validation_date: date,
    *,
    modality: Modality,
    to_pay: Decimal,
    advance: Decimal,
    installments: int,
) -> list[ScheduledDebit]:
    amounts: list[tuple[DebitKind, Decimal]]
    if modality == "FULL":
        amounts = [("FULL", to_pay)]
    else:
        remaining = to_pay - advance
        installment = installment_amount(remaining, installments)
        # The last installment takes the centimes rounding down left over, so the plan sums exactly.
        amounts = [("ADVANCE", advance)] if advance > ZERO else []
        amounts += [("INSTALLMENT", installment)] * (installments - 1)
        amounts.append(("INSTALLMENT", remaining - installment * (installments - 1)))
    dates = due_dates(validation_date, len(amounts), programme.debit_day)
    return validated_schedule(
        [
            {
                "sequence": i,
                "kind": kind,
                "due_date": due,
                "collection_date": calendar.on_or_after(due),
                "amount": amount,
            }
            for i, ((kind, amount), due) in enumerate(zip(amounts, dates, strict=True), start=1)
        ]
    )


def quote_terms(
    programme: Programme,
    calendar: BusinessCalendar,
    debt: EligibleDebt,
    modality: Modality,
    validation_date: date,
    *,
    advance: Decimal = ZERO,
    installments: int = 0,
) -> QuoteTerms:
    """The quote for this debt, or ``Refusal`` saying what the programme allows instead."""
    _check_something_to_remit(debt)
    tier = _tier(programme, modality, advance, installments)
    remission = remission_of(debt, tier.rates)
    to_pay = debt.total - remission.total
    if to_pay <= ZERO:
        raise _nothing_to_pay(to_pay)
    if modality == "INSTALLMENTS":
        _check_installments(programme, debt, to_pay, advance, installments)
    return QuoteTerms(
        programme=programme.code,
        modality=modality,
        tier=tier.code,
        rates=tier.rates,
        advance=advance,
        installments=installments,
        eligible_periods=list(debt.periods),
        eligible=CategoryAmounts(
            principal=debt.principal,
            majorations=debt.majorations,
            frais=debt.frais,
            astreintes=debt.astreintes,
        ),
        remise=RemiseAmounts(
            principal=ZERO,
            majorations=remission.majorations,
            frais=remission.frais,
            astreintes=remission.astreintes,
            total=remission.total,
        ),
        to_pay=to_pay,
        validation_date=validation_date,
        schedule=_schedule(
            programme,
            calendar,
            validation_date,
            modality=modality,
            to_pay=to_pay,
            advance=advance,
            installments=installments,
        ),
    )
