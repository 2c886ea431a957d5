"""A remission plan in the debt: how its remise is shared out over the eligible periods, how each
payment on the plan is imputed, and what its completion writes off.

Rules (also in ``docs/architecture.md``):

- **Sharing the remise.** A category's remise (from the validated quote) is shared out across the
  plan's eligible periods in proportion to each period's outstanding amount of that category when
  debt learns of the validation: each share is rounded half-up to the centime, and the newest period
  takes the remainder so the shares sum exactly to the remise. Should the remainder push a share
  above its period's amount (or below zero), the centimes in excess move to the previous periods
  that have room, newest first: no share ever exceeds its period's amount. A remise larger than what
  is outstanding (the debt shrank since the quote) is capped to it; the rest is reported unallocated.
- **Imputing a payment.** A settled debit pays the plan's *covered* amounts, i.e. what the plan asks
  to be paid: per eligible period, oldest first, the outstanding principal, then the outstanding
  majorations, frais and astreintes each minus their pending share of the remise. A payment never
  goes beyond a covered amount; what exceeds them all is reported as surplus.
- **Completion** writes off each share (never more than what is still outstanding there), so a plan
  paid in full leaves nothing outstanding on its eligible periods. **Default** writes off nothing:
  every remitted amount is owed again; payments already made stay applied.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Generic, TypeVar

from contracts.money import ZERO, round_half_up
from services.debt.domain.position import CATEGORIES, Category, PeriodBalance

T = TypeVar("T")
IMPUTATION_ORDER: tuple[Category, ...] = ("principal", "majorations", "frais", "astreintes")
"""Within one period, the order in which a payment on the plan pays the categories."""


@dataclass(frozen=True)
class Sharing:
    shares: tuple[Decimal, ...]
    """One share per amount, in the order given."""
    unallocated: Decimal
    """The part of the total that exceeds the sum of the amounts (zero when the debt is as quoted)."""


def share_out(total: Decimal, amounts: Sequence[Decimal]) -> Sharing:
    """Share ``total`` across ``amounts`` (oldest first) in proportion to each amount.

    Every share is within ``[0, amount]`` and the shares sum to ``min(total, sum(amounts))``."""
    if total < 0 or any(a < 0 for a in amounts):
        raise ValueError("a remise and the amounts it is shared across are never negative")
    capacity = sum(amounts, ZERO)
    target = min(total, capacity)
    unallocated = total - target
    if not amounts or capacity == 0:
        return Sharing(tuple(ZERO for _ in amounts), unallocated)
    shares = [round_half_up(target * a / capacity) for a in amounts[:-1]]
    shares.append(target - sum(shares, ZERO))
    # Clamp, then hand the difference back, newest first, to periods that have room (or a share).
    shares = [min(max(s, ZERO), a) for s, a in zip(shares, amounts, strict=True)]
    difference = target - sum(shares, ZERO)
    for i in reversed(range(len(shares))):
        if difference == 0:
            break
        step = min(amounts[i] - shares[i], difference) if difference > 0 else -min(shares[i], -difference)
        shares[i] += step
        difference -= step
    return Sharing(tuple(shares), unallocated)


@dataclass(frozen=True)
class PlanShares:
    shares: Mapping[str, Mapping[Category, Decimal]]
    """Per eligible period, the share of each category's remise (principal: the principal remise,
    zero under the programme)."""
    unallocated: Mapping[Category, Decimal]


def plan_shares(
    remise: Mapping[Category, Decimal], eligible_periods: Sequence[str], balances: Sequence[PeriodBalance]
) -> PlanShares:
    """The remise of each category shared out across the eligible periods (see the module's rules)."""
    by_period = {b.period: b for b in balances}
    periods = sorted(set(eligible_periods))
    shares: dict[str, dict[Category, Decimal]] = {p: dict.fromkeys(CATEGORIES, ZERO) for p in periods}
    unallocated: dict[Category, Decimal] = {}
    for category in CATEGORIES:
        amounts = [max(by_period[p].line(category).outstanding, ZERO) if p in by_period else ZERO for p in periods]
        sharing = share_out(remise.get(category, ZERO), amounts)
        for period, share in zip(periods, sharing.shares, strict=True):
            shares[period][category] = share
        unallocated[category] = sharing.unallocated
    return PlanShares(shares, unallocated)


def covered(
    eligible_periods: Sequence[str],
    balances: Sequence[PeriodBalance],
    pending: Mapping[str, Mapping[Category, Decimal]],
) -> list[tuple[tuple[str, Category], Decimal]]:
    """What the plan still asks to be paid, in imputation order: per eligible period (oldest first)
    and category (principal, majorations, frais, astreintes), the outstanding amount minus its
    pending share of the remise; never negative, zero amounts left out."""
    by_period = {b.period: b for b in balances}
    out: list[tuple[tuple[str, Category], Decimal]] = []
    for period in sorted(set(eligible_periods)):
        balance = by_period.get(period)
        if balance is None:
            continue
        for category in IMPUTATION_ORDER:
            share = pending.get(period, {}).get(category, ZERO)
            amount = balance.line(category).outstanding - share
            if amount > 0:
                out.append(((period, category), amount))
    return out


@dataclass(frozen=True)
class Imputation(Generic[T]):
    parts: tuple[tuple[T, Decimal], ...]
    """Amounts paid, each strictly positive, in the order of the capacities."""
    surplus: Decimal
    """What the payment leaves once every capacity is paid."""


def impute(amount: Decimal, capacities: Sequence[tuple[T, Decimal]]) -> Imputation[T]:
    """Pay ``amount`` into ``capacities`` in order, each up to its amount."""
    if amount < 0:
        raise ValueError("a payment is never negative")
    left = amount
    parts: list[tuple[T, Decimal]] = []
    for key, capacity in capacities:
        if left <= 0:
            break
        paid = min(left, capacity)
        if paid > 0:
            parts.append((key, paid))
            left -= paid
    return Imputation(tuple(parts), left)


def write_offs(
    shares: Mapping[str, Mapping[Category, Decimal]], balances: Sequence[PeriodBalance]
) -> list[tuple[tuple[str, Category], Decimal]]:
    """What a completed plan writes off: each share, never more than what is still outstanding."""
    by_period = {b.period: b for b in balances}
    out: list[tuple[tuple[str, Category], Decimal]] = []
    for period in sorted(shares):
        balance = by_period.get(period)
        if balance is None:
            continue
        for category in CATEGORIES:
            amount = min(shares[period].get(category, ZERO), max(balance.line(category).outstanding, ZERO))
            if amount > 0:
                out.append(((period, category), amount))
    return out
