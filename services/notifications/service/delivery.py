"""Use case: send what is due, each notification on its channel, in the affiliate's language.

A notification is taken for a lease (``claim_due``) and sent outside any transaction, so a slow relay
holds no lock and no connection. What becomes of it:

- **SENT**: the channel took it (its subject, the masked recipient and the language are kept: what the
  affiliate's list shows);
- **SKIPPED**: nothing to send it to (no address on that channel), or a reminder no longer true (the
  request moved on, the debit was presented or cancelled): never sent late;
- tried again after a growing pause (``Backoff``) when the channel failed for now, and **FAILED** after
  its last attempt or at once when trying again cannot help: visible to operators
  (``recouvrement notifications failed``, the ``recouvrement_notifications`` gauge), requeued by hand.

One notification failing never holds the others back. A sender that dies between the channel's
acceptance and the mark sends that one again once its lease ends: at least once, never lost; the mail
keeps its Message-ID (the notification's id), so the copy is recognisable.
"""

import logging
from datetime import date

import asyncpg
from opentelemetry import propagate, trace

from services.notifications.adapters.channels import Outgoing, Undelivered
from services.notifications.adapters.repository import Claimed, Contact, NotificationRepository
from services.notifications.domain.catalogue import render
from services.notifications.domain.notices import REMINDERS
from services.notifications.service.context import NotificationsContext
from services.runtime.clock import business_date

log = logging.getLogger(__name__)
tracer = trace.get_tracer(__name__)


def masked(channel: str, address: str) -> str:
    """What the list shows of where it went: ``d***@exemple.ma``, ``+2126*****678``."""
    if channel == "email":
        local, _, domain = address.partition("@")
        return f"{local[:1]}***@{domain}"
    return address[:5] + "*" * (len(address) - 8) + address[-3:]


async def deliver_due(pool: asyncpg.Pool, ctx: NotificationsContext) -> dict[str, int]:
    done = {"sent": 0, "skipped": 0, "retried": 0, "failed": 0}
    async with pool.acquire() as conn:
        claimed = await NotificationRepository(conn).claim_due(ctx.clock.now(), ctx.lease, ctx.batch)
    for notification in claimed:
        outcome = await _deliver(pool, ctx, notification)
        done[outcome] += 1
    return done


async def _deliver(pool: asyncpg.Pool, ctx: NotificationsContext, n: Claimed) -> str:
    parent = propagate.extract({"traceparent": n.traceparent}) if n.traceparent else None
    with tracer.start_as_current_span(
        "notification send",
        context=parent,
        attributes={"notification.id": n.id, "notification.kind": n.kind, "notification.channel": n.channel},
    ) as span:
        async with pool.acquire() as conn:
            repo = NotificationRepository(conn)
            why_not = await _no_longer_true(repo, n)
            contact = await repo.contact(n.affiliate)
        address = _address(contact, n.channel)
        if why_not is None and address is None:
            why_not = "aucune adresse pour ce canal"
        if why_not is not None:
            async with pool.acquire() as conn:
                await NotificationRepository(conn).mark_skipped(n.id, why_not)
            span.set_attribute("notification.outcome", "skipped")
            return "skipped"
        assert contact is not None and address is not None
        language = contact.language
        try:
            message = render(n.kind, n.channel, language, n.facts)  # type: ignore[arg-type]
            attachment = None
            if n.kind == "plan_completed" and n.channel == "email" and ctx.attestation is not None:
                attachment = ctx.attestation(n.facts, language, business_date(ctx.clock))
        except Exception as exc:  # a bug in one message must not end the pass for the others
            log.exception("notification could not be written", extra={"notification_id": n.id, "kind": n.kind})
            return await _failed(pool, ctx, n, f"message impossible à composer : {type(exc).__name__}", True, span)
        sender = ctx.senders.get(n.channel)
        try:
            if sender is None:
                raise Undelivered(f"aucun canal {n.channel} configuré", permanent=False)
            await sender.send(Outgoing(address, message.subject, message.text, n.id, attachment))
        except Undelivered as exc:
            return await _failed(pool, ctx, n, str(exc), exc.permanent, span)
        async with pool.acquire() as conn:
            await NotificationRepository(conn).mark_sent(
                n.id, language, masked(n.channel, address), message.subject, ctx.clock.now()
            )
        span.set_attribute("notification.outcome", "sent")
        return "sent"


async def _failed(
    pool: asyncpg.Pool, ctx: NotificationsContext, n: Claimed, why: str, permanent: bool, span: trace.Span
) -> str:
    delay = None if permanent else ctx.backoff.delay(n.attempts)
    async with pool.acquire() as conn:
        repo = NotificationRepository(conn)
        if delay is None:
            await repo.mark_failed(n.id, why)
            log.error("notification failed", extra={"notification_id": n.id, "kind": n.kind, "reason": why})
            span.set_attribute("notification.outcome", "failed")
            return "failed"
        await repo.retry_later(n.id, ctx.clock.now() + delay, why)
    log.warning("notification not sent, retried later", extra={"notification_id": n.id, "reason": why})
    span.set_attribute("notification.outcome", "retried")
    return "retried"


def _address(contact: Contact | None, channel: str) -> str | None:
    if contact is None:
        return None
    return contact.email if channel == "email" else contact.mobile


async def _no_longer_true(repo: NotificationRepository, n: Claimed) -> str | None:
    """A reminder checked again at its sending: the request still waits for its guarantees by the same
    deadline; the debit is still to be presented on the day and attempt told."""
    if n.kind not in REMINDERS or n.request_id is None:
        return None
    if n.kind == "guarantee_reminder":
        return await _guarantee_moved_on(repo, n.request_id, n.facts["deadline"])
    return await _debit_moved_on(repo, n.request_id, int(n.facts["sequence"]), n.facts["collection_date"])


async def _guarantee_moved_on(repo: NotificationRepository, request_id: str, deadline: str) -> str | None:
    view = await repo.request_view(request_id)
    if view is None or view.state != "AWAITING_GUARANTEE":
        return "la demande n'attend plus de garanties"
    if view.guarantee_deadline is None or view.guarantee_deadline.isoformat() != deadline:
        return "le délai a changé"
    return None


async def _debit_moved_on(repo: NotificationRepository, request_id: str, sequence: int, on: str) -> str | None:
    debit = await repo.debit(request_id, sequence)
    if debit is None:
        return "prélèvement inconnu"
    state, next_on, _attempt = debit
    if state not in ("SCHEDULED", "FAILED") or next_on != date.fromisoformat(on):
        return "le prélèvement n'est plus prévu ce jour-là"
    return None
