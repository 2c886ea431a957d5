"""Dead letters: a message no consumer can ever apply goes to ``<topic>.dlq`` with the reason.

The partition then moves on: one malformed message must not stop every message behind it, and must
not vanish either. The dead letter keeps the original bytes, key and headers as they came (a header
that is not UTF-8 or is null included) so it can be replayed. Which failures are poison and which
are an outage: ``services/runtime/poison.py``.
"""

import logging
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaProducer, ConsumerRecord
from aiokafka.errors import MessageSizeTooLargeError, RecordTooLargeError

from contracts.topics import DLQ_SUFFIX
from services.runtime.poison import redact

log = logging.getLogger(__name__)

REASON_LIMIT = 4000


class DeadLetters:
    def __init__(
        self, producer: AIOKafkaProducer, consumer_name: str, on_sent: Callable[[str], None] | None = None
    ) -> None:
        self._producer = producer
        self._consumer_name = consumer_name
        self._on_sent = on_sent
        """told the original topic of each dead letter sent (the metrics' counter)"""

    async def send(self, record: ConsumerRecord[Any, Any], reason: str, *, consumer: str | None = None) -> None:
        """Waits for the broker's acknowledgement: the caller commits the offset only after it.

        ``consumer`` names the consumer in the log (an inbox name), the header names the service.
        A copy too large for the broker (the original was near its limit) goes without its value:
        the headers say where the original is, on its topic, for as long as the topic keeps it.
        """
        where = [
            ("x-dlq-consumer", self._consumer_name.encode()),
            ("x-dlq-original-topic", record.topic.encode()),
            ("x-dlq-original-partition", str(record.partition).encode()),
            ("x-dlq-original-offset", str(record.offset).encode()),
        ]
        dlq = record.topic + DLQ_SUFFIX
        slim = False
        try:
            await self._producer.send_and_wait(
                dlq,
                value=record.value,
                key=record.key,
                headers=[*(record.headers or ()), ("x-dlq-reason", reason[:REASON_LIMIT].encode()), *where],
            )
        except (MessageSizeTooLargeError, RecordTooLargeError) as exc:
            slim = True
            reason = f"{reason[:3000]} ; copie trop grande pour la file des messages rejetés ({type(exc).__name__}) : "
            reason += "valeur et en-têtes d'origine omis, lire l'original à sa place"
            await self._producer.send_and_wait(
                dlq, value=None, key=record.key, headers=[("x-dlq-reason", reason.encode()), *where]
            )
        if self._on_sent is not None:
            self._on_sent(record.topic)
        log.warning(
            "message dead-lettered",
            extra={
                "consumer": consumer or self._consumer_name,
                "topic": record.topic,
                "partition": record.partition,
                "offset": record.offset,
                "reason": redact(reason),
                "without_original": slim,
            },
        )
