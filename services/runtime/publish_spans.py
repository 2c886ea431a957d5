"""The outbox relay's PRODUCER spans: one per group of a batch's events that continue the same trace
to the same topic, not one per event.

A debit run's page writes 500 orders and 500 ``DebitChanged`` in one trace: a span per event cost the
relay more CPU than sending them (2026-12-07, cProfile of the debit run: 10 of 37 s in starting and
ending 100,000 spans). OpenTelemetry's messaging conventions describe this case as one send span for
a batch (``messaging.batch.message_count``). Every message still carries its own origin's trace id:
its ``traceparent`` names the group's span, which is a child of the span that wrote the event, so a
consumer's span lands in that trace as before. An event written outside any trace (a follow-up resent
by a scheduled pass) gets a span, and a trace, of its own, as before.
"""

from collections.abc import Mapping
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

_Group = tuple[str, str | None, str]  # (traceparent or the event id, tracestate, topic)


class PublishSpans:
    """Started as a batch is handed to the producer (``headers``), ended once its outcomes are known
    (``end``): a span's duration is its events' hand-over and acknowledgement."""

    def __init__(self, tracer: trace.Tracer) -> None:
        self._tracer = tracer
        self._spans: dict[_Group, Span] = {}
        self._headers: dict[_Group, list[tuple[str, bytes]]] = {}
        self._events: dict[_Group, list[tuple[str, str]]] = {}
        self._failed: dict[_Group, BaseException] = {}

    def headers(self, row: Mapping[str, Any]) -> list[tuple[str, bytes]]:
        """The trace headers of ``row``'s message: its group's span, started on the group's first row."""
        group = _group_of(row)
        self._events.setdefault(group, []).append((str(row["event_id"]), row["key"]))
        found = self._headers.get(group)
        if found is None:
            span = self._tracer.start_span(
                f"{row['topic']} publish",
                context=_parent(row),
                kind=SpanKind.PRODUCER,
                attributes={"messaging.system": "kafka", "messaging.destination.name": row["topic"]},
            )
            carrier: dict[str, str] = {}
            propagate.inject(carrier, context=trace.set_span_in_context(span))
            found = [(name, value.encode()) for name, value in carrier.items()]
            self._spans[group], self._headers[group] = span, found
        return found

    def failed(self, row: Mapping[str, Any], error: BaseException) -> None:
        """``row`` was not taken: its group's span ends in error (the first one seen)."""
        self._failed.setdefault(_group_of(row), error)

    def end(self) -> None:
        for group, span in self._spans.items():
            events = self._events[group]
            if len(events) == 1:
                [(event_id, key)] = events
                span.set_attributes({"messaging.message.id": event_id, "messaging.kafka.message.key": key})
            else:
                span.set_attribute("messaging.batch.message_count", len(events))
            error = self._failed.get(group)
            if error is not None:
                span.set_status(Status(StatusCode.ERROR, repr(error)[:300]))
            span.end()


def _group_of(row: Mapping[str, Any]) -> _Group:
    return (row["traceparent"] or str(row["event_id"]), row["tracestate"], row["topic"])


def _parent(row: Mapping[str, Any]) -> Any:
    if not row["traceparent"]:
        return None
    carrier = {"traceparent": row["traceparent"]}
    if row["tracestate"]:
        carrier["tracestate"] = row["tracestate"]
    return propagate.extract(carrier)
