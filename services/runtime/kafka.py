"""Kafka clients for a service: the FastStream broker (consumers) and a producer (outbox relay, DLQ).

No module-level broker: each service builds its own in its bootstrap, from its settings.
"""

import asyncio
import logging
import ssl
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.opentelemetry import KafkaTelemetryMiddleware
from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512
from opentelemetry.trace import TracerProvider

from services.runtime.fetch_pacing import FetchPacer
from services.runtime.member_commits import guard_commits, hold_commits
from services.runtime.settings import ServiceSettings
from services.runtime.topic_shape import TopicShapeAssignor


def client_security(settings: ServiceSettings) -> dict[str, Any]:
    """aiokafka connection options for PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL."""
    options: dict[str, Any] = {"security_protocol": settings.kafka_security_protocol}
    if settings.kafka_security_protocol.endswith("SSL"):
        options["ssl_context"] = ssl.create_default_context()
    if settings.kafka_sasl_mechanism:
        options |= {
            "sasl_mechanism": settings.kafka_sasl_mechanism,
            "sasl_plain_username": settings.kafka_sasl_username,
            "sasl_plain_password": settings.kafka_sasl_password,
        }
    return options


def _faststream_security(settings: ServiceSettings) -> BaseSecurity | None:
    use_ssl = settings.kafka_security_protocol.endswith("SSL")
    context = ssl.create_default_context() if use_ssl else None
    mechanism = settings.kafka_sasl_mechanism
    if mechanism is None:
        return BaseSecurity(ssl_context=context, use_ssl=use_ssl) if use_ssl else None
    user, password = settings.kafka_sasl_username or "", settings.kafka_sasl_password or ""
    kinds = {"PLAIN": SASLPlaintext, "SCRAM-SHA-256": SASLScram256, "SCRAM-SHA-512": SASLScram512}
    return kinds[mechanism](user, password, ssl_context=context, use_ssl=use_ssl)


def create_broker(settings: ServiceSettings, tracer_provider: TracerProvider) -> KafkaBroker:
    """Consumers commit offsets only after the handler returned (its transaction committed).

    NACK_ON_ERROR rewinds to the failed message so it is read again: a crash or a database outage
    delays a message, never skips it. Poison messages are dead-lettered by the handlers themselves.
    """
    return KafkaBroker(
        settings.kafka_bootstrap_servers,
        client_id=settings.service_name,
        security=_faststream_security(settings),
        middlewares=[KafkaTelemetryMiddleware(tracer_provider=tracer_provider)],
        ack_policy=AckPolicy.NACK_ON_ERROR,
        graceful_timeout=10.0,
        logger=logging.getLogger("faststream"),  # through our JSON handler, with trace ids
    )


def consumer_options(settings: ServiceSettings) -> dict[str, Any]:
    """Options every subscriber takes: its group, a short fetch wait, fast group joins, and an
    assignor of its own that tells the group the topics' shape it sees (``topic_shape``)."""
    return {
        "group_id": settings.kafka_group_id or settings.service_name,
        "partition_assignment_strategy": (TopicShapeAssignor(),),
        "auto_offset_reset": "earliest",
        "fetch_max_wait_ms": settings.kafka_fetch_max_wait_ms,
        "session_timeout_ms": settings.kafka_session_timeout_ms,
        "heartbeat_interval_ms": settings.kafka_heartbeat_interval_ms,
    }


async def start_consuming(broker: KafkaBroker, settings: ServiceSettings) -> None:
    """``broker.start()``, with the subscribers started at once instead of one after another, then
    their fetches paced (``fetch_pacing``).

    Each subscriber is its own consumer group and its start waits for the group's join, about 3 s on
    Tansu whatever the session timeout: started in turn, the reference perception's ten office
    groups took 30 s and the bank's nine 27 s, most of ``make run``'s start. The groups are
    independent; FastStream (pinned) starts them in a loop (``BrokerUsecase.start``, held by
    ``tests/unit/test_broker_start.py``), this gathers the same calls.
    """
    await broker.connect()
    await asyncio.gather(*(subscriber.start() for subscriber in broker.subscribers))
    for consumer in consumers_of(broker):
        for assignor in consumer._partition_assignment_strategy:
            if isinstance(assignor, TopicShapeAssignor):
                assignor.watch(consumer._client.cluster)
        guard_commits(consumer)
    for publisher in broker.publishers:
        await publisher.start()
    broker.running = True
    pacer = FetchPacer(
        settings.kafka_fetch_max_wait_ms, settings.kafka_idle_fetch_max_wait_ms, settings.kafka_idle_after_ms
    )
    pacer.pace(broker.subscribers)


def on_broker_replaced(broker: KafkaBroker, *producers: AIOKafkaProducer | None) -> None:
    """Told the broker was replaced (``broker_replaced.BROKER_REPLACED``): each started consumer of
    ``broker`` holds its commits until its group forms again (``member_commits``), and it and each
    producer ask for the topics' metadata now instead of at the next refresh (``metadata_max_age_ms``,
    5 minutes).

    A consumer group that sees a topic's partitions change rejoins (aiokafka's group coordinator
    compares the subscribed topics' partitions after each metadata update), so partitions added to
    a topic are assigned within a rebalance (on Tansu thanks to ``topic_shape``). FastStream's own
    publisher (the partners' answers) is left to its periodic refresh: records it sends meanwhile go
    to partitions the topic has, only keyed by the old count.
    """
    for consumer in consumers_of(broker):
        hold_commits(consumer)
        consumer._client.force_metadata_update()
    for producer in producers:
        if producer is not None:
            producer.client.force_metadata_update()


def consumers_of(broker: KafkaBroker) -> list[AIOKafkaConsumer]:
    """The aiokafka consumers of the broker's started subscribers. aiokafka has no public hold on
    what these callers need (the consumer's client and assignors: ``_client``,
    ``_partition_assignment_strategy``); it is pinned, ``tests/unit/test_topic_shape.py`` holds the names."""
    consumers = (getattr(subscriber, "consumer", None) for subscriber in broker.subscribers)
    return [consumer for consumer in consumers if consumer is not None]


def create_producer(settings: ServiceSettings) -> AIOKafkaProducer:
    """The relay's and the dead letters' producer. Idempotent where the broker can issue producer ids
    (Apache Kafka: ``KAFKA_IDEMPOTENT_PRODUCER=true``); Tansu cannot, and the relay's own lookup of
    interrupted batches does not depend on it."""
    return AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        client_id=f"{settings.service_name}-relay",
        acks="all",
        enable_idempotence=settings.kafka_idempotent_producer,
        linger_ms=5,
        max_batch_size=256 * 1024,
        max_request_size=4 * 1024 * 1024,
        **client_security(settings),
    )


def create_tail_reader(settings: ServiceSettings) -> AIOKafkaConsumer:
    """A consumer without a group, to read topics' tails (the outbox's lookup): it commits nothing."""
    return AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        client_id=f"{settings.service_name}-outbox-lookup",
        enable_auto_commit=False,
        fetch_max_wait_ms=50,
        **client_security(settings),
    )
