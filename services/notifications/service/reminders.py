"""Use case: the reminders due as of a day (the service's sweep, or ``recouvrement notifications sweep
--date``): a guarantee deadline coming (7 and 1 days before), a debit coming (5 business days before
its presentation). Computed from what the service keeps, as of the day given, so a day can be
replayed; a reminder already told is not told again (its dedupe key)."""

from datetime import date, timedelta

import asyncpg

from services.notifications.adapters.repository import NotificationRepository
from services.notifications.domain.decisions import short
from services.notifications.domain.notices import Notice, business_days_before, guarantee_reminder_due
from services.notifications.service.context import NotificationsContext
from services.notifications.service.intake import tell


async def remind(conn: asyncpg.Connection, ctx: NotificationsContext, today: date) -> dict[str, int]:
    async with conn.transaction():
        guarantees = await _guarantee_reminders(conn, ctx, today)
        debits = await _prenotifications(conn, ctx, today)
    return {"guarantee_reminders": guarantees, "prenotifications": debits}


async def _guarantee_reminders(conn: asyncpg.Connection, ctx: NotificationsContext, today: date) -> int:
    notices = []
    for view in await NotificationRepository(conn).awaiting_guarantees(today):
        assert view.guarantee_deadline is not None
        days = guarantee_reminder_due(view.guarantee_deadline, today, ctx.guarantee_reminder_days)
        if days is None:
            continue
        deadline = view.guarantee_deadline.isoformat()
        facts = {
            "request": short(view.request_id),
            "affiliate": view.affiliate,
            "office": view.office or "",
            "amount": view.guarantee_amount or "0.00",
            "deadline": deadline,
            "days": str(days),
        }
        key = f"{view.request_id}:{deadline}:{days}"
        notices.append(Notice("guarantee_reminder", view.affiliate, view.request_id, key, facts))
    return await tell(conn, notices, ctx.clock.now())


async def _prenotifications(conn: asyncpg.Connection, ctx: NotificationsContext, today: date) -> int:
    """Every debit presented after ``today`` and at most ``prenotification_business_days`` business
    days later."""
    repo = NotificationRepository(conn)
    last = today + timedelta(days=1)
    while business_days_before(last + timedelta(days=1), ctx.prenotification_business_days, ctx.calendar) <= today:
        last += timedelta(days=1)
    notices = []
    for debit in await repo.debits_presented_between(today + timedelta(days=1), last):
        assert debit.next_on is not None
        account = await repo.bank_account(debit.affiliate, debit.bank_account_id or "")
        bank, masked = account if account else ("", "")
        facts = {
            "request": short(debit.request_id),
            "affiliate": debit.affiliate,
            "amount": debit.amount,
            "collection_date": debit.next_on.isoformat(),
            "sequence": str(debit.sequence),
            "account": masked,
            "bank": bank,
        }
        key = f"{debit.request_id}:{debit.sequence}:{debit.attempt}"
        notices.append(Notice("debit_coming", debit.affiliate, debit.request_id, key, facts))
    return await tell(conn, notices, ctx.clock.now())
