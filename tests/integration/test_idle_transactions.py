"""A session of ours frozen inside a transaction does not hold its row locks for ever.

Seen in a fault test (2026-12-07): debt, stopped (SIGSTOP) while its consumer's transaction held
an inbox row, kept that row locked; the debt started beside it to take over claimed the same event
and waited on the lock until its statement timed out, 60 s, twice, and the remission never came.
A pool's sessions now end when they sit in a transaction longer than ``IDLE_IN_TRANSACTION_S``
between two statements (60 s in the services; 0.5 s here), and the error their owner meets then is
an outage to retry, never a poison to dead-letter."""

import time

import asyncpg
import pytest

from services.runtime.db import IDLE_IN_TRANSACTION_S, create_pool
from services.runtime.poison import is_transient

pytestmark = pytest.mark.integration


async def test_a_transaction_left_idle_ends_with_its_session_and_releases_its_row_locks(database: str) -> None:
    frozen = await create_pool(database, size=1, idle_in_transaction_s=0.5)
    other = await asyncpg.connect(database)
    try:
        await other.execute("CREATE TABLE inbox (event_id int PRIMARY KEY)")
        async with frozen.acquire() as conn:
            transaction = conn.transaction()
            await transaction.start()
            await conn.execute("INSERT INTO inbox VALUES (1)")  # claimed, not committed: then frozen

            started = time.monotonic()
            # The one taking over claims the same event: it waits for the frozen claim, then finds none.
            await other.execute("INSERT INTO inbox VALUES (1) ON CONFLICT DO NOTHING", timeout=10)
            waited = time.monotonic() - started
            assert 0.3 < waited < 5, waited
            assert await other.fetchval("SELECT count(*) FROM inbox") == 1  # the taker's own claim

            with pytest.raises(Exception) as ended:
                await conn.execute("SELECT 1")
            # asyncpg saw the session end (InterfaceError: closed); a statement sent as it ended
            # meets Postgres's 25P03 instead: both are an outage, the batch read again, nothing dead-lettered.
            assert is_transient(ended.value), repr(ended.value)
            assert is_transient(asyncpg.IdleInTransactionSessionTimeoutError("terminating connection"))
            with pytest.raises(Exception):  # noqa: B017  # the session is gone: so is its transaction
                await transaction.rollback()
        async with frozen.acquire() as conn:  # the pool hands out a live session again
            assert await conn.fetchval("SELECT count(*) FROM inbox") == 1
    finally:
        await other.close()
        await frozen.close()


async def test_the_services_pools_bound_an_idle_transaction_at_a_minute(database: str) -> None:
    pool = await create_pool(database, size=1)
    try:
        async with pool.acquire() as conn:
            assert await conn.fetchval("SHOW idle_in_transaction_session_timeout") == "1min"
        assert IDLE_IN_TRANSACTION_S == 60.0
    finally:
        await pool.close()
