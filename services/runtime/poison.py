"""Poison or outage: how a consumer tells a message that will never apply from a failure that will pass.

- **Transient** (``is_transient``): the database or the broker is away or busy (a lost or refused
  connection, too many connections, a server starting or shutting down, a timeout, a lock or
  serialization conflict, any Kafka error, any ``OSError``). The batch is read again after a pause
  that doubles at each failure, up to ``RETRY_CEILING_S``.
- **Poison**: anything else. The same message raises it again however often it is retried (a
  contract violation, a business refusal, a value the database refuses, a bug the message triggers):
  that one message is dead-lettered with the exception's type and text, the partition moves on.
- **The cap** (``CONSUMER_MAX_ATTEMPTS``): a transient error raised while applying one record, while
  the database and the broker answer, is charged to that record; once it has used its tries, the
  record is dead-lettered instead of applied (a statement timing out on this record only, a handler
  that turns a bug into an ``OSError``). During an outage (the probe fails) nothing is charged:
  an outage delays messages, it never dead-letters them.
- **Unreadable records** (``record_problem``): a header value that is not UTF-8 or is null, or no
  value at all (a tombstone), is dead-lettered as it came. ``tolerant_parser`` lets such a record
  through FastStream (whose own parser raises on it, outside any handler, and the record was lost).

Tries are counted in memory, per record (topic, partition, offset): a restart or a rebalance gives a
record its tries again, which bounds the delay all the same.
"""

import asyncio
import logging
import re
import traceback
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import replace
from typing import Any, TypeAlias

import asyncpg
from aiokafka import ConsumerRecord
from aiokafka.errors import KafkaError
from faststream.exceptions import NackMessage
from pydantic import ValidationError

log = logging.getLogger(__name__)

RETRY_BASE_S = 0.25
RETRY_CEILING_S = 10.0
_FORGET_ABOVE = 10_000  # charged records whose partition moved to another member are never read here again

# Errors the same message raises again however often it is retried: poison, not an outage.
DATA_ERRORS = (asyncpg.DataError, asyncpg.IntegrityConstraintViolationError)

TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    OSError,  # refused or reset connections, DNS, a full disk
    TimeoutError,
    asyncpg.PostgresConnectionError,  # 08: connection lost or refused
    asyncpg.InterfaceError,  # the client side of a lost connection, a pool closing
    asyncpg.InsufficientResourcesError,  # 53: TooManyConnectionsError, out of memory or disk
    asyncpg.OperatorInterventionError,  # 57: CannotConnectNowError, shutdown, statement timeout
    asyncpg.TransactionRollbackError,  # 40: serialization failure, deadlock
    asyncpg.LockNotAvailableError,  # 55P03: lock_timeout
    asyncpg.ReadOnlySQLTransactionError,  # 25006: a failover under way
    asyncpg.IdleInTransactionSessionTimeoutError,  # 25P03: the session sat in its transaction too long (db.py)
    asyncpg.PostgresSystemError,  # 58: I/O error on the server
    KafkaError,  # the dead letters' or the answers' producer
)


class Unapplicable(Exception):
    """A valid message the handler can never apply: dead-lettered with this reason, never retried."""


KNOWN_REFUSALS = (Unapplicable, *DATA_ERRORS)
"""Poison a handler foresees: dead-lettered without an error log (others are bugs, logged with where)."""


RecordKey: TypeAlias = tuple[str, int, int]
Record: TypeAlias = ConsumerRecord[Any, Any]


def record_key(record: Record) -> RecordKey:
    return (record.topic, record.partition, record.offset)


def is_transient(exc: BaseException) -> bool:
    """True for an outage (retry later), False for poison (dead-letter now). An exception raised
    ``from`` a transient one is transient too."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, TRANSIENT_ERRORS):
            return True
        seen = seen.__cause__
    return False


def validation_reason(exc: ValidationError) -> str:
    """Where and why, never the input (it may hold a RIB)."""
    parts = []
    for error in exc.errors(include_url=False):
        path = ".".join(str(p) for p in error["loc"])
        parts.append(f"{path}: {error['msg']}" if path else error["msg"])
    return "; ".join(parts)


def describe(exc: BaseException) -> str:
    """The dead letter's reason: the exception's type and text."""
    if isinstance(exc, Unapplicable):
        return f"inapplicable : {exc}"
    if isinstance(exc, DATA_ERRORS):
        return f"refusé par la base : {type(exc).__name__}: {exc}"
    if isinstance(exc, ValidationError):
        return f"ValidationError: {validation_reason(exc)}"
    name, text = type(exc).__name__, str(exc)
    if text.startswith(name):  # Kafka's errors name themselves
        return text
    return f"{name}: {text}" if text else name


_LONG_NUMBER = re.compile(r"\d{12,}")


def redact(text: str, limit: int = 300) -> str:
    """For logs: long digit runs (a RIB has 24) keep their last 4 digits only."""
    return _LONG_NUMBER.sub(lambda m: "*" * (len(m.group()) - 4) + m.group()[-4:], text[:limit])


def where(exc: BaseException) -> str:
    """The last frames of a poison's traceback, without its message (which may hold data)."""
    return "".join(traceback.format_tb(exc.__traceback__)[-3:])


def record_problem(record: Record) -> str | None:
    """Why a record cannot be read at all, or None. Headers are checked before the value."""
    for name, value in record.headers or ():
        if value is None:
            return f"illisible : l'en-tête {name!r} n'a pas de valeur (null)"
        try:
            bytes(value).decode()
        except UnicodeDecodeError:
            return f"illisible : l'en-tête {name!r} n'est pas de l'UTF-8"
    if record.value is None:
        return "illisible : pas de valeur (tombstone)"
    return None


def text_headers(record: Record) -> dict[str, str]:
    """Headers as text, whatever they hold (for trace propagation): never raises."""
    return {name: bytes(value).decode(errors="replace") for name, value in (record.headers or ()) if value is not None}


def _readable(record: Record) -> Record:
    headers = record.headers or ()
    if all(value is not None and _is_utf8(value) for _, value in headers):
        return record
    clean = [
        (name, b"" if value is None else bytes(value).decode(errors="replace").encode()) for name, value in headers
    ]
    copy = replace(record, headers=clean)
    if hasattr(record, "consumer"):  # FastStream's per-partition subscribers tag each record with its consumer
        copy.consumer = record.consumer
    return copy


def _is_utf8(value: bytes) -> bool:
    try:
        bytes(value).decode()
    except UnicodeDecodeError:
        return False
    return True


async def tolerant_parser(message: Record | tuple[Record, ...], original: Callable[..., Awaitable[Any]]) -> Any:
    """A FastStream parser (``parser=tolerant_parser``) that never raises on a record's headers.

    FastStream's own decodes every header value as UTF-8, outside the handler: a value that is not,
    or a null one, raised there, and the record (with the rest of its batch) was neither handled nor
    dead-lettered. This one hands FastStream copies with readable headers, then gives the handler
    the records as they came (``raw_message``), so it can dead-letter them byte for byte.
    """
    if isinstance(message, tuple):
        parsed = await original(tuple(_readable(r) for r in message))
    else:
        parsed = await original(_readable(message))
    parsed.raw_message = message
    return parsed


class Retries:
    """One consumer's memory between two reads of records it failed to apply: the tries charged to
    each record, the pause before the next read, and whether to apply the next one message by message.

    ``infrastructure_up`` probes the database and the broker (never raises): a failure while they
    answer is the record's doing, a failure while they do not is an outage.
    """

    def __init__(
        self,
        consumer: str,
        max_attempts: int,
        infrastructure_up: Callable[[], Awaitable[bool]],
        *,
        base_s: float = RETRY_BASE_S,
        ceiling_s: float = RETRY_CEILING_S,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.consumer = consumer
        self.max_attempts = max_attempts
        self.infrastructure_up = infrastructure_up
        self.base_s = base_s
        self.ceiling_s = ceiling_s
        self.sleep = sleep
        self.charged: dict[RecordKey, tuple[int, str]] = {}
        self.failures = 0
        """consecutive failed reads"""
        self.careful = False
        """the last failure could not be pinned on one record while everything answered: apply the
        next read one message at a time, so that it can"""

    def spent(self, record: Record) -> str | None:
        """The dead letter's reason if ``record`` used up its tries, else None."""
        tries, reason = self.charged.get(record_key(record), (0, ""))
        if tries < self.max_attempts:
            return None
        return f"abandonné après {tries} tentatives : {reason}"

    def delay(self) -> float:
        return float(min(self.ceiling_s, self.base_s * 2 ** max(0, self.failures - 1)))

    async def failed(self, exc: BaseException, culprit: Record | None, records: Iterable[Record]) -> None:
        """Charge ``culprit`` (the record being applied when ``exc`` escaped) if the database and the
        broker answer, log the retry, and wait before the records are read again.

        The caller then raises ``NackMessage() from exc``: FastStream rewinds each partition to the
        first record it handed over (``NACK_ON_ERROR`` would too, but also log the traceback at
        ERROR at every retry of an outage, which the retry warning already says)."""
        self.failures += 1
        try:
            up = await self.infrastructure_up()
        except Exception:  # a probe must not turn a retry into a crash
            up = False
        reason = describe(exc)
        tries = None
        if culprit is not None and up:
            key = record_key(culprit)
            tries = self.charged.get(key, (0, ""))[0] + 1
            self.charged[key] = (tries, reason)
        self.careful = self.careful or (culprit is None and up)
        delay = self.delay()
        first = culprit or next(iter(records), None)
        log.warning(
            "consumer retry" if up else "consumer retry: database or broker unavailable",
            extra={
                "consumer": self.consumer,
                "topic": first.topic if first else None,
                "partition": first.partition if first else None,
                "offset": first.offset if first else None,
                "attempt": tries,
                "max_attempts": self.max_attempts,
                "transient": is_transient(exc),
                "reason": redact(reason),
                "retry_in_s": delay,
            },
        )
        await self.sleep(delay)

    def succeeded(self, records: Iterable[Record]) -> None:
        self.failures = 0
        self.careful = False
        if self.charged:
            for record in records:
                self.charged.pop(record_key(record), None)
            if len(self.charged) > _FORGET_ABOVE:
                self.charged.clear()

    async def one(
        self,
        record: Record,
        handle: Callable[[], Awaitable[None]],
        dead_letter: Callable[[Record, str], Awaitable[None]],
    ) -> None:
        """The whole rule for a subscriber that takes one record at a time (the partners):
        unreadable, spent or poison → dead-lettered; transient → nacked after the pause, so the
        record is read again."""
        try:
            reason = record_problem(record) or self.spent(record)
            if reason is None:
                try:
                    await handle()
                except Exception as exc:
                    if is_transient(exc):
                        raise
                    reason = describe(exc)
                    if not isinstance(exc, (ValidationError, *KNOWN_REFUSALS)):  # validation is handle's own
                        log.error("poison message", extra=self.context(record, reason) | {"where": where(exc)})
            if reason is not None:
                await dead_letter(record, reason)
        except Exception as exc:
            await self.failed(exc, record, (record,))
            raise NackMessage() from exc  # read again: the offsets rewind to the records
        self.succeeded((record,))

    def context(self, record: Record, reason: str) -> dict[str, Any]:
        return {
            "consumer": self.consumer,
            "topic": record.topic,
            "partition": record.partition,
            "offset": record.offset,
            "reason": redact(reason),
        }
