"""Use cases: an event another service published, kept and, when it tells the affiliate something,
turned into notifications, in the consumer's transaction (its inbox dedupes the event; the dedupe key
of each notification dedupes the fact)."""

import logging
from datetime import date, datetime

import asyncpg
from opentelemetry import propagate

from contracts.auth import AffiliateProfilePayload
from contracts.debits import BankAccountsPayload, DebitChangedPayload, DebitView, PlanScheduledPayload
from contracts.requests import RequestStateChangedPayload
from services.notifications.adapters.repository import Contact, NotificationRepository, UpcomingDebit
from services.notifications.domain import decisions
from services.notifications.domain.notices import CHANNELS, Notice

log = logging.getLogger(__name__)


async def tell(conn: asyncpg.Connection, notices: list[Notice], now: datetime) -> int:
    """One notification per notice and channel, unless that fact was told already; returns how many
    are new. The trace of the change that caused them goes with them to their sending."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    repo = NotificationRepository(conn)
    added = 0
    for notice in notices:
        for channel in CHANNELS:
            added += await repo.add(notice, channel, carrier.get("traceparent"), now)
    return added


async def on_profile(conn: asyncpg.Connection, profile: AffiliateProfilePayload) -> None:
    contact = profile.contact
    await NotificationRepository(conn).save_contact(
        Contact(
            affiliate=profile.affiliate,
            email=contact.email if contact else None,
            mobile=contact.mobile if contact else None,
            language=contact.language if contact else "fr",
        )
    )


async def on_request_event(conn: asyncpg.Connection, event: RequestStateChangedPayload, now: datetime) -> int:
    repo = NotificationRepository(conn)
    # an event delivered again (or announced again under a new id) rewrites the same view, and each
    # notice it implies is already told: its dedupe key
    view = decisions.view_after(await repo.request_view(str(event.request_id)), event)
    await repo.save_request_view(view)
    return await tell(conn, decisions.on_request_event(event, view), now)


def _upcoming(request_id: str, affiliate: str, debit: DebitView, next_on: date | None) -> UpcomingDebit:
    return UpcomingDebit(
        request_id=request_id,
        sequence=debit.sequence,
        affiliate=affiliate,
        amount=str(debit.amount),
        state=debit.state,
        next_on=next_on,
        attempt=debit.attempts + 1 if debit.state in ("SCHEDULED", "FAILED") else debit.attempts,
    )


async def on_plan_scheduled(conn: asyncpg.Connection, event: PlanScheduledPayload) -> None:
    repo = NotificationRepository(conn)
    for debit in event.debits:
        next_on = debit.collection_date if debit.state == "SCHEDULED" else None
        await repo.save_debit(_upcoming(str(event.request_id), event.affiliate, debit, next_on))


async def on_debit_changed(conn: asyncpg.Connection, event: DebitChangedPayload, now: datetime) -> int:
    """The debit's next presentation (none once ordered, settled, cancelled or finally failed) and, for
    a rejection, the notice of it."""
    debit = event.debit
    next_on = event.next_attempt_on if debit.state in ("SCHEDULED", "FAILED") else None
    if debit.state == "SCHEDULED" and next_on is None:
        next_on = debit.collection_date
    await NotificationRepository(conn).save_debit(_upcoming(str(event.request_id), event.affiliate, debit, next_on))
    return await tell(conn, decisions.on_debit_changed(event), now)


async def on_accounts(conn: asyncpg.Connection, event: BankAccountsPayload) -> None:
    accounts = [(a.id, a.bank_name, a.rib_masked) for a in event.accounts]
    await NotificationRepository(conn).replace_accounts(event.affiliate, event.version, accounts)
