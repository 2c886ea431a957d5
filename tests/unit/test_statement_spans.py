"""SQL statements are traced inside a recorded trace only (services/runtime/telemetry.py)."""

from typing import Any, NamedTuple

import pytest
from opentelemetry.instrumentation._semconv import _StabilityMode
from opentelemetry.instrumentation.asyncpg import _hydrate_span_from_args
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ParentBased, TraceIdRatioBased
from opentelemetry.trace import SpanKind, StatusCode

from services.runtime.telemetry import StatementSpans


class _Params(NamedTuple):
    database: str
    user: str


class _Connection:
    def __init__(self, database: str = "requests", addr: tuple[str, int] | str = ("127.0.0.1", 5432)) -> None:
        self._params = _Params(database, "postgres")
        self._addr = addr


async def _statement(*args: Any, **kwargs: Any) -> str:
    return "done"


async def _refused(*args: Any, **kwargs: Any) -> str:
    raise ValueError("refusé")


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


async def test_a_statements_span_has_the_name_and_attributes_opentelemetry_gives_it_per_connection() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    spans = StatementSpans()  # type: ignore[no-untyped-call]
    saved = dict(spans.__dict__)
    spans._tracer = provider.get_tracer("test")
    spans._semconv_opt_in_mode = _StabilityMode.DEFAULT
    first, second = _Connection("requests"), _Connection("debt", "/run/postgresql/.s.PGSQL.5432")
    query = "/* a comment */ UPDATE request SET state = $1 WHERE id = $2"
    try:
        with provider.get_tracer("test").start_as_current_span("PUT /v1/requests/{id}/modality"):
            for conn in (first, second, first):
                assert await spans._do_execute(_statement, conn, (query, "X", 1), {}) == "done"
            with pytest.raises(ValueError, match="refusé"):
                await spans._do_execute(_refused, second, ("SELECT 1",), {})
        statements = [s for s in exporter.get_finished_spans() if s.kind == SpanKind.CLIENT]
        assert [s.name for s in statements] == ["UPDATE", "UPDATE", "UPDATE", "SELECT"]
        expected = [
            _hydrate_span_from_args(conn, q, None, _StabilityMode.DEFAULT)
            for conn, q in ((first, query), (second, query), (first, query), (second, "SELECT 1"))
        ]
        assert [dict(s.attributes or {}) for s in statements] == expected
        assert statements[0].attributes is not None and statements[0].attributes["db.name"] == "requests"
        assert statements[1].attributes is not None and statements[1].attributes["db.name"] == "debt"
        assert [s.status.status_code for s in statements] == [StatusCode.UNSET] * 3 + [StatusCode.ERROR]
        assert [e.name for e in statements[3].events] == ["exception"]
    finally:
        spans.__dict__.clear()
        spans.__dict__.update(saved)
