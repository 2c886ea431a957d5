"""Imported pain.002 results onto ``banks.debit-results.v1``: the same path as the banks on Kafka.

The messages carry deterministic event ids (``pain002.result_id``), so importing a file twice sends
the same events again and debits' inbox applies them once. Each send waits for the broker's
acknowledgement; the import reports success only when every result was acknowledged.
"""

from collections.abc import Sequence

from opentelemetry import propagate, trace

from contracts.topics import BANK_RESULTS
from services.debits.adapters.pain.pain002 import ImportedResult
from services.runtime.kafka import create_producer
from services.runtime.settings import ServiceSettings
from services.runtime.telemetry import setup_tracing


def result_key(item: ImportedResult) -> str:
    """The topic is keyed by affiliate; a report that does not name the debtor is keyed by end-to-end id."""
    return item.affiliate or item.message.payload.end_to_end_id


async def publish_results(settings: ServiceSettings, results: Sequence[ImportedResult]) -> int:
    """Sends every result under one trace (``import pain002``); returns how many were acknowledged."""
    provider = setup_tracing(settings.service_name, settings.otlp_endpoint, settings.trace_sample_ratio)
    tracer = provider.get_tracer(__name__)
    producer = create_producer(settings)
    await producer.start()
    try:
        with tracer.start_as_current_span("import pain002", kind=trace.SpanKind.PRODUCER) as span:
            span.set_attribute("messaging.destination.name", BANK_RESULTS.name)
            span.set_attribute("messaging.batch.message_count", len(results))
            carrier: dict[str, str] = {}
            propagate.inject(carrier)
            headers = [(k, v.encode()) for k, v in carrier.items()] + [("content-type", b"application/json")]
            futures = [
                await producer.send(
                    BANK_RESULTS.name,
                    value=item.message.model_dump_json().encode(),
                    key=result_key(item).encode(),
                    headers=headers,
                )
                for item in results
            ]
            for future in futures:
                await future
    finally:
        await producer.stop()
        provider.force_flush(timeout_millis=2000)
    return len(results)
