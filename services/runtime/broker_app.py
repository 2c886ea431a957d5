"""The HTTP side of a process that only consumes and publishes, with no database and no outbox (the
partner stand-ins): it starts the broker and a producer for dead letters, answers health, learns the
topics again when the embedded stack restarted its broker, and stops each part within a bound."""

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from faststream.kafka import KafkaBroker
from opentelemetry.sdk.trace import TracerProvider

from services.runtime.broker_replaced import BROKER_REPLACED, listen
from services.runtime.dlq import DeadLetters
from services.runtime.kafka import create_producer, on_broker_replaced, start_consuming
from services.runtime.settings import ServiceSettings

log = logging.getLogger(__name__)


def create_broker_app(
    *,
    title: str,
    settings: ServiceSettings,
    broker: KafkaBroker,
    tracer_provider: TracerProvider,
    dead_letters: list[DeadLetters],
    on_started: Callable[[], None] = lambda: None,
) -> FastAPI:
    """``dead_letters`` gets its sender once the producer is up (the subscribers hold the list)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        producer = create_producer(settings)
        await producer.start()
        dead_letters.append(DeadLetters(producer, settings.service_name))
        await start_consuming(broker, settings)
        # after a broker restart: no commit of the lost broker's positions, and a topic the launcher
        # remade learnt at once rather than at the next metadata refresh (``kafka.on_broker_replaced``)
        listen(BROKER_REPLACED, lambda: on_broker_replaced(broker, producer))
        on_started()
        try:
            yield
        finally:
            listen(BROKER_REPLACED, None)
            for name, stop in (("broker", broker.stop), ("producer", producer.stop)):
                try:
                    await asyncio.wait_for(stop(), 5.0)
                except Exception:
                    log.warning("stop step cut short", extra={"step": name}, exc_info=True)
            tracer_provider.force_flush(timeout_millis=2000)

    app = FastAPI(title=title, version="1", lifespan=lifespan)

    @app.get("/health/live")
    async def live() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/health/ready")
    async def ready() -> JSONResponse:
        """Ready when the broker answers; ``service`` says who answers (the launcher checks it)."""
        try:
            ok = bool(await broker.ping(timeout=2))
        except Exception:
            ok = False
        body = {"status": "ok" if ok else "unavailable", "service": settings.service_name}
        return JSONResponse(body, status_code=200 if ok else 503)

    return app
