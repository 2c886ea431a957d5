"""The metrics a process keeps in memory: dead letters per topic, HTTP answers by route template."""

from typing import Any

import httpx
from aiokafka import ConsumerRecord, TopicPartition
from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from services.runtime.dlq import DeadLetters
from services.runtime.metrics import HttpTimer, Metrics


class _Producer:
    """Stands in for the broker's producer: takes every send."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send_and_wait(self, topic: str, **_: Any) -> None:
        self.sent.append(topic)


async def test_each_dead_letter_is_counted_by_its_original_topic() -> None:
    metrics = Metrics("debt", registry=CollectorRegistry())
    producer = _Producer()
    letters = DeadLetters(producer, "debt", on_sent=metrics.dead_lettered)  # type: ignore[arg-type]
    for topic in ("debits.events.v1", "debits.events.v1", "requests.events.v1"):
        record = ConsumerRecord(topic, 0, 7, 0, 0, b"k", b"{}", None, 1, 2, [])
        await letters.send(record, "inapplicable")
    assert producer.sent == ["debits.events.v1.dlq", "debits.events.v1.dlq", "requests.events.v1.dlq"]
    value = metrics.registry.get_sample_value
    assert value("recouvrement_dead_letters_total", {"service": "debt", "topic": "debits.events.v1"}) == 2
    assert value("recouvrement_dead_letters_total", {"service": "debt", "topic": "requests.events.v1"}) == 1


async def test_an_answer_is_timed_by_its_route_template_never_its_url() -> None:
    metrics = Metrics("requests", registry=CollectorRegistry())
    app = FastAPI()

    @app.get("/v1/requests/{request_id}")
    async def one(request_id: str) -> dict[str, str]:
        return {"id": request_id}

    timed = HttpTimer(app, metrics)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=timed), base_url="http://t") as client:
        assert (await client.get("/v1/requests/5f0c3c1e")).status_code == 200
        assert (await client.get("/nowhere/1000003")).status_code == 404
    value = metrics.registry.get_sample_value
    labels = {"service": "requests", "method": "GET", "route": "/v1/requests/{request_id}", "status": "200"}
    assert value("recouvrement_http_request_duration_seconds_count", labels) == 1
    unmatched = {"service": "requests", "method": "GET", "route": "unmatched", "status": "404"}
    assert value("recouvrement_http_request_duration_seconds_count", unmatched) == 1
    exposed = b"".join(
        metrics.registry.collect() and [__import__("prometheus_client").generate_latest(metrics.registry)]
    )
    assert b"5f0c3c1e" not in exposed and b"1000003" not in exposed


class _Consumer:
    """What the lag reads of an aiokafka consumer: its partitions, their end, its position."""

    def __init__(self, partitions: dict[tuple[str, int], tuple[int | None, int]]) -> None:
        self.partitions = partitions

    def assignment(self) -> set[TopicPartition]:
        return {TopicPartition(topic, p) for topic, p in self.partitions}

    def highwater(self, tp: TopicPartition) -> int | None:
        return self.partitions[(tp.topic, tp.partition)][0]

    async def position(self, tp: TopicPartition) -> int:
        return self.partitions[(tp.topic, tp.partition)][1]


async def test_the_lag_is_summed_per_topic_over_the_assigned_partitions() -> None:
    metrics = Metrics("requests", registry=CollectorRegistry())
    positions = _Consumer({("debt.positions.v1", 0): (120, 100), ("debt.positions.v1", 3): (50, 45)})
    quotes = _Consumer({("simulation.quotes.v1", 1): (10, 12), ("simulation.quotes.v1", 2): (None, 0)})
    await metrics.read_lag([positions, quotes])
    value = metrics.registry.get_sample_value
    assert value("recouvrement_consumer_lag", {"service": "requests", "topic": "debt.positions.v1"}) == 25
    # a position past Tansu's reported end (the start of its last batch) is no negative lag
    assert value("recouvrement_consumer_lag", {"service": "requests", "topic": "simulation.quotes.v1"}) == 0
