"""The reference bank's book: an end-to-end id is collected once; the same order delivered again
(a re-read record, or the same message replayed after a broker loss) is answered alike."""

import uuid

from hypothesis import given
from hypothesis import strategies as st

from partners.bank.ledger import Ledger

ORDER, OTHER_ORDER = uuid.uuid4(), uuid.uuid4()


def test_a_second_order_with_the_same_id_is_a_duplicate_and_the_same_order_again_is_not() -> None:
    ledger = Ledger()
    assert ledger.present("E2E-1-1", ("debits.orders.007.v1", 0, 10), ORDER) == "first"
    assert ledger.present("E2E-1-1", ("debits.orders.007.v1", 0, 10), ORDER) == "again"  # offset not committed
    assert ledger.present("E2E-1-1", ("debits.orders.007.v1", 0, 11), OTHER_ORDER) == "duplicate"
    assert ledger.present("E2E-1-1", ("debits.orders.007.v1", 0, 10), ORDER) == "again"
    assert ledger.present("E2E-1-2", ("debits.orders.007.v1", 0, 12), OTHER_ORDER) == "first"
    assert ledger.duplicates == 1


def test_the_same_order_replayed_to_a_new_broker_gets_its_answer_again() -> None:
    """The broker lost the bank's answer; debits replays the order (same message, new offset)."""
    ledger = Ledger()
    assert ledger.present("E2E-1-1", ("debits.orders.007.v1", 3, 900), ORDER) == "first"
    assert ledger.present("E2E-1-1", ("debits.orders.007.v1", 3, 0), ORDER) == "again"
    assert ledger.duplicates == 0


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["A-1-1", "A-1-2", "B-1-1"]), st.integers(0, 5), st.sampled_from([ORDER, OTHER_ORDER])
        ),
        max_size=40,
    )
)
def test_each_id_has_exactly_one_first_presentation(presentations: list[tuple[str, int, uuid.UUID]]) -> None:
    ledger = Ledger()
    firsts: dict[str, int] = {}
    for e2e, offset, message in presentations:
        if ledger.present(e2e, ("t", 0, offset), message) == "first":
            assert e2e not in firsts
            firsts[e2e] = offset
    assert set(firsts) == {e2e for e2e, _, _ in presentations}
