"""What every use case of notifications runs with, built once in the bootstrap (and by the one-shot
runs of the command line)."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

from contracts.calendar import BusinessCalendar
from services.notifications.adapters.channels import Attachment, Sender
from services.notifications.domain.notices import Backoff, Channel
from services.runtime.clock import Clock


@dataclass(frozen=True)
class NotificationsContext:
    calendar: BusinessCalendar
    clock: Clock
    senders: dict[Channel, Sender] = field(default_factory=dict)
    """the channels that send; a channel without one keeps its notifications waiting"""
    attestation: Callable[[dict[str, str], str, date], Attachment] | None = None
    """the "attestation de remise définitive" of a completed plan, from its facts and the language"""
    guarantee_reminder_days: tuple[int, ...] = (7, 1)
    prenotification_business_days: int = 5
    backoff: Backoff = field(default_factory=Backoff)
    lease: timedelta = timedelta(minutes=2)
    """a notification taken for sending is someone else's to take after this (its sender died)"""
    batch: int = 100
