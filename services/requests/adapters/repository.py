"""Requests and projections in Postgres. Takes a connection: the caller owns the transaction."""

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
from pydantic import TypeAdapter

from contracts.debits import BankAccount
from contracts.debt import Perception
from contracts.requests import Actor, Guarantee
from contracts.simulation import Quote, ScheduledDebit
from services.requests.domain.eligibility import ArrangementFact
from services.requests.domain.obligations import Contribution
from services.requests.domain.request import HistoryEntry, RemissionRequest
from services.runtime.db import load_queries, rows

_Q = load_queries(Path(__file__).parent / "sql")
_SCHEDULE = TypeAdapter(list[ScheduledDebit])
_ACCOUNTS = TypeAdapter(list[BankAccount])


def request_of(row: asyncpg.Record) -> RemissionRequest:
    return RemissionRequest(
        id=row["id"],
        affiliate=row["affiliate"],
        programme=row["programme"],
        state=row["state"],
        created_at=row["created_at"],
        last_activity_at=row["last_activity_at"],
        modality=row["modality"],
        guarantee_obligation_accepted=row["guarantee_obligation_accepted"],
        bank_account_id=row["bank_account_id"],
        quote=Quote.model_validate_json(row["quote"]) if row["quote"] else None,
        cg_version=row["cg_version"],
        guarantee_deadline=row["guarantee_deadline"],
        validation_date=row["validation_date"],
        schedule=_SCHEDULE.validate_json(row["schedule"]),
        guarantee=Guarantee.model_validate_json(row["guarantee"]) if row["guarantee"] else None,
        guarantee_perception=(
            Perception.model_validate_json(row["guarantee_perception"]) if row["guarantee_perception"] else None
        ),
    )


@dataclass(frozen=True)
class PositionFact:
    version: int
    remissible: Decimal
    arrangement: ArrangementFact | None


@dataclass(frozen=True)
class PositionRow:
    affiliate: str
    version: int
    remissible: Decimal
    arrangement: ArrangementFact | None
    contributions: list[Contribution]


def contributions_json(contributions: list[Contribution]) -> str:
    return json.dumps(
        [
            [c.period, str(c.due), str(c.outstanding), c.paid_on.isoformat() if c.paid_on else None]
            for c in contributions
        ]
    )


def contributions_of(stored: str | None) -> list[Contribution]:
    return [
        Contribution(period, Decimal(due), Decimal(outstanding), date.fromisoformat(paid_on) if paid_on else None)
        for period, due, outstanding, paid_on in json.loads(stored or "[]")
    ]


@dataclass(frozen=True)
class Profile:
    raison_sociale: str
    perception_code: str
    perception_name: str


@dataclass(frozen=True)
class ValidationFacts:
    """What a validation reads of the projections, read together (``ProjectionRepository.validation_facts``)."""

    position: PositionFact | None
    bank_accounts: list[BankAccount]
    profile: Profile | None
    newer_quote_exists: bool


@dataclass(frozen=True)
class AffiliateFacts:
    """What eligibility reads, read together (``RequestRepository.eligibility_facts``)."""

    position: PositionFact | None
    request_in_progress: str | None
    defaulted_before: bool


def _position_fact(row: asyncpg.Record) -> PositionFact | None:
    if row["version"] is None:
        return None
    code, name = row["arrangement_perception_code"], row["arrangement_perception_name"]
    return PositionFact(row["version"], row["remissible"], ArrangementFact(code, name) if code else None)


def _saved(request: RemissionRequest) -> dict[str, Any]:
    """A request's columns, as ``save_request`` writes them."""
    return {
        "id": request.id,
        "state": request.state,
        "modality": request.modality,
        "guarantee_obligation_accepted": request.guarantee_obligation_accepted,
        "bank_account_id": request.bank_account_id,
        "quote_id": request.quote.quote_id if request.quote else None,
        "quote": request.quote.model_dump_json() if request.quote else None,
        "cg_version": request.cg_version,
        "guarantee_deadline": request.guarantee_deadline,
        "validation_date": request.validation_date,
        "schedule": _SCHEDULE.dump_json(request.schedule).decode(),
        "guarantee": request.guarantee.model_dump_json() if request.guarantee else None,
        "guarantee_perception": (
            request.guarantee_perception.model_dump_json() if request.guarantee_perception else None
        ),
        "last_activity_at": request.last_activity_at,
    }


def _outbox_columns(events: Sequence[tuple[Any, ...]]) -> dict[str, list[Any]]:
    """Outbox rows (``runtime.outbox.outbox_rows``) as the column arrays a statement unnests."""
    columns = ("event_ids", "topics", "keys", "event_types", "bodies", "traceparents", "tracestates")
    return {name: [row[i] for row in events] for i, name in enumerate(columns)}


def _history_line(entry: HistoryEntry) -> dict[str, Any]:
    return {
        "at": entry.at,
        "event": entry.event,
        "from_state": entry.from_state,
        "to_state": entry.to_state,
        "actor_kind": entry.actor.kind,
        "actor_id": entry.actor.id,
        "reason": entry.reason,
    }


def _history_entry(row: Mapping[str, Any]) -> HistoryEntry:
    return HistoryEntry(
        at=row["at"],
        event=row["event"],
        from_state=row["from_state"],
        to_state=row["to_state"],
        actor=Actor(kind=row["actor_kind"], id=row["actor_id"]),
        reason=row["reason"],
    )


class RequestRepository:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def count_per_state(self) -> dict[str, int]:
        return {row["state"]: row["n"] for row in await rows(_Q.requests_per_state(self._conn))}

    async def open(self, request: RemissionRequest, entry: HistoryEntry, events: Sequence[tuple[Any, ...]]) -> bool:
        """A new request, its first history line and the outbox rows of its events, in one statement;
        False, and nothing written, when the affiliate already has a request in progress."""
        opened = await _Q.open_request_announced(
            self._conn,
            id=request.id,
            affiliate=request.affiliate,
            programme=request.programme,
            state=request.state,
            created_at=request.created_at,
            **_history_line(entry),
            **_outbox_columns(events),
        )
        return opened is not None

    async def get(self, request_id: UUID, *, for_update: bool = False) -> RemissionRequest | None:
        query = _Q.lock_request if for_update else _Q.request_by_id
        row = await query(self._conn, id=request_id)
        return request_of(row) if row else None

    async def locked_with_profile(self, request_id: UUID) -> tuple[RemissionRequest, Profile | None] | None:
        """The request, locked, and its affiliate's profile (None: not announced yet): one statement."""
        row = await _Q.lock_request_with_office(self._conn, id=request_id)
        if row is None:
            return None
        code = row["perception_code"]
        return request_of(row), None if code is None else Profile(row["raison_sociale"], code, row["perception_name"])

    async def locked_with_accounts(self, request_id: UUID) -> tuple[RemissionRequest, list[BankAccount]] | None:
        """The request, locked, and its affiliate's bank accounts: one statement."""
        row = await _Q.lock_request_with_accounts(self._conn, id=request_id)
        if row is None:
            return None
        accounts = _ACCOUNTS.validate_json(row["registered_accounts"]) if row["registered_accounts"] else []
        return request_of(row), accounts

    async def of_affiliate(self, affiliate: str) -> list[RemissionRequest]:
        return [request_of(row) for row in await rows(_Q.requests_of(self._conn, affiliate=affiliate))]

    async def save(
        self, request: RemissionRequest, entry: HistoryEntry, events: Sequence[tuple[Any, ...]] = ()
    ) -> None:
        """The changed request, the history line that says what changed and the outbox rows of the
        events it implies (``runtime.outbox.outbox_rows``), in one statement."""
        if not events:
            await _Q.save_request(self._conn, **_saved(request), **_history_line(entry))
            return
        await _Q.save_request_announced(
            self._conn, **_saved(request), **_history_line(entry), **_outbox_columns(events)
        )

    async def append_history(self, request_id: UUID, entry: HistoryEntry) -> None:
        await _Q.append_history(self._conn, request_id=request_id, **_history_line(entry))

    async def history(self, request_id: UUID) -> list[HistoryEntry]:
        return [_history_entry(row) for row in await rows(_Q.history_of(self._conn, request_id=request_id))]

    async def answer_parts(
        self, request_id: UUID, accounts_of: str | None
    ) -> tuple[list[HistoryEntry], list[BankAccount]]:
        """What an answer shows beside the request, in one round trip: its history and, when
        ``accounts_of`` names an affiliate, that affiliate's bank accounts."""
        row = await _Q.answer_of(self._conn, request_id=request_id, affiliate=accounts_of)
        accounts = _ACCOUNTS.validate_json(row["accounts"]) if row["accounts"] else []
        return [_history_entry(line) for line in row["history"]], accounts

    async def histories(self, request_ids: list[UUID]) -> dict[UUID, list[HistoryEntry]]:
        """Each request's history, oldest line first; a request without a line maps to ``[]``."""
        found: dict[UUID, list[HistoryEntry]] = {request_id: [] for request_id in request_ids}
        for row in await rows(_Q.histories_of(self._conn, request_ids=request_ids)):
            found[row["request_id"]].append(_history_entry(row))
        return found

    async def in_progress_of(self, affiliate: str) -> str | None:
        found: str | None = await _Q.in_progress_of(self._conn, affiliate=affiliate)
        return found

    async def eligibility_facts(self, affiliate: str, programme: str) -> AffiliateFacts:
        """The affiliate's position, its request in progress and whether it defaulted under
        ``programme``: one statement (eligibility read them in three)."""
        row = await _Q.eligibility_facts_of(self._conn, affiliate=affiliate, programme=programme)
        return AffiliateFacts(_position_fact(row), row["in_progress"], row["defaulted_before"])

    async def touch_drafts(self, activity: list[tuple[str, datetime]]) -> None:
        """(affiliate, when): a simulation is activity on the affiliate's draft."""
        await _Q.touch_drafts(self._conn, affiliates=[a for a, _ in activity], ats=[at for _, at in activity])

    async def expired_awaiting(self, today: Any, page: int) -> list[RemissionRequest]:
        return [request_of(r) for r in await rows(_Q.lock_expired_awaiting(self._conn, today=today, page=page))]

    async def validated_without_plan(self, before: datetime, most: int, page: int) -> list[RemissionRequest]:
        found = await rows(_Q.lock_validated_without_plan(self._conn, before=before, most=most, page=page))
        return [request_of(r) for r in found]

    async def plan_scheduled(self, request_id: UUID, at: datetime) -> None:
        await _Q.plan_scheduled(self._conn, id=request_id, at=at)

    async def mark_reannounced(self, request_id: UUID, at: datetime) -> None:
        await _Q.mark_reannounced(self._conn, id=request_id, at=at)

    async def mark_guarantee_received(self, request_id: UUID, entry: HistoryEntry) -> bool:
        """True, and ``entry`` in the history, for the office's first acknowledgement (at ``entry.at``)."""
        return bool(await _Q.mark_guarantee_received(self._conn, id=request_id, **_history_line(entry)))

    async def awaiting_unacknowledged(self, before: datetime, most: int, page: int) -> list[RemissionRequest]:
        found = await rows(_Q.lock_awaiting_unacknowledged(self._conn, before=before, most=most, page=page))
        return [request_of(r) for r in found]

    async def mark_guarantee_reannounced(self, request_id: UUID, at: datetime) -> None:
        await _Q.mark_guarantee_reannounced(self._conn, id=request_id, at=at)

    async def guarantee_requests_per_state(self, most: int) -> dict[str, int]:
        return {r["state"]: r["n"] for r in await rows(_Q.guarantee_requests_per_state(self._conn, most=most))}

    async def idle_drafts(self, before: Any, page: int) -> list[RemissionRequest]:
        return [request_of(r) for r in await rows(_Q.lock_idle_drafts(self._conn, before=before, page=page))]


class ProjectionRepository:
    """What requests knows of the other services' facts, from their topics."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def save_positions(self, positions: list[PositionRow]) -> None:
        """At most one row per affiliate."""
        await _Q.upsert_positions(
            self._conn,
            affiliates=[p.affiliate for p in positions],
            versions=[p.version for p in positions],
            remissibles=[p.remissible for p in positions],
            codes=[p.arrangement.perception_code if p.arrangement else None for p in positions],
            names=[p.arrangement.perception_name if p.arrangement else None for p in positions],
            contributions=[contributions_json(p.contributions) for p in positions],
        )

    async def validation_facts(self, affiliate: str, quote: Quote) -> ValidationFacts:
        """``affiliate``'s position, bank accounts and office, and whether a quote later than ``quote``
        exists for the quote's affiliate: one statement (a validation read them in four)."""
        row = await _Q.validation_facts_of(
            self._conn, affiliate=affiliate, quote_affiliate=quote.affiliate, issued_at=quote.issued_at
        )
        profile = (
            None
            if row["perception_code"] is None
            else Profile(row["raison_sociale"], row["perception_code"], row["perception_name"])
        )
        accounts = _ACCOUNTS.validate_json(row["accounts"]) if row["accounts"] else []
        return ValidationFacts(_position_fact(row), accounts, profile, row["newer_quote_exists"])

    async def save_profiles(self, profiles: dict[str, Profile]) -> None:
        await _Q.upsert_profiles(
            self._conn,
            affiliates=list(profiles),
            raisons_sociales=[p.raison_sociale for p in profiles.values()],
            perception_codes=[p.perception_code for p in profiles.values()],
            perception_names=[p.perception_name for p in profiles.values()],
        )

    async def profile(self, affiliate: str) -> Profile | None:
        row = await _Q.profile_of(self._conn, affiliate=affiliate)
        return Profile(row["raison_sociale"], row["perception_code"], row["perception_name"]) if row else None

    async def save_bank_accounts(self, lists: list[tuple[str, int, list[BankAccount]]]) -> None:
        """(affiliate, version, accounts), at most one row per affiliate."""
        await _Q.upsert_bank_accounts(
            self._conn,
            affiliates=[a for a, _, _ in lists],
            versions=[v for _, v, _ in lists],
            accounts=[_ACCOUNTS.dump_json(accounts).decode() for _, _, accounts in lists],
        )

    async def bank_accounts(self, affiliate: str) -> list[BankAccount]:
        found = await _Q.bank_accounts_of(self._conn, affiliate=affiliate)
        return _ACCOUNTS.validate_json(found) if found else []

    async def save_quotes(self, quotes: list[Quote]) -> None:
        """The quotes, and the wake-up of the validations waiting for them, in one statement."""
        await _Q.insert_quotes(
            self._conn,
            quote_ids=[q.quote_id for q in quotes],
            affiliates=[q.affiliate for q in quotes],
            modalities=[q.modality for q in quotes],
            issued_ats=[q.issued_at for q in quotes],
            bodies=[q.model_dump_json() for q in quotes],
        )

    async def purge_quotes(self, before: datetime) -> int:
        count: int = await _Q.purge_quotes(self._conn, before=before)
        return count

    async def keep_quote(self, quote: Quote) -> Quote:
        """``quote`` kept as if its event had arrived, or the copy already kept (which wins): one statement."""
        row = await _Q.keep_quote(
            self._conn,
            quote_id=quote.quote_id,
            affiliate=quote.affiliate,
            modality=quote.modality,
            issued_at=quote.issued_at,
            body=quote.model_dump_json(),
        )
        return quote if row["known"] is None else Quote.model_validate_json(row["known"])

    async def quote(self, quote_id: UUID) -> Quote | None:
        body = await _Q.quote_by_id(self._conn, quote_id=quote_id)
        return Quote.model_validate_json(body) if body else None


__all__ = ["AffiliateFacts", "PositionFact", "Profile", "ProjectionRepository", "RequestRepository", "ValidationFacts"]
