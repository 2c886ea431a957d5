"""What the affiliate is told, and when: pure rules, no I/O.

A **notice** is one thing to tell one affiliate about one request (a kind and its facts); it goes out
on every channel the affiliate has (e-mail, SMS), each a **notification** of its own. A notice is
keyed by the fact it tells (the request, the debit and its attempt, the deadline), never by the event
that carried it: a redelivered event, or one requests or debits announce again under a new id, tells
nothing twice.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Literal, get_args

from contracts.calendar import BusinessCalendar

Kind = Literal[
    "request_validated",
    "guarantee_required",
    "guarantee_reminder",
    "guarantees_accepted",
    "guarantees_refused",
    "guarantee_deadline_passed",
    "debit_coming",
    "debit_rejected",
    "contributions_notice",
    "plan_defaulted",
    "plan_completed",
]
KINDS: tuple[str, ...] = get_args(Kind)
Channel = Literal["email", "sms"]
CHANNELS: tuple[Channel, ...] = ("email", "sms")

REMINDERS: frozenset[str] = frozenset({"guarantee_reminder", "debit_coming"})
"""notices computed by the sweep, as of a date: each still true when sent, or not sent at all"""


@dataclass(frozen=True)
class Notice:
    kind: Kind
    affiliate: str
    request_id: str
    key: str
    """the fact told, unique per kind: what makes a second telling of it a no-op"""
    facts: dict[str, str] = field(default_factory=dict)
    """what the message says, as text: amounts as decimal strings, dates ISO (the catalogue formats them)"""

    def dedupe_key(self, channel: Channel) -> str:
        return f"{self.kind}:{self.key}:{channel}"


def guarantee_reminder_due(deadline: date, today: date, days_before: tuple[int, ...]) -> int | None:
    """Which reminder of a guarantee deadline is due ``today`` (7 and 1 days before, by default): the
    nearest one whose day has come and whose deadline has not passed; None before the first or
    after the deadline. A sweep that missed the 7-day day on the 2nd-to-last day sends the 1-day one
    only, never both."""
    if today > deadline:
        return None
    due = [days for days in days_before if today >= deadline - timedelta(days=days)]
    return min(due) if due else None


def business_days_before(day: date, count: int, calendar: BusinessCalendar) -> date:
    """The business day ``count`` business days before ``day`` (a collection date)."""
    while count > 0:
        day -= timedelta(days=1)
        if calendar.is_business_day(day):
            count -= 1
    return day


def prenotification_due(collection_date: date, today: date, business_days: int, calendar: BusinessCalendar) -> bool:
    """Direct-debit practice: the debtor is told of a collection ``business_days`` business days
    before it (5 here); a sweep that runs later, still before the collection, tells it then."""
    return business_days_before(collection_date, business_days, calendar) <= today < collection_date


@dataclass(frozen=True)
class Backoff:
    """A send that failed waits ``first`` then twice as long each time, up to ``most``; after
    ``attempts`` it is recorded as failed, for an operator, and the others go on."""

    attempts: int = 8
    first: timedelta = timedelta(seconds=30)
    most: timedelta = timedelta(hours=1)

    def delay(self, attempt: int) -> timedelta | None:
        """The wait after the ``attempt``-th failure (1-based); None: give up."""
        if attempt >= self.attempts:
            return None
        wait: timedelta = self.first * (2 ** (attempt - 1))
        return min(wait, self.most)
