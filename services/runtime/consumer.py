"""One message at a time, effectively once: validate, dedupe, apply in one transaction, or dead-letter.

Every per-message consumer of the project is registered through ``subscribe``, so each one gets the
same guarantees without writing them again:

- the record is validated against its topic's contract; one that does not fit goes to ``<topic>.dlq``
  with the reason, and the partition moves on;
- the effect and the inbox claim of the event id commit in one transaction: a redelivered message
  changes nothing;
- the offset is committed after that transaction (the broker's NACK_ON_ERROR policy): a crash or a
  database outage re-reads the message, a data error the database will refuse again is dead-lettered.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import asyncpg
from aiokafka import ConsumerRecord
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.message import StreamMessage
from pydantic import ValidationError

from contracts.topics import Topic
from services.runtime import inbox
from services.runtime.kafka import consumer_options
from services.runtime.platform import Platform

log = logging.getLogger(__name__)
RETRY_PAUSE_S = 1.0

Handler = Callable[[asyncpg.Connection, Any], Awaitable[None]]
"""Applies one validated message inside the caller's transaction."""

# Errors the same message raises again however often it is retried: poison, not an outage.
DATA_ERRORS = (asyncpg.DataError, asyncpg.IntegrityConstraintViolationError)


def validation_reason(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors(include_url=False))


async def undecoded(message: StreamMessage[Any]) -> Any:
    """The handler validates the raw bytes against the contract itself."""
    return message.body


def subscribe(broker: KafkaBroker, platform: Platform, topic: Topic, handler: Handler, *, consumer: str) -> None:
    """Register ``handler`` for every message of ``topic``; ``consumer`` names it in the inbox."""
    subscribe_all(broker, platform, {topic: handler}, consumer=consumer)


def subscribe_all(broker: KafkaBroker, platform: Platform, handlers: Mapping[Topic, Handler], *, consumer: str) -> None:
    """One Kafka consumer for several topics, each message to its topic's handler.

    One consumer, not one per topic: each member of a consumer group joining costs a rebalance of
    the whole group, and a service's projections need no parallelism of their own.
    """
    routes = {topic.name: (topic.adapter(), handler) for topic, handler in handlers.items()}

    async def dead_letter(record: ConsumerRecord[Any, Any], reason: str) -> None:
        assert platform.dead_letters is not None
        await platform.dead_letters.send(record, reason)

    @broker.subscriber(  # type: ignore[untyped-decorator]
        *routes, decoder=undecoded, **consumer_options(platform.settings)
    )
    async def on_message(message: KafkaMessage) -> None:
        record: ConsumerRecord[Any, Any] = message.raw_message
        adapter, handler = routes[record.topic]
        try:
            event = adapter.validate_json(record.value or b"")
        except ValidationError as exc:
            await dead_letter(record, validation_reason(exc))
            return
        assert platform.pool is not None
        try:
            async with platform.pool.acquire() as conn, conn.transaction():
                if await inbox.claim(conn, consumer, [event.event_id]):
                    await handler(conn, event)
        except DATA_ERRORS as exc:
            await dead_letter(record, f"refusé par la base : {type(exc).__name__}: {exc}")
        except Exception:
            log.exception("message failed, will be read again", extra={"topic": record.topic, "offset": record.offset})
            await asyncio.sleep(RETRY_PAUSE_S)  # an outage: no hot loop
            raise
