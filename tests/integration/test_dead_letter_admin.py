"""``recouvrement dlq list|show|replay`` against a real broker: an operator sees a dead letter, why it
was refused, and sends the original back to its topic, byte for byte."""

import asyncio
import json
import uuid
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from typer.testing import CliRunner

from contracts.topics import PERCEPTION_GUARANTEES
from services import cli
from services.runtime.dlq import DeadLetters
from tests.conftest import Infra
from tests.support import read_topic

pytestmark = pytest.mark.integration


async def operator(args: list[str]) -> Any:
    """``recouvrement`` as an operator types it (its own event loop, in a thread)."""
    return await asyncio.to_thread(CliRunner().invoke, cli.app, args)


async def test_an_operator_lists_shows_and_replays_a_dead_letter(infra: Infra) -> None:
    key = f"dlq-{uuid.uuid4().hex[:10]}"
    event_id = str(uuid.uuid4())
    value = json.dumps({"event_id": event_id, "type": "perception.guarantee_refused", "payload": {"x": 1}}).encode()
    headers = [("traceparent", b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"), ("odd", b"\xff\xfe")]
    topic = PERCEPTION_GUARANTEES.name
    async with AIOKafkaProducer(bootstrap_servers=infra.bootstrap) as producer:
        await producer.send_and_wait(topic, value=value, key=key.encode(), headers=headers)
        [original] = await read_topic(infra.bootstrap, topic, lambda r: len(r) >= 1, key=key)
        await DeadLetters(producer, "requests").send(original, "inapplicable : demande inconnue")

    listed = await operator(["dlq", "list", "--topic", topic, "--kafka", infra.bootstrap, "--consumer", "requests"])
    assert listed.exit_code == 0, listed.output
    line = next(
        line for line in listed.output.splitlines() if "perception.guarantee_refused" in line and "requests" in line
    )
    where = line.split("\t")[0]
    assert where.startswith(f"{topic}.dlq:")
    assert "inapplicable : demande inconnue" in listed.output

    shown = await operator(["dlq", "show", where, "--kafka", infra.bootstrap])
    assert shown.exit_code == 0, shown.output
    assert f"clé : {key}" in shown.output and event_id in shown.output
    assert "x-dlq-original-topic: perception.guarantees.v1" in shown.output
    assert "odd: \ufffd\ufffd" in shown.output  # a header that is not UTF-8, shown, not a crash

    replayed = await operator(["dlq", "replay", where, "--kafka", infra.bootstrap])
    assert replayed.exit_code == 0 and "1 message renvoyé sur" in replayed.output, replayed.output
    first, again = await read_topic(infra.bootstrap, topic, lambda r: len(r) >= 2, key=key)
    assert again.value == first.value == value
    assert list(again.headers) == list(first.headers) == headers  # no x-dlq-* header goes back

    nowhere = await operator(["dlq", "show", f"{topic}.dlq:0:999999999", "--kafka", infra.bootstrap])
    assert nowhere.exit_code == 1
    stranger = await operator(["dlq", "list", "--topic", "nope.v1", "--kafka", infra.bootstrap])
    assert stranger.exit_code == 2 and "hors du catalogue" in stranger.output
