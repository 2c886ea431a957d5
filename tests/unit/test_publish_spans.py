"""The relay's PRODUCER spans: one per group of a batch's events sharing a trace and a topic
(services/runtime/publish_spans.py)."""

import uuid
from typing import Any

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from services.runtime.publish_spans import PublishSpans

PAGE = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
CALL = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def row(topic: str, traceparent: str | None, key: str = "1000106") -> dict[str, Any]:
    return {"event_id": uuid.uuid4(), "topic": topic, "key": key, "traceparent": traceparent, "tracestate": None}


def traceparent_of(headers: list[tuple[str, bytes]]) -> str:
    [value] = [v.decode() for name, v in headers if name == "traceparent"]
    return value


def spans_of(rows: list[dict[str, Any]]) -> tuple[list[Any], list[str]]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    spans = PublishSpans(provider.get_tracer("test"))
    sent = [traceparent_of(spans.headers(r)) for r in rows]
    spans.end()
    return list(exporter.get_finished_spans()), sent


def test_the_events_of_one_trace_to_one_topic_share_one_span_and_keep_their_trace() -> None:
    page = [row("debits.orders.007.v1", PAGE, key=str(n)) for n in range(500)]
    changes = [row("debits.events.v1", PAGE, key=str(n)) for n in range(500)]

    spans, sent = spans_of([*page, *changes])

    assert len(spans) == 2  # not 1,000
    by_topic = {s.attributes["messaging.destination.name"]: s for s in spans}
    for topic, span in by_topic.items():
        assert span.name == f"{topic} publish" and span.kind is SpanKind.PRODUCER
        assert f"{span.context.trace_id:032x}" == PAGE.split("-")[1]
        assert span.parent is not None and f"{span.parent.span_id:016x}" == PAGE.split("-")[2]
        assert span.attributes["messaging.batch.message_count"] == 500
    # every message names its group's span, in the trace that wrote it
    assert set(sent[:500]) == {f"00-{PAGE.split('-')[1]}-{by_topic['debits.orders.007.v1'].context.span_id:016x}-01"}
    assert set(sent[500:]) == {f"00-{PAGE.split('-')[1]}-{by_topic['debits.events.v1'].context.span_id:016x}-01"}


def test_events_of_different_traces_or_of_none_get_spans_of_their_own() -> None:
    rows = [row("requests.events.v1", CALL), row("requests.events.v1", PAGE), row("a", None), row("a", None)]

    spans, sent = spans_of(rows)

    assert len(spans) == 4
    assert [s.split("-")[1] for s in sent[:2]] == [CALL.split("-")[1], PAGE.split("-")[1]]
    assert sent[2].split("-")[1] != sent[3].split("-")[1]  # two events outside any trace: two new traces
    alone = [s for s in spans if s.attributes["messaging.destination.name"] == "requests.events.v1"]
    assert {s.attributes["messaging.message.id"] for s in alone} == {str(rows[0]["event_id"]), str(rows[1]["event_id"])}
    assert all(s.attributes["messaging.kafka.message.key"] == "1000106" for s in alone)


def test_a_group_with_a_refused_event_ends_in_error() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    spans = PublishSpans(provider.get_tracer("test"))
    refused, taken = row("t", PAGE), row("u", PAGE)
    spans.headers(refused), spans.headers(taken)

    spans.failed(refused, ConnectionError("broker unavailable"))
    spans.end()

    status = {s.attributes["messaging.destination.name"]: s.status for s in exporter.get_finished_spans()}
    assert status["t"].status_code is StatusCode.ERROR and "broker unavailable" in (status["t"].description or "")
    assert status["u"].status_code is StatusCode.UNSET
