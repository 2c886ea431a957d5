"""The remission of a plan in the debt: sharing the remise, imputing payments, writing off."""

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from contracts.money import ZERO
from services.debt.domain.position import CATEGORIES, Category, Line, PeriodBalance
from services.debt.domain.remission import (
    IMPUTATION_ORDER,
    covered,
    impute,
    plan_shares,
    round_half_up,
    share_out,
    write_offs,
)

cents = st.integers(0, 10**12).map(lambda n: Decimal(n) / 100)
amount_lists = st.lists(cents, min_size=1, max_size=24)


@given(amount_lists, st.data())
def test_shares_sum_exactly_to_the_remise_and_none_exceeds_its_period(amounts, data) -> None:  # type: ignore[no-untyped-def]
    total = data.draw(st.integers(0, int(sum(amounts) * 100)).map(lambda n: Decimal(n) / 100))
    sharing = share_out(total, amounts)
    assert sum(sharing.shares, ZERO) == total
    assert sharing.unallocated == ZERO
    for share, amount in zip(sharing.shares, amounts, strict=True):
        assert ZERO <= share <= amount
        assert share == share.quantize(Decimal("0.01"))


@given(amount_lists, cents)
def test_a_remise_beyond_what_is_owed_is_capped_and_the_rest_reported(amounts, extra) -> None:  # type: ignore[no-untyped-def]
    total = sum(amounts, ZERO) + extra
    sharing = share_out(total, amounts)
    assert sharing.shares == tuple(amounts)
    assert sharing.unallocated == extra


def test_shares_are_proportional_rounded_half_up_and_the_newest_takes_the_remainder() -> None:
    # 100.00 over three equal periods → 33.33, 33.33, 33.34
    assert share_out(Decimal("100.00"), [Decimal("500.00")] * 3).shares == (
        Decimal("33.33"),
        Decimal("33.33"),
        Decimal("33.34"),
    )
    # 10.00 over 0.05, 999.95: 10 × 0.05 / 1000 = 0.0005 → 0.00; the newest takes 10.00
    assert share_out(Decimal("10.00"), [Decimal("0.05"), Decimal("999.95")]).shares == (
        Decimal("0.00"),
        Decimal("10.00"),
    )
    assert round_half_up(Decimal("0.005")) == Decimal("0.01")


def test_the_remainder_never_pushes_a_share_past_its_period() -> None:
    # Exact shares 0.995…: half-up gives 1.00 for each of the first two, leaving the last too much.
    amounts = [Decimal("1.99"), Decimal("1.99"), Decimal("0.01")]
    sharing = share_out(Decimal("3.98"), amounts)
    assert sum(sharing.shares, ZERO) == Decimal("3.98")
    assert all(ZERO <= s <= a for s, a in zip(sharing.shares, amounts, strict=True))


@given(st.lists(cents, max_size=30), cents)
def test_imputation_never_exceeds_a_capacity_and_sums_to_the_payment_or_reports_the_surplus(  # type: ignore[no-untyped-def]
    capacities, payment
) -> None:
    keyed = list(enumerate(capacities))
    imputation = impute(payment, keyed)
    paid = dict(imputation.parts)
    assert all(amount > 0 and amount <= capacities[key] for key, amount in imputation.parts)
    assert sum(paid.values(), ZERO) + imputation.surplus == payment
    assert imputation.surplus >= 0
    assert imputation.surplus == max(payment - sum(capacities, ZERO), ZERO)
    # Oldest first: a capacity is touched only once every earlier one is full.
    keys = [key for key, _ in imputation.parts]
    for key in keys[:-1]:
        assert paid[key] == capacities[key]
    assert keys == sorted(keys)


lines = st.builds(Line, due=cents, paid=st.just(ZERO))
balances = st.lists(
    st.builds(
        PeriodBalance,
        period=st.builds(lambda y, m: f"{y}-{m:02d}", st.integers(2015, 2024), st.integers(1, 12)),
        lines=st.fixed_dictionaries({c: lines for c in CATEGORIES}),
    ),
    min_size=1,
    max_size=12,
    unique_by=lambda b: b.period,
)


@given(balances, st.data())
def test_a_plan_paid_in_full_then_completed_leaves_nothing_outstanding(items, data) -> None:  # type: ignore[no-untyped-def]
    periods = [b.period for b in items]
    remise = {
        c: data.draw(
            st.integers(0, int(sum((b.line(c).outstanding for b in items), ZERO) * 100)).map(lambda n: Decimal(n) / 100)
        )
        for c in CATEGORIES
    }
    remise["principal"] = ZERO
    sharing = plan_shares(remise, periods, items)
    for category in CATEGORIES:
        assert sum((sharing.shares[p][category] for p in periods), ZERO) == remise[category]
    to_pay = sum((b.line(c).outstanding for b in items for c in CATEGORIES), ZERO) - sum(remise.values(), ZERO)
    capacities = covered(periods, items, sharing.shares)
    assert sum((a for _, a in capacities), ZERO) == to_pay
    # Paid in a few installments, each imputed on what the plan still covers.
    state = {b.period: dict(b.lines) for b in items}
    first = data.draw(st.integers(0, int(to_pay * 100)).map(lambda n: Decimal(n) / 100))
    for payment in (first, to_pay - first):
        current = [PeriodBalance(p, lines) for p, lines in state.items()]
        imputation = impute(payment, covered(periods, current, sharing.shares))
        assert imputation.surplus == ZERO
        for (period, category), amount in imputation.parts:
            line = state[period][category]
            state[period][category] = Line(line.due, line.paid + amount)
    final = [PeriodBalance(p, lines) for p, lines in state.items()]
    for (period, category), amount in write_offs(sharing.shares, final):
        line = state[period][category]
        state[period][category] = Line(line.due, line.paid, line.written_off + amount)
    assert all(line.outstanding == ZERO for lines in state.values() for line in lines.values())


def test_a_payment_pays_principal_then_majorations_frais_astreintes_net_of_the_remise_oldest_first() -> None:
    old = PeriodBalance(
        "2019-03",
        {
            "principal": Line(Decimal("100.00")),
            "majorations": Line(Decimal("50.00")),
            "astreintes": Line(Decimal("30.00")),
            "frais": Line(Decimal("20.00")),
        },
    )
    new = PeriodBalance("2020-01", {"principal": Line(Decimal("10.00"))})
    shares: dict[str, dict[Category, Decimal]] = {
        "2019-03": {"majorations": Decimal("40.00"), "astreintes": Decimal("30.00"), "frais": Decimal("5.00")}
    }
    capacities = covered(["2020-01", "2019-03"], [new, old], shares)
    assert capacities == [
        (("2019-03", "principal"), Decimal("100.00")),
        (("2019-03", "majorations"), Decimal("10.00")),
        (("2019-03", "frais"), Decimal("15.00")),
        (("2020-01", "principal"), Decimal("10.00")),
    ]
    assert IMPUTATION_ORDER == ("principal", "majorations", "frais", "astreintes")
    imputation = impute(Decimal("150.00"), capacities)
    assert imputation.surplus == Decimal("15.00")


def test_the_remission_section_is_the_documented_shape() -> None:
    import json

    from services.debt.domain.position import Position, Remission
    from services.debt.entrypoints.http import DebtOut
    from services.debt.service.read_models import debt_view_json

    remission = Remission(
        request_id="5b0f8a64-8f0c-4c43-9d1e-0a4f7c1a2b3c",
        state="PENDING",
        eligible_periods=("2019-03",),
        remise={"principal": ZERO, "majorations": Decimal("150.00"), "astreintes": ZERO, "frais": Decimal("0.50")},
        to_pay=Decimal("1000.00"),
        paid=Decimal("10.00"),
        unapplied=ZERO,
        shares={"2019-03": {"majorations": Decimal("150.00"), "frais": Decimal("0.50")}},
    )
    document = json.loads(debt_view_json(Position.of("1000001", 3, (), None, remission), "2024-12"))
    assert json.loads(DebtOut.model_validate(document).model_dump_json()) == document
    assert document["remission"]["remise"]["total"] == "150.50"
    assert document["remission"]["periods"] == [
        {"period": "2019-03", "principal": "0.00", "majorations": "150.00", "astreintes": "0.00", "frais": "0.50"}
    ]
