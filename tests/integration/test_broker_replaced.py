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

import asyncio
import os
import signal
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from contracts.banks import orders_topic
from contracts.debits import DebitExecuted, DebitOrder
from contracts.identifiers import rib_key
from contracts.topics import BANK_RESULTS
from partners.bank.config import BankSettings
from partners.bank.main import create_app
from services.runtime.broker_replaced import BROKER_REPLACED
from services.stack.provisioning import provision_topics
from tests import messages
from tests.support import RestartableBroker, eventually, new_affiliate, partitions_of, read_topic, running

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


async def order_on_partition(bootstrap: str, affiliate: str, partition: int, offset: int = 0) -> DebitOrder:
    first = f"011780{uuid.uuid4().int % 10**16:016d}"
    order = messages.debit_order(affiliate, debtor_account=first + rib_key(first))
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        sent = await producer.send_and_wait(
            ORDERS_011, order.model_dump_json().encode(), key=affiliate.encode(), partition=partition
        )
    finally:
        await producer.stop()
    assert (sent.partition, sent.offset) == (partition, offset)
    return order


async def answered(bootstrap: str, order: DebitOrder) -> None:
    [record] = await read_topic(
        bootstrap, BANK_RESULTS.name, lambda r: len(r) >= 1, key=order.payload.affiliate, timeout=30
    )
    answer = BANK_RESULTS.adapter().validate_json(record.value)
    assert isinstance(answer, DebitExecuted)
    assert answer.payload.end_to_end_id == order.payload.end_to_end_id
    assert answer.payload.amount == order.payload.instructed_amount


def bank_011(bootstrap: str, delay_ms: int = 0) -> BankSettings:
    return BankSettings(
        kafka_bootstrap_servers=bootstrap, kafka_group_id="bank", bank_codes="011", rules="*=pay", delay_ms=delay_ms
    )


async def test_a_bank_whose_topic_was_made_again_while_it_ran_reads_the_partitions_it_gained_once_told(
    unprovisioned_broker: RestartableBroker, signal_listened_for: None
) -> None:
    """Run 8's steps: the bank runs, the broker is killed and comes back empty, the bank's consumer
    names its topic first (Tansu makes it, 4 partitions), the launcher remakes it with 12."""
    bootstrap = unprovisioned_broker.bootstrap
    await provision_topics(bootstrap)
    async with running(create_app(bank_011(bootstrap))):
        await unprovisioned_broker.kill_and_restart(provisioned=False)
        # the answers' topic as provisioned: the bank's answer to the order below must be readable
        # (a producer still holding the lost broker's 12 partitions would put it on one Tansu lacks)
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        try:
            await admin.create_topics([NewTopic(BANK_RESULTS.name, BANK_RESULTS.partitions, 1)])
        finally:
            await admin.close()

        async def made_by_the_bank() -> bool:
            return 0 < len(await partitions_of(bootstrap, ORDERS_011)) < 12

        await eventually(made_by_the_bank, timeout=30)
        # the bank's group formed on the made-up topic: it answers an order there
        await answered(bootstrap, await order_on_partition(bootstrap, new_affiliate(), 0))
        outcome = await provision_topics(bootstrap, remake_misshapen=True)  # as the launcher does
        assert outcome[ORDERS_011] == "remade"
        # where debits' relay, knowing the topic's 12 partitions, may put an order
        order = await order_on_partition(bootstrap, new_affiliate(), 9)

        os.kill(os.getpid(), BROKER_REPLACED)  # the launcher's word, once it provisioned the broker

        await answered(bootstrap, order)


async def test_a_bank_that_started_before_its_topic_was_provisioned_reads_the_partitions_it_gained_once_told(
    unprovisioned_broker: RestartableBroker, signal_listened_for: None
) -> None:
    """The bank (re)started by the launcher in the window: its FastStream subscriber makes the topic
    at its start (1 partition)."""
    bootstrap = unprovisioned_broker.bootstrap
    async with running(create_app(bank_011(bootstrap))):
        assert 0 < len(await partitions_of(bootstrap, ORDERS_011)) < 12

        outcome = await provision_topics(bootstrap, remake_misshapen=True)
        assert outcome[ORDERS_011] == "remade"
        order = await order_on_partition(bootstrap, new_affiliate(), 9)

        os.kill(os.getpid(), BROKER_REPLACED)

        await answered(bootstrap, order)


async def test_a_bank_answering_across_a_broker_restart_commits_nothing_of_the_lost_broker(
    unprovisioned_broker: RestartableBroker, signal_listened_for: None
) -> None:
    """make chaos, both tests of one run: the bank holds an order (offset 1) when the broker dies,
    answers it on the new broker and commits. Its old positions must not land in the new, empty group:
    the group would start at offset 2 where the new log has one record, and never read it."""
    bootstrap = unprovisioned_broker.bootstrap
    await provision_topics(bootstrap)
    async with running(create_app(bank_011(bootstrap, delay_ms=2000))):
        first = await order_on_partition(bootstrap, new_affiliate(), 0)
        held = await order_on_partition(bootstrap, new_affiliate(), 0, offset=1)
        await answered(bootstrap, first)  # and the bank is now holding ``held`` for 2 s
        await unprovisioned_broker.kill_and_restart()  # provisioned at once, as the launcher does
        os.kill(os.getpid(), BROKER_REPLACED)

        await asyncio.sleep(8)  # the held order answered on the new broker, the group formed again
        replayed = await order_on_partition(bootstrap, new_affiliate(), 0)  # offset 0 of the new log
        await answered(bootstrap, replayed)
    assert held.payload.end_to_end_id != replayed.payload.end_to_end_id
