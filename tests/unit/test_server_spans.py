"""One SERVER span per HTTP call, in the caller's trace, named by its route (services/runtime/telemetry.py)."""

import httpx
from fastapi import FastAPI
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ParentBased
from opentelemetry.trace import SpanKind

from services.runtime.telemetry import server_spans

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"


def _app(provider: TracerProvider) -> FastAPI:
    app = FastAPI(telemetry=server_spans(provider, exclude_prefixes=("/health/",)))

    @app.get("/v1/affiliates/{numero}/debt")
    async def debt(numero: str) -> dict[str, str]:
        return {"numero": numero}

    @app.get("/health/live")
    async def live() -> dict[str, str]:
        return {"status": "ok"}

    return app


async def _get(app: FastAPI, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        return await client.get(path, headers=headers)


async def test_a_call_has_one_server_span_in_the_callers_trace_named_by_its_route() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    app = _app(provider)

    answer = await _get(app, "/v1/affiliates/1234567/debt", {"traceparent": f"00-{TRACE_ID}-{PARENT_ID}-01"})
    await _get(app, "/health/live")

    assert answer.status_code == 200
    [span] = exporter.get_finished_spans()  # none for the health check, none per dependency or send
    assert span.name == "GET /v1/affiliates/{numero}/debt"
    assert span.kind is SpanKind.SERVER
    assert f"{span.context.trace_id:032x}" == TRACE_ID
    assert span.parent is not None and f"{span.parent.span_id:016x}" == PARENT_ID
    assert span.attributes is not None
    assert span.attributes["http.route"] == "/v1/affiliates/{numero}/debt"
    assert span.attributes["http.response.status_code"] == 200


async def test_an_unsampled_trace_records_no_span() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(sampler=ParentBased(ALWAYS_OFF))
    provider.add_span_processor(SimpleSpanProcessor(exporter))

    answer = await _get(_app(provider), "/v1/affiliates/1234567/debt")

    assert answer.status_code == 200
    assert exporter.get_finished_spans() == ()
