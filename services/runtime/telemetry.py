"""Tracing and structured logs: one trace id from the HTTP call through every Kafka hop and SQL."""

import functools
import json
import logging
import os
import socket
import sys
import weakref
from collections.abc import Mapping, MutableMapping
from datetime import UTC, datetime
from typing import Any

from fastapi.telemetry import TelemetryConfig
from opentelemetry import trace
from opentelemetry.instrumentation._semconv import _report_new, _StabilityMode
from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor, _hydrate_span_from_args
from opentelemetry.instrumentation.utils import is_instrumentation_enabled
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.semconv.attributes.error_attributes import ERROR_TYPE
from opentelemetry.trace import SpanKind
from opentelemetry.trace.status import Status, StatusCode

_RESERVED = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with the current trace and span ids."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        context = trace.get_current_span().get_span_context()
        if context.is_valid:
            entry["trace_id"] = f"{context.trace_id:032x}"
            entry["span_id"] = f"{context.span_id:016x}"
        entry |= {key: value for key, value in record.__dict__.items() if key not in _RESERVED}
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def instance_id() -> str:
    """Which process of a service this is (the pod's name in Kubernetes, then the pid): a replica's
    spans and health answers say it, so one replica misbehaving is found among its peers."""
    return f"{socket.gethostname()}/{os.getpid()}"


def setup_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # The access log would repeat what the HTTP spans say, once per request.
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    logging.getLogger("aiokafka").setLevel(logging.WARNING)


class StatementSpans(AsyncPGInstrumentor):
    """A span per SQL statement, only inside a trace being recorded.

    OpenTelemetry's instrumentation builds each statement's attributes and span whatever the trace:
    for a statement of an unsampled trace (a non-recording span, nothing kept) and for one outside
    any trace, where it starts a trace of one span (the outbox relay's poll, every second). In the
    flow bench requests ran 134,000 such wrappers for 1,000 flows. Here those two run the statement
    bare.

    A recorded statement's span is built here too, with the same name and attributes: OpenTelemetry's
    wrapper found the connection's attributes again, ran a regular expression over the statement and
    made the span current (a context attached and detached) for every statement, and starting those
    spans was 13 % of requests' CPU under the flow bench (py-spy, 2026-12-07). Here the connection's
    attributes are found once per connection, the statement's once per text, and the span is not
    made current: nothing a statement runs starts a span of its own."""

    async def _do_execute(self, func: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        tracer = self._tracer
        if tracer is None or not trace.get_current_span().is_recording() or not is_instrumentation_enabled():
            return await func(*args, **kwargs)
        mode = self._semconv_opt_in_mode
        name, statement = _statement(args[0] if args else None, mode)
        span = tracer.start_span(name, kind=SpanKind.CLIENT, attributes={**_connection(instance, mode), **statement})
        try:
            return await func(*args, **kwargs)
        except Exception as exc:
            span.record_exception(exc)
            span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
            if _report_new(mode):
                span.set_attribute(ERROR_TYPE, type(exc).__qualname__)
            raise
        finally:
            span.end()

    async def _do_cursor_execute(self, func: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        if not trace.get_current_span().is_recording():
            return await func(*args, **kwargs)
        return await super()._do_cursor_execute(func, instance, args, kwargs)  # type: ignore[no-untyped-call]

    async def _do_prepared_execute(self, func: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        if not trace.get_current_span().is_recording():
            return await func(*args, **kwargs)
        return await super()._do_prepared_execute(func, instance, args, kwargs)  # type: ignore[no-untyped-call]


_CONNECTIONS: "weakref.WeakKeyDictionary[Any, tuple[_StabilityMode, Mapping[str, Any]]]" = weakref.WeakKeyDictionary()


def _connection(connection: Any, mode: _StabilityMode) -> Mapping[str, Any]:
    """A connection's span attributes (database, user, address), found once per connection."""
    try:
        found_mode, found = _CONNECTIONS[connection]
        if found_mode == mode:
            return found
    except KeyError:
        pass
    except TypeError:  # not weak-referenceable (a stand-in): found each time
        return dict(_hydrate_span_from_args(connection, None, None, mode))
    attributes = _hydrate_span_from_args(connection, None, None, mode)
    _CONNECTIONS[connection] = (mode, attributes)
    return attributes


@functools.lru_cache(maxsize=1024)
def _statement(query: str | None, mode: _StabilityMode) -> tuple[str, Mapping[str, Any]]:
    """A statement's span name (its first word, as OpenTelemetry names it) and its attributes without
    the connection's; the texts are our ``.sql`` files' and a few of the runtime's, so the cache
    holds them all."""
    name = query or "postgresql"
    try:
        name = AsyncPGInstrumentor._leading_comment_remover.sub("", name).split()[0]
    except IndexError:
        name = ""
    attributes = _hydrate_span_from_args(None, query, None, mode)
    return name, attributes


def setup_tracing(service_name: str, otlp_endpoint: str | None, sample_ratio: float = 1.0) -> TracerProvider:
    """Always a real SDK provider, so logs carry trace ids; spans leave only if an endpoint is set.

    ``sample_ratio``: the share of traces recorded, decided once where a trace starts (the gateway's
    call, a sweep) and followed by every hop after it (parent-based), so a trace is whole or absent.
    An unsampled trace still has its id, carried through HTTP and Kafka and written in every log line:
    only its spans are not built, which is most of tracing's cost under load.
    """
    provider = TracerProvider(
        resource=Resource.create({"service.name": service_name, "service.instance.id": instance_id()}),
        sampler=ParentBased(TraceIdRatioBased(sample_ratio)),
    )
    if otlp_endpoint:
        # Imported only when spans leave: the exporter and its protobuf are 0.12 s of CPU to import,
        # in each of the nine processes ``make run`` starts, which sets no endpoint.
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter(endpoint=otlp_endpoint.rstrip("/") + "/v1/traces", timeout=5)
        provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=200))
    trace.set_tracer_provider(provider)
    instrumentor = StatementSpans()  # type: ignore[no-untyped-call]
    if not instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.instrument(tracer_provider=provider)
    return provider


def server_spans(provider: TracerProvider, exclude_prefixes: tuple[str, ...] = ()) -> TelemetryConfig:
    """FastAPI's own OpenTelemetry support, as ``FastAPI(telemetry=...)``: one SERVER span per request,
    named by its route, in the trace the caller's ``traceparent`` names.

    Nothing else: FastAPI would also record a span per dependency, per endpoint and per
    serialization, HTTP metrics (``services/runtime/metrics.py`` keeps ours) and log records.
    It replaced ``FastAPIInstrumentor``, whose ASGI middleware ran beside FastAPI's own layer and
    wrapped every send: without it a cached debt read went from 1,026 to 1,236 req/s (``debt_http``,
    consecutive runs on 2026-12-07)."""

    def excluded(scope: MutableMapping[str, Any]) -> bool:
        return str(scope.get("path", "")).startswith(exclude_prefixes)

    return {
        "tracer_provider": provider,
        "tracing": True,
        "metrics": False,
        "logs": False,
        "operation_spans": False,
        "auto_configure": False,
        "exclude": excluded if exclude_prefixes else None,
    }
