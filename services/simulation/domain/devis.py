"""The quote: remise per category, the amount to pay and the dated debit schedule, to the centime.

Every number comes from the programme (rates by tier, caps, minimum installment, debit day), so a
new ministerial decision is a new programme file, not new code.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from contracts.calendar import BusinessCalendar, due_dates
from contracts.money import CENTIME, MAX_AMOUNT, ZERO, round_down, round_half_up
from contracts.programme import Modality, Programme, Rates, Tier
from contracts.refusals import Refusal
from contracts.simulation import CategoryAmounts, DebitKind, QuoteTerms, RemiseAmounts, ScheduledDebit
from services.simulation.domain import refus
from services.simulation.domain.creance import CreanceEligible
from services.simulation.domain.refus import refused


@dataclass(frozen=True, slots=True)
class Remise:
    majorations: Decimal
    astreintes: Decimal
    frais: Decimal

    @property
    def total(self) -> Decimal:
        return self.majorations + self.astreintes + self.frais


def _base(amount: Decimal) -> Decimal:
    # An overpaid category (negative total) has nothing to remit: a remise is never negative.
    return max(amount, ZERO)


def remise(creance: CreanceEligible, rates: Rates) -> Remise:
    """Rounded half-up on the category totals, not period by period (the decision's rule)."""
    return Remise(
        majorations=round_half_up(_base(creance.majorations) * rates.majorations),
        astreintes=round_half_up(_base(creance.astreintes) * rates.astreintes),
        frais=round_half_up(_base(creance.frais) * rates.frais),
    )


def a_payer(creance: CreanceEligible, tier: Tier) -> Decimal:
    """``P + (M − rM) + (F − rF) + (A − rA)``: the signed totals, so an overpayment is a credit."""
    return creance.total - remise(creance, tier.rates).total


def montant_echeance(reste: Decimal, echeances: int) -> Decimal:
    """Each installment but the last; the last takes the remainder, which is never smaller."""
    return round_down(reste / echeances)


def nombre_max_echeances(programme: Programme, creance: CreanceEligible, avance: Decimal) -> int:
    """The largest count whose installments all reach the minimum with this advance (0: none does).

    The tier, hence the amount to pay, depends on the count, so each count is tried with its own
    tier. Only ``rest // n`` needs checking: the last installment is ``rest − (n−1)·(rest // n)``,
    never less than the others.
    """
    by_tier: dict[str, Decimal] = {}
    for n in range(programme.max_installments, 0, -1):
        tier = programme.tier("INSTALLMENTS", n)
        if tier.code not in by_tier:
            by_tier[tier.code] = a_payer(creance, tier)
        reste = by_tier[tier.code] - avance
        if reste > ZERO and montant_echeance(reste, n) >= programme.minimum_installment:
            return n
    return 0


def _mad(amount: Decimal) -> str:
    return f"{amount:f} MAD"


def _check_something_to_remit(creance: CreanceEligible) -> None:
    if _base(creance.majorations) + _base(creance.astreintes) + _base(creance.frais) == ZERO:
        raise refused(
            refus.RIEN_A_REMETTRE,
            "Aucune majoration, astreinte ni frais de recouvrement ne reste dû sur les périodes éligibles : "
            "il n'y a rien à remettre.",
        )
    # the total too: four categories each under the limit can add up past it (the quote's to_pay
    # could then not be written: a 500 instead of a refusal)
    amounts = (creance.principal, creance.majorations, creance.astreintes, creance.frais, creance.total)
    if any(abs(x) >= MAX_AMOUNT for x in amounts):
        raise refused("montant-hors-limites", "Le montant de la créance dépasse la capacité du système.")


def _rien_a_payer(a_payer_: Decimal) -> Refusal:
    return refused(
        refus.RIEN_A_PAYER,
        "Après remise, il ne reste rien à payer sur les périodes éligibles : aucun prélèvement n'est à prévoir.",
        {"to_pay": f"{a_payer_:f}"},
    )


def _tier(programme: Programme, modality: Modality, avance: Decimal, echeances: int) -> Tier:
    if modality == "FULL":
        if avance != ZERO or echeances != 0:
            raise refused(
                refus.PARAMETRES_INCOHERENTS,
                "Le paiement intégral ne comporte ni avance ni échéances.",
                {"advance": f"{avance:f}", "installments": echeances},
            )
        return programme.tier("FULL")
    if not 1 <= echeances <= programme.max_installments:
        raise refused(
            refus.ECHEANCES_HORS_LIMITES,
            f"Le nombre d'échéances doit être compris entre 1 et {programme.max_installments}.",
            {"installments": echeances, "min_installments": 1, "max_installments": programme.max_installments},
        )
    return programme.tier("INSTALLMENTS", echeances)


def _check_installments(
    programme: Programme, creance: CreanceEligible, a_payer_: Decimal, avance: Decimal, echeances: int
) -> None:
    if not ZERO <= avance < a_payer_:
        raise refused(
            refus.AVANCE_HORS_LIMITES,
            f"L'avance doit être comprise entre 0.00 et {_mad(a_payer_ - CENTIME)} "
            f"(inférieure au montant à payer, {_mad(a_payer_)}).",
            {"advance": f"{avance:f}", "advance_min": "0.00", "advance_max": f"{a_payer_ - CENTIME:f}"},
        )
    minimum = programme.minimum_installment
    montant = montant_echeance(a_payer_ - avance, echeances)
    if montant >= minimum:
        return
    largest = nombre_max_echeances(programme, creance, avance)
    details: dict[str, str | int] = {
        "installments": echeances,
        "installment_amount": f"{montant:f}",
        "minimum_installment": f"{minimum:f}",
        "max_installments_allowed": largest,
    }
    if largest:
        conseil = f"Avec cette avance, choisissez au plus {largest} échéance{'s' if largest > 1 else ''}."
    else:
        conseil = (
            "Avec cette avance, aucun plan par acomptes n'est possible : réduisez l'avance ou payez intégralement."
        )
    largest_advance = a_payer_ - minimum * echeances
    if largest_advance >= ZERO:
        details["advance_max_for_installments"] = f"{largest_advance:f}"
    raise refused(
        refus.ECHEANCE_SOUS_MINIMUM,
        f"Chaque échéance doit atteindre {_mad(minimum)} ; avec {echeances} échéances elle serait de "
        f"{_mad(montant)}. {conseil}",
        details,
    )


def _schedule(
    programme: Programme,
    calendar: BusinessCalendar,
    validation_date: date,
    *,
    modality: Modality,
    a_payer_: Decimal,
    avance: Decimal,
    echeances: int,
) -> list[ScheduledDebit]:
    amounts: list[tuple[DebitKind, Decimal]]
    if modality == "FULL":
        amounts = [("FULL", a_payer_)]
    else:
        reste = a_payer_ - avance
        montant = montant_echeance(reste, echeances)
        # The last installment takes the centimes rounding down left over, so the plan sums exactly.
        amounts = [("ADVANCE", avance)] if avance > ZERO else []
        amounts += [("INSTALLMENT", montant)] * (echeances - 1)
        amounts.append(("INSTALLMENT", reste - montant * (echeances - 1)))
    dates = due_dates(validation_date, len(amounts), programme.debit_day)
    return [
        ScheduledDebit(
            sequence=i,
            kind=kind,
            due_date=due,
            collection_date=calendar.on_or_after(due),
            amount=amount,
        )
        for i, ((kind, amount), due) in enumerate(zip(amounts, dates, strict=True), start=1)
    ]


def simuler(
    programme: Programme,
    calendar: BusinessCalendar,
    creance: CreanceEligible,
    modality: Modality,
    validation_date: date,
    *,
    avance: Decimal = ZERO,
    echeances: int = 0,
) -> QuoteTerms:
    """The quote for this debt, or ``Refusal`` saying what the programme allows instead."""
    _check_something_to_remit(creance)
    tier = _tier(programme, modality, avance, echeances)
    remises = remise(creance, tier.rates)
    a_payer_ = creance.total - remises.total
    if a_payer_ <= ZERO:
        raise _rien_a_payer(a_payer_)
    if modality == "INSTALLMENTS":
        _check_installments(programme, creance, a_payer_, avance, echeances)
    return QuoteTerms(
        programme=programme.code,
        modality=modality,
        tier=tier.code,
        rates=tier.rates,
        advance=avance,
        installments=echeances,
        eligible_periods=list(creance.periods),
        eligible=CategoryAmounts(
            principal=creance.principal,
            majorations=creance.majorations,
            frais=creance.frais,
            astreintes=creance.astreintes,
        ),
        remise=RemiseAmounts(
            principal=ZERO,
            majorations=remises.majorations,
            frais=remises.frais,
            astreintes=remises.astreintes,
            total=remises.total,
        ),
        to_pay=a_payer_,
        validation_date=validation_date,
        schedule=_schedule(
            programme,
            calendar,
            validation_date,
            modality=modality,
            a_payer_=a_payer_,
            avance=avance,
            echeances=echeances,
        ),
    )
