"""Use case: apply a batch of ledger entries, each exactly once, and announce the new positions."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import asyncpg
from opentelemetry.context import Context

from contracts.dates import EARLIEST_YEAR
from contracts.debt import ArrangementClosed, ArrangementOpened, ChargeBooked, PaymentReceived
from services.debt.adapters.repository import EntryRow, PositionRepository
from services.debt.domain.ledger import Booking, balance_deltas, principal_paid_dates
from services.debt.domain.position import Arrangement
from services.debt.service.position_events import position_messages
from services.debt.service.read_models import debt_view_json
from services.runtime.clock import Clock, business_date
from services.runtime.consumer import Unapplicable
from services.runtime.outbox import enqueue_many

LedgerMessage = ChargeBooked | PaymentReceived | ArrangementOpened | ArrangementClosed


@dataclass(frozen=True)
class BatchOutcome:
    applied: int
    duplicates: int
    positions_published: int


def entry_row(entry: LedgerMessage) -> EntryRow:
    match entry:
        case ChargeBooked(payload=p):
            return EntryRow(
                p.entry_id, entry.event_id, p.affiliate, entry.type, p.period, p.category, p.amount, p.booked_on
            )
        case PaymentReceived(payload=p):
            return EntryRow(
                p.entry_id, entry.event_id, p.affiliate, entry.type, p.period, p.category, p.amount, p.received_on
            )
        case ArrangementOpened(payload=p):
            return EntryRow(p.entry_id, entry.event_id, p.affiliate, entry.type, None, None, None, p.opened_on)
        case ArrangementClosed(payload=p):
            return EntryRow(p.entry_id, entry.event_id, p.affiliate, entry.type, None, None, None, p.closed_on)
    raise TypeError(type(entry))


def _booking(entry: LedgerMessage) -> Booking | None:
    if isinstance(entry, ChargeBooked):
        p = entry.payload
        return Booking(p.affiliate, p.period, p.category, "due", p.amount)
    if isinstance(entry, PaymentReceived):
        q = entry.payload
        return Booking(q.affiliate, q.period, q.category, "paid", q.amount, q.received_on)
    return None


def check_dates(entries: Sequence[EntryRow], latest: date) -> None:
    """A ledger entry is dated from 2000 (``contracts.dates``) to ``latest`` (today and a margin).
    Later is a typo: applied, a payment dated 2062 for 2026 would hide a paid period's payment until
    then, and the plan would be defaulted for contributions that were paid (article 2). Year 1 is one
    too: the period would count as paid on time, whenever it was. Unapplicable: the runtime applies
    the batch again one entry at a time and dead-letters this one, with the reason."""
    for entry in entries:
        on = entry.effective_on
        if on > latest:
            raise Unapplicable(f"écriture {entry.entry_id} datée du {on.isoformat()} : dans le futur")
        if on.year < EARLIEST_YEAR:
            raise Unapplicable(f"écriture {entry.entry_id} datée du {on.isoformat()} : avant {EARLIEST_YEAR}")


async def apply_ledger_batch(
    conn: asyncpg.Connection,
    entries: Sequence[LedgerMessage],
    clock: Clock,
    cutoff: str,
    trace_contexts: dict[str, Context] | None = None,
    days_ahead: int | None = None,
) -> BatchOutcome:
    """In one transaction: record entries (duplicates skipped), move balances, bump each touched
    affiliate's version once and write its whole position to the outbox. With ``days_ahead``, an
    entry dated later than today plus that many days is refused (``check_dates``)."""
    rows = [entry_row(e) for e in entries]
    if days_ahead is not None:
        check_dates(rows, business_date(clock) + timedelta(days=days_ahead))
    repo = PositionRepository(conn)
    async with conn.transaction():
        fresh_ids = await repo.record_entries(rows)
        seen: set[str] = set()
        fresh: list[LedgerMessage] = []
        for entry in entries:  # an id repeated inside one batch counts once too
            if entry.payload.entry_id in fresh_ids and entry.payload.entry_id not in seen:
                seen.add(entry.payload.entry_id)
                fresh.append(entry)
        bookings = [b for e in fresh if (b := _booking(e)) is not None]
        await repo.add_to_balances(balance_deltas(bookings), principal_paid_dates(bookings))
        for entry in fresh:  # rare, and their order matters
            if isinstance(entry, ArrangementOpened):
                o = entry.payload
                await repo.open_arrangement(
                    o.affiliate, Arrangement(o.arrangement_id, o.perception.code, o.perception.name, o.opened_on)
                )
            elif isinstance(entry, ArrangementClosed):
                c = entry.payload
                await repo.close_arrangement(c.affiliate, c.arrangement_id, c.closed_on)
        touched = sorted({e.payload.affiliate for e in fresh})
        await announce(conn, touched, clock, cutoff, trace_contexts)
    return BatchOutcome(len(fresh), len(entries) - len(fresh), len(touched))


async def book(conn: asyncpg.Connection, entries: Sequence[tuple[EntryRow, Booking]]) -> int:
    """Debt's own bookings (a payment on a plan, a write-off) through the ledger's path: each entry
    recorded under its id (one already recorded is skipped), then the balances moved. Returns how
    many were fresh. The caller owns the transaction and announces the position."""
    repo = PositionRepository(conn)
    fresh_ids = await repo.record_entries([row for row, _ in entries])
    fresh = [booking for row, booking in entries if row.entry_id in fresh_ids]
    await repo.add_to_balances(balance_deltas(fresh), principal_paid_dates(fresh))
    return len(fresh)


async def announce(
    conn: asyncpg.Connection,
    affiliates: Sequence[str],
    clock: Clock,
    cutoff: str,
    trace_contexts: dict[str, Context] | None = None,
) -> None:
    """In the caller's transaction: bump each affiliate's version once, store its debt document and
    write its whole position to the outbox."""
    if not affiliates:
        return
    repo = PositionRepository(conn)
    versions = await repo.bump_versions(affiliates)
    positions = await repo.positions(affiliates, versions)
    await repo.save_views({p.affiliate: debt_view_json(p, cutoff) for p in positions}, cutoff)
    await enqueue_many(conn, position_messages(positions, clock, trace_contexts))


async def registered(conn: asyncpg.Connection, affiliates: Sequence[str], clock: Clock, cutoff: str) -> int:
    """Affiliates auth registered (``auth.affiliates.v1``) that the ledger never mentioned owe nothing
    here: their position is announced, empty (version 1), so requests tells them they have nothing
    to remit instead of "try again" forever. One the ledger reaches later gets its next version."""
    unknown = await PositionRepository(conn).without_position(sorted(set(affiliates)))
    await announce(conn, unknown, clock, cutoff)
    return len(unknown)


async def refresh_views(conn: asyncpg.Connection, cutoff: str, page: int = 500) -> int:
    """Rebuild the stored documents computed with another cut-off (the programme's changed)."""
    repo = PositionRepository(conn)
    count = 0
    while affiliates := await repo.stale_views(cutoff, page):
        async with conn.transaction():
            await repo.lock(affiliates)
            positions = await repo.positions(affiliates)
            await repo.save_views({p.affiliate: debt_view_json(p, cutoff) for p in positions}, cutoff)
        count += len(affiliates)
    return count


async def republish_positions(conn: asyncpg.Connection, clock: Clock, page: int = 500) -> int:
    """Re-announce every position as it stands (same versions), for consumers that lost theirs."""
    repo = PositionRepository(conn)
    count, after = 0, ""
    while affiliates := await repo.affiliates_after(after, page):
        async with conn.transaction():
            await repo.lock(affiliates)  # so an older version never follows a newer one
            await enqueue_many(conn, position_messages(await repo.positions(affiliates), clock))
        count += len(affiliates)
        after = affiliates[-1]
    return count
