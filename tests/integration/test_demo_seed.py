"""The demo ledger goes to a broker that is not there at first, as when ``make run``'s broker dies
during the first start's seeding: the launcher restarts it and the seeding goes on, nothing lost."""

from pathlib import Path

import pytest

from contracts.topics import DEBT_LEDGER
from services.stack.demo_data import generate
from services.stack.embedded import EmbeddedBroker, free_port
from services.stack.provisioning import provision_topics
from services.stack.seed import publish_ledger
from tests.support import read_to_end

pytestmark = pytest.mark.integration


async def test_the_demo_ledger_waits_for_a_restarted_broker_and_all_of_it_arrives(tmp_path: Path) -> None:
    broker = EmbeddedBroker(free_port(), tmp_path / "broker.log")  # dead: nothing listens on its port
    dataset = generate(3, 2024)
    failures: list[tuple[str, int]] = []

    async def broker_down(exc: Exception, attempt: int) -> None:
        failures.append((type(exc).__name__, attempt))
        broker.start()  # what the launcher's supervisor does: start it again, provision its topics
        await provision_topics(broker.bootstrap)

    try:
        assert await publish_ledger(broker.bootstrap, dataset, broker_down) == len(dataset.ledger)
        records = await read_to_end(broker.bootstrap, DEBT_LEDGER.name)
    finally:
        broker.stop()
    assert [attempt for _, attempt in failures] == [1]
    sent = [(key, str(message.event_id)) for key, message in dataset.ledger]
    adapter = DEBT_LEDGER.adapter()
    got = [(r.key.decode(), str(adapter.validate_json(r.value).event_id)) for r in records]
    assert sorted(got) == sorted(sent)  # every entry, once


async def test_without_a_supervisor_a_dead_broker_stops_the_seeding(tmp_path: Path) -> None:
    with pytest.raises(Exception):  # noqa: B017 (aiokafka's connection error, whichever it is)
        await publish_ledger(f"127.0.0.1:{free_port()}", generate(1, 2024))
