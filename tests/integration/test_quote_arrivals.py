"""requests' quote listener (``service/quote_arrivals.py``) comes back after any failure.

Security review 2026-12-04: its reconnect loop retried OSError and PostgresError only; anything else
(a driver's InterfaceError) ended it, and every validation without a seal then waited its whole
timeout until the service restarted."""

import asyncio
import uuid

import asyncpg
import pytest

from services.requests.service import quote_arrivals
from services.requests.service.quote_arrivals import CHANNEL, QuoteArrivals
from tests.support import eventually

pytestmark = pytest.mark.integration


async def test_the_listener_comes_back_after_an_error_of_any_kind(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    arrivals = QuoteArrivals(database, reconnect_pause=0.05)
    await arrivals.start()
    connect = asyncpg.connect
    failures = [asyncpg.InterfaceError("cannot perform operation"), RuntimeError("anything else")]

    async def failing_then_connecting(*args: object, **kwargs: object) -> asyncpg.Connection:
        if failures:
            raise failures.pop(0)
        return await connect(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(quote_arrivals.asyncpg, "connect", failing_then_connecting)
    admin = await connect(database)
    try:
        first = arrivals._conn
        assert first is not None
        await admin.execute("SELECT pg_terminate_backend($1)", first.get_server_pid())

        async def listening_again() -> bool:
            return not failures and arrivals._conn is not None and arrivals._conn is not first

        await eventually(listening_again, timeout=20)
        quote_id = uuid.uuid4()
        waiter = asyncio.get_running_loop().create_future()
        arrivals._waiters[quote_id].append(waiter)

        async def heard() -> bool:
            await admin.execute(f"NOTIFY {CHANNEL}, '{quote_id}'")
            await asyncio.sleep(0.05)
            return waiter.done()

        await eventually(heard, timeout=20)
    finally:
        await admin.close()
        await arrivals.stop()
