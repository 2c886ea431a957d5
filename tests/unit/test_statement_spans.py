"""SQL statements are traced inside a recorded trace only (services/runtime/telemetry.py)."""

from typing import Any

from opentelemetry.instrumentation._semconv import _StabilityMode
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ParentBased, TraceIdRatioBased

from services.runtime.telemetry import StatementSpans


class _Connection:
    _params = None
    _addr = ("127.0.0.1", 5432)


async def _statement(*args: Any, **kwargs: Any) -> str:
    return "done"


async def test_a_statement_has_its_span_in_a_recorded_trace_and_none_outside_one() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(sampler=ParentBased(TraceIdRatioBased(1.0)))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    unsampled = TracerProvider(sampler=ALWAYS_OFF)
    spans = StatementSpans()  # type: ignore[no-untyped-call]  # the process's one instance
    saved = dict(spans.__dict__)
    spans._tracer = provider.get_tracer("test")
    spans._semconv_opt_in_mode = _StabilityMode.DEFAULT
    try:
        call: tuple[Any, ...] = (_statement, _Connection(), ("SELECT 1",), {})
        assert await spans._do_execute(*call) == "done"  # outside any trace: no trace of one span
        with unsampled.get_tracer("test").start_as_current_span("not sampled"):
            assert await spans._do_execute(*call) == "done"
        assert exporter.get_finished_spans() == ()
        with provider.get_tracer("test").start_as_current_span("POST /v1/requests") as parent:
            assert await spans._do_execute(*call) == "done"
        [statement] = [s for s in exporter.get_finished_spans() if s.name == "SELECT"]
        assert statement.parent is not None and statement.parent.span_id == parent.get_span_context().span_id
        assert statement.attributes is not None and statement.attributes["db.statement"] == "SELECT 1"
    finally:
        spans.__dict__.clear()
        spans.__dict__.update(saved)
