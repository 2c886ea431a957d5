"""Dead letters: a message no consumer can ever apply goes to ``<topic>.dlq`` with the reason.

The partition then moves on: one malformed message must not stop every message behind it, and must
not vanish either. The dead letter keeps the original bytes, key and headers so it can be replayed.
"""

import logging
from typing import Any

from aiokafka import AIOKafkaProducer, ConsumerRecord

from contracts.topics import DLQ_SUFFIX

log = logging.getLogger(__name__)


class DeadLetters:
    def __init__(self, producer: AIOKafkaProducer, consumer_name: str) -> None:
        self._producer = producer
        self._consumer_name = consumer_name

    async def send(self, record: ConsumerRecord[Any, Any], reason: str) -> None:
        """Waits for the broker's acknowledgement: the caller commits the offset only after it."""
        headers = [
            *(record.headers or ()),
            ("x-dlq-reason", reason[:4000].encode()),
            ("x-dlq-consumer", self._consumer_name.encode()),
            ("x-dlq-original-topic", record.topic.encode()),
            ("x-dlq-original-partition", str(record.partition).encode()),
            ("x-dlq-original-offset", str(record.offset).encode()),
        ]
        await self._producer.send_and_wait(
            record.topic + DLQ_SUFFIX, value=record.value, key=record.key, headers=headers
        )
        log.warning(
            "message dead-lettered",
            extra={
                "topic": record.topic,
                "partition": record.partition,
                "offset": record.offset,
                "reason": reason[:300],
            },
        )
