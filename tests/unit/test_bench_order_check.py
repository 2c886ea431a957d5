"""The debit run bench's read-back check (bench/debit_run.py): it must be able to fail, so it is held
to each kind of wrong order here (the bench itself only ever meets right ones)."""

import json

from bench.debit_run import CODES, OrderCheck, _amount, _request_id, _rib
from contracts.banks import orders_topic

DEBITS, AFFILIATES = 30, 10


def order(index: int, *, account: int | None = None, amount: str | None = None) -> bytes:
    account = index % AFFILIATES if account is None else account
    payload = {
        "request_id": str(_request_id(index)),
        "debtor_account": _rib(account),
        "instructed_amount": amount or str(_amount(index)),
    }
    return json.dumps({"payload": payload}).encode()


def topic_of(index: int) -> str:
    return orders_topic(CODES[(index % AFFILIATES) % len(CODES)])


def test_every_debit_once_on_its_banks_topic_passes() -> None:
    check = OrderCheck(DEBITS, AFFILIATES)
    for i in range(DEBITS):
        check.check(topic_of(i), order(i))
    assert check.failures() == {}
    assert check.outcome()["ordered once"] == DEBITS


def test_a_missing_a_repeated_and_a_misrouted_order_are_each_counted() -> None:
    check = OrderCheck(DEBITS, AFFILIATES)
    for i in range(1, DEBITS):
        check.check(topic_of(i), order(i))
    check.check(topic_of(2), order(2))  # twice
    check.check(topic_of(4), order(3))  # debit 3 again, on debit 4's bank
    check.check(topic_of(5), order(5, account=6))
    check.check(topic_of(7), order(7, amount="1007.26"))
    check.check(topic_of(8), b"{not json")
    check.check(topic_of(8), order(DEBITS + 1))
    assert check.failures() == {
        "never ordered": 1,
        "ordered twice or more": 4,
        "another bank's topic": 1,
        "another account": 1,
        "another amount": 1,
        "unreadable": 1,
        "not a seeded plan": 1,
    }
