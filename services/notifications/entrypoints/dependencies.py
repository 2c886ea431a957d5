"""What notifications' HTTP handlers need, built once by the bootstrap (``main.py``), and the one
function that builds the use cases' context from settings, for the bootstrap and the one-shot runs."""

from dataclasses import dataclass
from typing import Annotated

import httpx
from fastapi import Depends

from services.notifications.adapters.attestation import attestation
from services.notifications.adapters.channels import FileSmsSender, HttpSmsSender, Sender, SmtpSender
from services.notifications.config import NotificationsSettings
from services.notifications.domain.notices import Backoff, Channel
from services.notifications.service.context import NotificationsContext
from services.runtime.clock import Clock
from services.runtime.http import dependencies_of
from services.runtime.platform import Platform


@dataclass(frozen=True, slots=True)
class NotificationsDependencies:
    platform: Platform
    context: NotificationsContext


Dependencies = Annotated[NotificationsDependencies, Depends(dependencies_of(NotificationsDependencies))]


def senders_of(settings: NotificationsSettings, client: httpx.AsyncClient | None) -> dict[Channel, Sender]:
    """The channels the settings configure: e-mail always (a relay, or the embedded stack's sink); SMS
    into a file, through the provider, or not at all (kept waiting)."""
    senders: dict[Channel, Sender] = {
        "email": SmtpSender(
            settings.smtp_host,
            settings.smtp_port,
            settings.smtp_from,
            settings.smtp_username,
            settings.smtp_password,
            settings.smtp_starttls,
        )
    }
    if settings.sms_provider == "file":
        senders["sms"] = FileSmsSender(settings.sms_path())
    elif settings.sms_provider == "http":
        if not settings.sms_http_url or client is None:
            raise ValueError("SMS_PROVIDER=http demande SMS_HTTP_URL")
        senders["sms"] = HttpSmsSender(settings.sms_http_url, settings.sms_http_token, client)
    return senders


def context_of(
    settings: NotificationsSettings, clock: Clock, client: httpx.AsyncClient | None = None
) -> NotificationsContext:
    programme = settings.load_programme()
    return NotificationsContext(
        calendar=settings.business_calendar(programme),
        clock=clock,
        senders=senders_of(settings, client),
        attestation=attestation,
        guarantee_reminder_days=tuple(settings.guarantee_reminder_days),
        prenotification_business_days=settings.prenotification_business_days,
        backoff=Backoff(attempts=settings.send_max_attempts),
    )
