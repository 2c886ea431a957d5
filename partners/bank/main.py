"""The reference bank: answers each debit order on Kafka, as a bank's direct-debit system would.

It reads the order topics of the banks it plays (``BANK_CODES``; ``debits.orders.<code>.v1``), one
consumer group per bank (``bank-<code>``: each bank commits and lags on its own, as separate banks
with their own Kafka principals would), and answers on ``banks.debit-results.v1`` keyed by affiliate.

An external system, so no outbox: it publishes its answer from the handler, with the same FastStream
broker (the answer continues the order's trace), and the offset is committed only after the broker
acknowledged the answer. A crash in between re-reads the order and sends the same answer again, with
the same event id (``answers.result_id``), which debits' inbox applies once. An end-to-end id
presented again in another record is a duplicate: answered AM05, never collected twice (``ledger``).
"""

import asyncio
import logging
from typing import Any

from aiokafka import ConsumerRecord
from fastapi import FastAPI
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from pydantic import ValidationError

from contracts.banks import orders_topic
from contracts.debits import DebitExecuted, DebitRejected
from contracts.envelope import Envelope
from contracts.identifiers import bank_code as rib_bank_code
from contracts.topics import BANK_ORDERS, BANK_RESULTS
from partners.bank.answers import answer, duplicate
from partners.bank.config import BankSettings
from partners.bank.ledger import Ledger
from partners.bank.rules import BankRules
from services.runtime.broker_app import create_broker_app
from services.runtime.clock import Clock, SystemClock
from services.runtime.consumer import undecoded, validation_reason
from services.runtime.dlq import DeadLetters
from services.runtime.kafka import consumer_options, create_broker
from services.runtime.poison import Retries, tolerant_parser
from services.runtime.telemetry import setup_logging, setup_tracing

log = logging.getLogger(__name__)


async def publish_result(broker: KafkaBroker, message: Envelope, affiliate: str) -> None:
    """Waits for the broker's acknowledgement; inside a handler the answer continues its trace."""
    await broker.publish(
        message.model_dump_json().encode(),
        topic=BANK_RESULTS.name,
        key=affiliate.encode(),
        headers={"content-type": "application/json"},
    )


def register_subscriber(
    broker: KafkaBroker,
    settings: BankSettings,
    code: str,
    rules: BankRules,
    clock: Clock,
    dead_letters: list[DeadLetters],
    ledger: Ledger,
) -> None:
    """One subscriber (and consumer group) for bank ``code``; ``dead_letters`` is filled at start."""
    topic = next(t for t in BANK_ORDERS if t.name == orders_topic(code))
    adapter = topic.adapter()
    options = consumer_options(settings) | {"group_id": settings.group_id(code)}

    async def up() -> bool:
        try:
            return bool(await broker.ping(timeout=2))
        except Exception:
            return False

    retries = Retries(settings.group_id(code), settings.consumer_max_attempts, up)

    async def dead_letter(record: ConsumerRecord[Any, Any], reason: str) -> None:
        await dead_letters[0].send(record, reason, consumer=settings.group_id(code))

    @broker.subscriber(topic.name, parser=tolerant_parser, decoder=undecoded, **options)  # type: ignore[untyped-decorator]
    async def on_order(message: KafkaMessage) -> None:
        record: ConsumerRecord[Any, Any] = message.raw_message
        await retries.one(record, lambda: answer_order(record), dead_letter)

    async def answer_order(record: ConsumerRecord[Any, Any]) -> None:
        """Unreadable records, bugs and an answer the broker keeps refusing: ``retries.one``."""
        try:
            order = adapter.validate_json(record.value or b"")
        except ValidationError as exc:
            await dead_letters[0].send(record, validation_reason(exc))
            return
        p = order.payload
        context = {"bank": code, "end_to_end_id": p.end_to_end_id, "affiliate": p.affiliate, "attempt": p.attempt}
        if rib_bank_code(p.debtor_account) != code:
            reason = f"ordre pour la banque {rib_bank_code(p.debtor_account)} reçu par la banque {code}"
            await dead_letters[0].send(record, reason)
            return
        where = (record.topic, record.partition, record.offset)
        if ledger.present(p.end_to_end_id, where, order.event_id) == "duplicate":
            log.warning("debit order presented twice: not collected again, answered AM05", extra=context)
            reply: DebitExecuted | DebitRejected = duplicate(order, code, clock.now(), where)
        else:
            reply = answer(rules, order, code, clock.now())
        if settings.delay_ms:
            await asyncio.sleep(settings.delay_ms / 1000)
        await publish_result(broker, reply, p.affiliate)  # a failure: retried with a growing pause
        log.info("debit order answered", extra=context | {"type": reply.type, "event_id": str(reply.event_id)})


def create_app(settings: BankSettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or BankSettings()
    clock = clock or SystemClock()
    setup_logging(settings.log_level)
    tracer_provider = setup_tracing(settings.service_name, settings.otlp_endpoint)
    broker = create_broker(settings, tracer_provider)
    dead_letters: list[DeadLetters] = []
    rules = settings.bank_rules()
    ledger = Ledger()
    for code in settings.codes():
        register_subscriber(broker, settings, code, rules, clock, dead_letters, ledger)

    return create_broker_app(
        title="Banque de référence",
        settings=settings,
        broker=broker,
        tracer_provider=tracer_provider,
        dead_letters=dead_letters,
        on_started=lambda: log.info("bank ready", extra={"banks": settings.codes(), "rules": settings.rules}),
    )
