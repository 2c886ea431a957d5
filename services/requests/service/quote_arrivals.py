"""Validation may arrive before the quote it names: simulation answered the portal, and its event is
still on its way to this service. With the quote's seal (``services/runtime/seals.py``) the
validation takes the quote from it at once; without one it waits for the event, briefly."""

import asyncio
import contextlib
import logging
from collections import defaultdict
from uuid import UUID

import asyncpg

from contracts.refusals import Refusal
from contracts.simulation import Quote
from services.requests.adapters.repository import ProjectionRepository
from services.runtime.db import TimedPool
from services.runtime.seals import InvalidSeal, SealVerifier
from services.runtime.turns import Priority

log = logging.getLogger(__name__)
CHANNEL = "quote_arrived"


class QuoteArrivals:
    """One LISTEN connection for the whole service; each waiting validation registers a future."""

    def __init__(self, dsn: str, reconnect_pause: float = 1.0) -> None:
        self._dsn = dsn
        self._conn: asyncpg.Connection | None = None
        self._waiters: dict[UUID, list[asyncio.Future[None]]] = defaultdict(list)
        self._reconnect_pause = reconnect_pause
        self._reconnecting: asyncio.Task[None] | None = None
        self._stopped = False

    async def start(self) -> None:
        await self._listen()

    async def _listen(self) -> None:
        conn = await asyncpg.connect(self._dsn)
        await conn.add_listener(CHANNEL, self._arrived)
        conn.add_termination_listener(self._lost)
        self._conn = conn

    def _lost(self, _conn: object) -> None:
        # Without the listener every early validation would wait its whole timeout: listen again.
        if not self._stopped and (self._reconnecting is None or self._reconnecting.done()):
            self._reconnecting = asyncio.get_running_loop().create_task(self._relisten())

    async def _relisten(self) -> None:
        # Any failure is retried, not only the network's and Postgres's: an error of another kind (a
        # driver's InterfaceError, say) ended this task for good, and every validation without a seal
        # then waited its whole timeout until the service restarted (security review of 2026-12-04).
        while not self._stopped:
            try:
                await self._listen()
                log.info("listening for quotes again")
                return
            except Exception:
                log.warning("quote listener lost; retrying", exc_info=True)
                await asyncio.sleep(self._reconnect_pause)

    async def stop(self) -> None:
        self._stopped = True
        if self._reconnecting is not None:
            self._reconnecting.cancel()
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.close(timeout=2)

    def _arrived(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        with contextlib.suppress(ValueError):
            for future in self._waiters.pop(UUID(payload), []):
                if not future.done():
                    future.set_result(None)

    async def get(self, pool: TimedPool, quote_id: UUID, timeout: float) -> Quote | None:
        """The quote, waiting up to ``timeout`` seconds for it to arrive (holding no connection)."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters[quote_id].append(future)  # before looking: an arrival in between is not missed
        try:
            async with pool.acquire_as(Priority.FINISHING) as conn:
                quote = await ProjectionRepository(conn).quote(quote_id)
            if quote is not None:
                return quote
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(future, timeout)
            # Look again even after a timeout: a lost LISTEN connection must not lose the quote.
            async with pool.acquire_as(Priority.FINISHING) as conn:
                return await ProjectionRepository(conn).quote(quote_id)
        finally:
            waiting = self._waiters.get(quote_id)
            if waiting and future in waiting:
                waiting.remove(future)
                if not waiting:
                    del self._waiters[quote_id]


class SealRefused(Refusal):
    """A seal that is not simulation's, or not of the quote named. The caller is told only that;
    the log says why."""

    def __init__(self) -> None:
        message = "Ce devis n'est pas authentique. Veuillez relancer la simulation."
        super().__init__("sceau-invalide", message, kind="invalid")


def opened_seal(verifier: SealVerifier, quote_id: UUID, seal: str) -> Quote:
    """The quote a seal carries, if the seal is simulation's and of the quote named (CPU only: done
    before taking a connection)."""
    try:
        quote = Quote.model_validate_json(verifier.open(seal))
    except (InvalidSeal, ValueError) as exc:
        log.warning("quote seal refused", extra={"quote_id": str(quote_id), "why": str(exc)[:200]})
        raise SealRefused() from None
    if quote.quote_id != quote_id:
        log.warning("quote seal refused", extra={"quote_id": str(quote_id), "why": f"seal of {quote.quote_id}"})
        raise SealRefused()
    return quote


async def kept_sealed_quote(conn: asyncpg.Connection, quote: Quote) -> Quote:
    """A sealed quote, recorded in the projection as if its event had arrived (the event, when it
    comes, changes nothing: same quote id). The projection's copy wins when it has one."""
    return await ProjectionRepository(conn).keep_quote(quote)
