"""One-shot actions on requests' own database: what the CLI runs (the sweep for a given date, a reopening)."""

from datetime import date, datetime
from uuid import UUID

from services.requests.config import RequestsSettings
from services.requests.domain.request import RemissionRequest
from services.requests.entrypoints.dependencies import context_of
from services.requests.service.lifecycle import reopen, sweep
from services.runtime.clock import BUSINESS_TZ, SystemClock
from services.runtime.db import one_connection


async def run_sweep(database_url: str, on: str | None = None) -> dict[str, int]:
    """Sweep as of now, or as of 00:00 in Casablanca on the day ``on`` (AAAA-MM-JJ): tests and
    operators move time instead of waiting. The events go to the outbox; the service sends them."""
    at = datetime.combine(date.fromisoformat(on), datetime.min.time(), BUSINESS_TZ) if on else SystemClock().now()
    ctx = context_of(RequestsSettings(database_url=database_url), SystemClock())
    async with one_connection(database_url) as conn:
        return await sweep(conn, ctx, at)


async def reopen_request(database_url: str, request_id: UUID, operator_name: str, why: str) -> RemissionRequest:
    """``recouvrement requests reopen``: the use case, with the service's own rules and clock; the
    validation's events go to the outbox, the service sends them."""
    ctx = context_of(RequestsSettings(database_url=database_url), SystemClock())
    async with one_connection(database_url) as conn:
        return await reopen(conn, ctx, request_id, operator_name, why)
