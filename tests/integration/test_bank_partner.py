"""The reference bank on the real broker: debit orders in, results out, one trace."""

import secrets
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

import httpx
import pytest

from contracts.banks import orders_topic
from contracts.debits import DebitExecuted, DebitOrder, DebitRejected
from contracts.identifiers import rib_key
from contracts.topics import BANK_RESULTS
from partners.bank.answers import result_id
from partners.bank.config import BankSettings
from partners.bank.main import create_app
from tests import messages
from tests.conftest import Infra
from tests.support import header, new_affiliate, publish, read_topic, running

pytestmark = pytest.mark.integration

NOW = datetime(2026, 12, 10, 6, 0, tzinfo=UTC)
ORDERS_007 = orders_topic("007")


def rib(bank: str = "007") -> str:
    first = f"{bank}780{uuid.uuid4().int % 10**16:016d}"
    return first + rib_key(first)


def order(affiliate: str, attempt: int = 1, *, bank: str = "007", request_id: uuid.UUID | None = None) -> DebitOrder:
    return messages.debit_order(
        affiliate,
        request_id=request_id,
        attempt=attempt,
        collection=date(2026, 12, 10) if attempt == 1 else date(2026, 12, 17),
        debtor_account=rib(bank),
        at=NOW,
    )


def traceparent() -> str:
    return f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01"


async def send(infra: Infra, message: DebitOrder | bytes, key: str, topic: str = ORDERS_007) -> str:
    """Publishes with a W3C trace context, as debits' relay does; returns the traceparent."""
    parent = traceparent()
    await publish(infra.bootstrap, topic, [(key, message)], headers=[("traceparent", parent.encode())])
    return parent


async def results(
    infra: Infra, affiliate: str, count: int = 1
) -> list[tuple[DebitExecuted | DebitRejected, str | None]]:
    records = await read_topic(infra.bootstrap, BANK_RESULTS.name, lambda r: len(r) >= count, key=affiliate)
    adapter = BANK_RESULTS.adapter()
    return [(adapter.validate_json(r.value), header(r, "traceparent")) for r in records]


@pytest.fixture
async def rules() -> dict[str, str]:
    return {"pay": new_affiliate(), "closed": new_affiliate(), "once": new_affiliate()}


@pytest.fixture
async def bank(infra: Infra, rules: dict[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    settings = BankSettings(
        kafka_bootstrap_servers=infra.bootstrap,
        kafka_group_id=f"bank-{uuid.uuid4().hex[:8]}",  # each test reads the topics from their start
        bank_codes="007,011",
        rules=f"{rules['closed']}=AC04,{rules['once']}=AM04-once,*=pay",
        delay_ms=50,
    )
    async with running(create_app(settings)) as client:
        yield client


async def test_an_order_is_paid_in_the_same_trace(bank: httpx.AsyncClient, infra: Infra, rules: dict[str, str]) -> None:
    assert (await bank.get("/health/ready")).status_code == 200
    sent_order = order(rules["pay"])
    sent = await send(infra, sent_order, rules["pay"])

    ((message, parent),) = await results(infra, rules["pay"])
    assert isinstance(message, DebitExecuted)
    p = message.payload
    assert (p.end_to_end_id, p.bank_code, str(p.amount)) == (sent_order.payload.end_to_end_id, "007", "4250.75")
    assert p.settled_on == date(2026, 12, 10)
    assert message.event_id == result_id(p.end_to_end_id, "executed")
    assert parent is not None
    assert parent.split("-")[1] == sent.split("-")[1]  # one trace, debit run → bank → result
    assert parent.split("-")[2] != sent.split("-")[2]  # ... continued by the bank's own span


async def test_rules_reject_always_or_once_and_bad_orders_are_dead_lettered(
    bank: httpx.AsyncClient, infra: Infra, rules: dict[str, str]
) -> None:
    poison = b'{"type": "debits.debit_order", "payload": {}}'
    await send(infra, poison, rules["closed"])
    misrouted = order(rules["closed"], bank="011")  # an 011 account on 007's topic
    await send(infra, misrouted, rules["closed"])
    closed = order(rules["closed"])
    sent_closed = await send(infra, closed, rules["closed"], topic=orders_topic("007"))
    request_id = uuid.uuid4()
    first = order(rules["once"], attempt=1, request_id=request_id)
    await send(infra, first, rules["once"])
    second = order(rules["once"], attempt=2, request_id=request_id, bank="011")
    sent_second = await send(infra, second, rules["once"], topic=orders_topic("011"))

    # same key, same partition: the poison and the misrouted order before it did not stop the order
    ((rejected, parent),) = await results(infra, rules["closed"])
    assert isinstance(rejected, DebitRejected)
    assert (rejected.payload.end_to_end_id, rejected.payload.reason_code) == (closed.payload.end_to_end_id, "AC04")
    assert parent is not None and parent.split("-")[1] == sent_closed.split("-")[1]

    answers = await results(infra, rules["once"], count=2)
    by_attempt = {m.payload.end_to_end_id: (m, tp) for m, tp in answers}
    attempt_1, _ = by_attempt[first.payload.end_to_end_id]
    attempt_2, parent_2 = by_attempt[second.payload.end_to_end_id]
    assert isinstance(attempt_1, DebitRejected) and attempt_1.payload.reason_code == "AM04"
    assert isinstance(attempt_2, DebitExecuted) and attempt_2.payload.bank_code == "011"
    assert attempt_2.payload.settled_on == date(2026, 12, 17)
    assert parent_2 is not None and parent_2.split("-")[1] == sent_second.split("-")[1]

    dead = await read_topic(
        infra.bootstrap, ORDERS_007 + ".dlq", lambda r: len([d for d in r if d.key == rules["closed"].encode()]) >= 2
    )
    reasons = {header(d, "x-dlq-reason") for d in dead if d.key == rules["closed"].encode()}
    assert any(r and "banque 011 reçu par la banque 007" in r for r in reasons)
    assert {header(d, "x-dlq-consumer") for d in dead} == {"bank"}


async def test_an_end_to_end_id_in_two_orders_is_collected_once_and_answered_am05(
    bank: httpx.AsyncClient, infra: Infra, rules: dict[str, str]
) -> None:
    """The same end-to-end id in two different orders (two messages): a bank books it once. The
    same order sent again (a replay after a broker loss: same message) gets its first answer again."""
    twice = order(rules["pay"])
    other = twice.model_copy(update={"event_id": uuid.uuid4()})
    await send(infra, twice, rules["pay"])
    await send(infra, other, rules["pay"])
    await send(infra, twice, rules["pay"])
    answers = [m for m, _ in await results(infra, rules["pay"], count=3)]
    assert [m.type for m in answers] == ["banks.debit_executed", "banks.debit_rejected", "banks.debit_executed"]
    executed, duplicate, again = answers
    assert isinstance(duplicate, DebitRejected)
    assert (duplicate.payload.end_to_end_id, duplicate.payload.reason_code) == (twice.payload.end_to_end_id, "AM05")
    assert executed.event_id == result_id(twice.payload.end_to_end_id, "executed") == again.event_id
    assert duplicate.event_id != executed.event_id
