"""The reference perception: answers each guarantee request on Kafka, as the real offices would.

It reads the guarantee topics of the offices it plays (``PERCEPTION_OFFICES``;
``requests.guarantees.<code>.v1``), one consumer group per office (``perception-<code>``: each office
commits and lags on its own, as separate offices with their own Kafka principals would), and answers
on ``perception.guarantees.v1``. A message on an office's topic that names another office is
dead-lettered with the reason. What becomes of the guarantees (withdrawn, deadline passed, released,
enforced with the amount owed again) is logged: nothing to answer.

An external system, so it does not use the services' outbox: it publishes its answer from the
handler, with the same FastStream broker (the answer continues the request's trace), and the offset
is committed only after the broker acknowledged the answer. A crash in between re-reads the request
and sends the same answer again, with the same event id, which the requests service applies once.
"""

import asyncio
import logging
from typing import Any

from aiokafka import ConsumerRecord
from fastapi import FastAPI
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage

from contracts.envelope import Envelope
from contracts.requests import GuaranteeEnforced, GuaranteeReleased, GuaranteeRequired
from contracts.topics import PERCEPTION_GUARANTEES, guarantee_requests
from partners.perception.answers import answer, received
from partners.perception.config import PerceptionSettings
from services.runtime.broker_app import create_broker_app
from services.runtime.clock import Clock, SystemClock
from services.runtime.consumer import undecoded
from services.runtime.dlq import DeadLetters
from services.runtime.kafka import consumer_options, create_broker
from services.runtime.poison import Retries, tolerant_parser
from services.runtime.telemetry import setup_logging, setup_tracing

log = logging.getLogger(__name__)


async def publish_answer(broker: KafkaBroker, message: Envelope, affiliate: str) -> None:
    """Waits for the broker's acknowledgement; inside a handler the answer continues its trace."""
    await broker.publish(
        message.model_dump_json().encode(),
        topic=PERCEPTION_GUARANTEES.name,
        key=affiliate.encode(),
        headers={"content-type": "application/json"},
    )


def register_subscriber(
    broker: KafkaBroker, settings: PerceptionSettings, code: str, clock: Clock, dead_letters: list[DeadLetters]
) -> None:
    """One subscriber (and consumer group) for office ``code``; ``dead_letters`` is filled at start
    (its producer needs the running loop).

    The runtime's rules for poison and outages (``services/runtime/poison.py``): a request that
    cannot be read (a header that is not UTF-8 or is null, a tombstone), does not fit the contract
    or makes the answer fail (a bug) is dead-lettered, and the next one answered; an answer the
    broker does not take is retried after a growing pause, and dead-lettered after
    ``CONSUMER_MAX_ATTEMPTS`` tries while the broker answers others.
    """
    topic = guarantee_requests(code)
    adapter = topic.adapter()
    answer_rules = settings.answer_rules()
    group = settings.group_id(code)

    async def up() -> bool:
        try:
            return bool(await broker.ping(timeout=2))
        except Exception:
            return False

    retries = Retries(group, settings.consumer_max_attempts, up)

    async def dead_letter(record: ConsumerRecord[Any, Any], reason: str) -> None:
        await dead_letters[0].send(record, reason, consumer=group)

    async def respond(record: ConsumerRecord[Any, Any]) -> None:
        event = adapter.validate_json(record.value)
        p = event.payload
        context = {"request_id": str(p.request_id), "affiliate": p.affiliate, "perception": p.perception.code}
        if p.perception.code != code:
            await dead_letter(record, f"message pour la perception {p.perception.code} reçu par la perception {code}")
            return
        if isinstance(event, GuaranteeEnforced):
            reinstated = event.payload.reinstated
            log.info(
                "guarantees to enforce: the plan defaulted",
                extra=context
                | {"reference": event.payload.guarantee.reference, "reinstated_total": str(reinstated.total)},
            )
            return
        if isinstance(event, GuaranteeReleased):
            log.info(
                "guarantees to release: the plan completed",
                extra=context | {"reference": event.payload.guarantee.reference},
            )
            return
        if not isinstance(event, GuaranteeRequired):
            log.info("perception stops waiting for guarantees", extra=context | {"type": event.type})
            return
        await publish_answer(broker, received(event, clock.now()), p.affiliate)  # first: the office has it
        reply = answer(
            answer_rules,
            event,
            clock.now(),
            guarantee_type=settings.guarantee_type,
            refusal_reason=settings.refusal_reason,
        )
        if reply is None:
            log.info("guarantee request left unanswered by rule", extra=context)
            return
        if settings.delay_ms:
            await asyncio.sleep(settings.delay_ms / 1000)
        await publish_answer(broker, reply, p.affiliate)  # a failure: retried (it is logged as such)
        log.info("guarantee request answered", extra=context | {"type": reply.type, "event_id": str(reply.event_id)})

    options = consumer_options(settings) | {"group_id": group}

    @broker.subscriber(topic.name, parser=tolerant_parser, decoder=undecoded, **options)  # type: ignore[untyped-decorator]
    async def on_request(message: KafkaMessage) -> None:
        record: ConsumerRecord[Any, Any] = message.raw_message
        await retries.one(record, lambda: respond(record), dead_letter)


def create_app(settings: PerceptionSettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or PerceptionSettings()
    clock = clock or SystemClock()
    setup_logging(settings.log_level)
    tracer_provider = setup_tracing(settings.service_name, settings.otlp_endpoint)
    broker = create_broker(settings, tracer_provider)
    dead_letters: list[DeadLetters] = []
    for code in settings.offices():
        register_subscriber(broker, settings, code, clock, dead_letters)

    return create_broker_app(
        title="Perception de référence",
        settings=settings,
        broker=broker,
        tracer_provider=tracer_provider,
        dead_letters=dead_letters,
        on_started=lambda: log.info(
            "perception ready",
            extra={"offices": settings.offices(), "default": settings.default_outcome, "rules": settings.rules},
        ),
    )
