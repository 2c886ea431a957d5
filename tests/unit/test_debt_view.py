"""The stored debt document is exactly the documented shape, amounts as two-place strings."""

import json
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from services.debt.domain.position import CATEGORIES, Position
from services.debt.entrypoints.http import DebtOut
from services.debt.service.read_models import debt_view_json
from tests.unit.positions_strategies import arrangements, period_lists


@given(period_lists, arrangements, st.integers(1, 10_000))
def test_the_stored_document_is_the_documented_shape(items, arrangement, version) -> None:  # type: ignore[no-untyped-def]
    position = Position.of("1000001", version, items, arrangement)
    document = json.loads(debt_view_json(position, "2024-12"))
    # Validating and re-serializing through the documented model changes nothing.
    assert json.loads(DebtOut.model_validate(document).model_dump_json()) == document
    for period in document["periods"]:
        assert period["eligible"] == (period["period"] <= "2024-12")
        for category in CATEGORIES:
            line = period[category]
            assert Decimal(line["due"]) - Decimal(line["paid"]) == Decimal(line["outstanding"])
            assert all(len(value.rsplit(".", 1)[1]) == 2 for value in line.values())
    eligible = document["totals"]["eligible"]
    assert Decimal(eligible["total"]) == sum(Decimal(eligible[c]) for c in CATEGORIES)
    assert Decimal(eligible["majorations"]) == sum(
        (b.line("majorations").outstanding for b in items if b.period <= "2024-12"), Decimal(0)
    )


def test_an_affiliate_without_entries_has_an_empty_version_zero_document() -> None:
    document = json.loads(debt_view_json(Position.of("1000001", 0, (), None), "2024-12"))
    assert document["version"] == 0
    assert document["periods"] == []
    assert document["totals"]["eligible"]["total"] == "0.00"
    assert document["arrangement"] is None
