"""The reference bank's book: an end-to-end id is collected once, a re-read record answered alike."""

from hypothesis import given
from hypothesis import strategies as st

from partners.bank.ledger import Ledger


def test_a_second_record_with_the_same_id_is_a_duplicate_and_a_reread_is_not() -> None:
    ledger = Ledger()
    assert ledger.present("E2E-1-1", ("debits.orders.007.v1", 0, 10)) == "first"
    assert ledger.present("E2E-1-1", ("debits.orders.007.v1", 0, 10)) == "again"  # offset not committed
    assert ledger.present("E2E-1-1", ("debits.orders.007.v1", 0, 11)) == "duplicate"
    assert ledger.present("E2E-1-1", ("debits.orders.007.v1", 0, 10)) == "again"
    assert ledger.present("E2E-1-2", ("debits.orders.007.v1", 0, 12)) == "first"
    assert ledger.duplicates == 1


@given(st.lists(st.tuples(st.sampled_from(["A-1-1", "A-1-2", "B-1-1"]), st.integers(0, 5)), max_size=40))
def test_each_id_has_exactly_one_first_presentation(presentations: list[tuple[str, int]]) -> None:
    ledger = Ledger()
    firsts: dict[str, int] = {}
    for e2e, offset in presentations:
        if ledger.present(e2e, ("t", 0, offset)) == "first":
            assert e2e not in firsts
            firsts[e2e] = offset
    assert set(firsts) == {e2e for e2e, _ in presentations}
