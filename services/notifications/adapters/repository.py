"""notifications' tables: what it keeps of others' events, and the notifications themselves. Takes a
connection: the caller owns the transaction."""

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import asyncpg

from services.notifications.domain.decisions import RequestView
from services.notifications.domain.notices import Channel, Notice
from services.runtime.db import load_queries, rows

_Q = load_queries(Path(__file__).parent / "sql" / "notifications.sql")


@dataclass(frozen=True)
class Contact:
    affiliate: str
    email: str | None
    mobile: str | None
    language: str


@dataclass(frozen=True)
class UpcomingDebit:
    request_id: str
    sequence: int
    affiliate: str
    amount: str
    state: str
    next_on: date | None
    attempt: int
    bank_account_id: str | None = None


@dataclass(frozen=True)
class Claimed:
    """A notification taken for sending."""

    id: str
    affiliate: str
    request_id: str | None
    kind: str
    channel: Channel
    facts: dict[str, str]
    attempts: int
    traceparent: str | None


@dataclass(frozen=True)
class Sent:
    id: str
    kind: str
    channel: str
    request_id: str | None
    state: str
    created_at: datetime
    sent_at: datetime | None
    subject: str | None


def _view(row: Any) -> RequestView:
    return RequestView(**dict(row))


class NotificationRepository:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    # --- what others told us ---------------------------------------------------------------------

    async def save_contact(self, contact: Contact) -> None:
        await _Q.upsert_contact(
            self._conn,
            affiliate=contact.affiliate,
            email=contact.email,
            mobile=contact.mobile,
            language=contact.language,
        )

    async def contact(self, affiliate: str) -> Contact | None:
        row = await _Q.contact(self._conn, affiliate=affiliate)
        return Contact(**dict(row)) if row else None

    async def request_view(self, request_id: str) -> RequestView | None:
        """Locked until the transaction ends: two events of one request apply one after the other."""
        row = await _Q.request_view(self._conn, request_id=request_id)
        return _view(row) if row else None

    async def save_request_view(self, view: RequestView) -> None:
        await _Q.save_request_view(self._conn, **view.__dict__)

    async def awaiting_guarantees(self, until: date) -> list[RequestView]:
        return [_view(r) for r in await rows(_Q.awaiting_guarantees(self._conn, until=until))]

    async def replace_accounts(self, affiliate: str, version: int, accounts: list[tuple[str, str, str]]) -> None:
        await _Q.replace_accounts(
            self._conn,
            affiliate=affiliate,
            version=version,
            ids=[a[0] for a in accounts],
            bank_names=[a[1] for a in accounts],
            ribs_masked=[a[2] for a in accounts],
        )

    async def bank_account(self, affiliate: str, account_id: str) -> tuple[str, str] | None:
        row = await _Q.bank_account(self._conn, affiliate=affiliate, id=account_id)
        return (row["bank_name"], row["rib_masked"]) if row else None

    async def save_debit(self, debit: UpcomingDebit) -> None:
        """Kept unless an event of a later attempt is already kept (events of one plan may come late)."""
        await _Q.save_debit(
            self._conn,
            request_id=debit.request_id,
            sequence=debit.sequence,
            affiliate=debit.affiliate,
            amount=debit.amount,
            state=debit.state,
            next_on=debit.next_on,
            attempt=debit.attempt,
        )

    async def debits_presented_between(self, first: date, last: date) -> list[UpcomingDebit]:
        found = await rows(_Q.debits_presented_between(self._conn, first=first, last=last))
        return [UpcomingDebit(**dict(r)) for r in found]

    async def debit(self, request_id: str, sequence: int) -> tuple[str, date | None, int] | None:
        row = await _Q.debit(self._conn, request_id=request_id, sequence=sequence)
        return (row["state"], row["next_on"], row["attempt"]) if row else None

    # --- what we tell ----------------------------------------------------------------------------

    async def add(self, notice: Notice, channel: Channel, traceparent: str | None, now: datetime) -> bool:
        """False when this fact was already told on this channel."""
        added = await _Q.add_notification(
            self._conn,
            id=str(uuid4()),
            dedupe_key=notice.dedupe_key(channel),
            affiliate=notice.affiliate,
            request_id=notice.request_id,
            kind=notice.kind,
            channel=channel,
            facts=json.dumps(notice.facts),
            traceparent=traceparent,
            now=now,
        )
        return added is not None

    async def claim_due(self, now: datetime, lease: timedelta, limit: int) -> list[Claimed]:
        found = await rows(_Q.claim_due(self._conn, now=now, lease=lease, limit=limit))
        return [
            Claimed(
                id=r["id"],
                affiliate=r["affiliate"],
                request_id=r["request_id"],
                kind=r["kind"],
                channel=r["channel"],
                facts=json.loads(r["facts"]),
                attempts=r["attempts"],
                traceparent=r["traceparent"],
            )
            for r in found
        ]

    async def mark_sent(self, id: str, language: str, recipient: str, subject: str, at: datetime) -> None:
        await _Q.mark_sent(self._conn, id=id, language=language, recipient=recipient, subject=subject, sent_at=at)

    async def mark_skipped(self, id: str, why: str) -> None:
        await _Q.mark_skipped(self._conn, id=id, why=why)

    async def mark_failed(self, id: str, why: str) -> None:
        await _Q.mark_failed(self._conn, id=id, why=why)

    async def retry_later(self, id: str, at: datetime, why: str) -> None:
        await _Q.retry_later(self._conn, id=id, at=at, why=why)

    async def of_affiliate(self, affiliate: str, most: int = 2000) -> list[Sent]:
        return [Sent(**dict(r)) for r in await rows(_Q.of_affiliate(self._conn, affiliate=affiliate, most=most))]

    async def count_per_state(self) -> dict[str, int]:
        return {r["state"]: r["n"] for r in await rows(_Q.count_per_state(self._conn))}

    async def failed(self, limit: int) -> list[dict[str, Any]]:
        return [dict(r) for r in await rows(_Q.failed(self._conn, limit=limit))]

    async def requeue_failed(self, ids: list[str] | None) -> int:
        return int(await _Q.requeue_failed(self._conn, ids=ids))

    async def purge(self, before: datetime) -> int:
        count: int = await _Q.purge(self._conn, before=before)
        return count
