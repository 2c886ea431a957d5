"""Told the broker was replaced, a process's consumers learn the topics again, on a real broker.

What ``make chaos`` caught (run 8 of stop 30): the broker restarted, the reference bank's consumers
named their order topics before the launcher provisioned them, Tansu made those topics with fewer
partitions (4 after a metadata request, 1 when a FastStream subscriber starts and creates it) and
the bank's groups took them. The launcher remade them with the catalogue's 12; an order debits
re-presented then landed on partition 9, which no consumer would be given before its next metadata
refresh (5 minutes), and on Tansu not even then: a member that rejoins a formed group unchanged gets
the formed group back (``services/runtime/topic_shape.py``). The launcher's signal makes them ask at
once, and their metadata now says the shape they see.
"""

import os
import signal
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer

from contracts.banks import orders_topic
from contracts.debits import DebitExecuted
from contracts.identifiers import rib_key
from contracts.topics import BANK_RESULTS
from partners.bank.config import BankSettings
from partners.bank.main import create_app
from services.runtime.broker_replaced import BROKER_REPLACED
from services.stack.provisioning import provision_topics
from tests import messages
from tests.support import RestartableBroker, new_affiliate, partitions_of, read_topic, running

pytestmark = pytest.mark.integration

ORDERS_011 = orders_topic("011")


@pytest.fixture
async def unprovisioned_broker(tmp_path: Path) -> AsyncIterator[RestartableBroker]:
    """A broker of the test's own, restarted and not yet provisioned: the launcher's window."""
    broker = RestartableBroker(tmp_path)
    await broker.start(provisioned=False)
    yield broker
    broker.broker.stop()


@pytest.fixture
def signal_listened_for() -> Iterator[None]:
    """Ignored first, as the launcher leaves it in its children: a handler the app failed to install
    makes the test time out instead of the signal's default action ending the pytest session."""
    before = signal.getsignal(BROKER_REPLACED)
    signal.signal(BROKER_REPLACED, signal.SIG_IGN)
    yield
    signal.signal(BROKER_REPLACED, before)


async def test_a_bank_that_joined_a_made_up_topic_reads_the_partitions_it_gained_once_told(
    unprovisioned_broker: RestartableBroker, signal_listened_for: None
) -> None:
    bootstrap = unprovisioned_broker.bootstrap
    settings = BankSettings(kafka_bootstrap_servers=bootstrap, kafka_group_id="bank", bank_codes="011", rules="*=pay")
    affiliate = new_affiliate()
    first = f"011780{uuid.uuid4().int % 10**16:016d}"
    order = messages.debit_order(affiliate, debtor_account=first + rib_key(first))
    async with running(create_app(settings)):
        made = await partitions_of(bootstrap, ORDERS_011)  # by the bank's consumer: 1 partition here
        assert 0 < len(made) < 12

        outcome = await provision_topics(bootstrap, remake_misshapen=True)  # as the launcher does
        assert outcome[ORDERS_011] == "remade"
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
        await producer.start()
        try:  # where debits' relay, knowing the topic's 12 partitions, may put it
            sent = await producer.send_and_wait(
                ORDERS_011, order.model_dump_json().encode(), key=affiliate.encode(), partition=9
            )
        finally:
            await producer.stop()
        assert (sent.partition, sent.offset) == (9, 0)

        os.kill(os.getpid(), BROKER_REPLACED)  # the launcher's word, once it provisioned the broker

        [record] = await read_topic(bootstrap, BANK_RESULTS.name, lambda r: len(r) >= 1, key=affiliate, timeout=30)
    answer = BANK_RESULTS.adapter().validate_json(record.value)
    assert isinstance(answer, DebitExecuted)
    assert answer.payload.end_to_end_id == order.payload.end_to_end_id
    assert answer.payload.amount == order.payload.instructed_amount
