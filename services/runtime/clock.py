"""Time is injected: services read a clock, tests and demos move it instead of sleeping."""

from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

BUSINESS_TZ = ZoneInfo("Africa/Casablanca")


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FrozenClock:
    """A clock that only moves when told to (tests)."""

    def __init__(self, at: datetime) -> None:
        self._at = at

    def now(self) -> datetime:
        return self._at

    def advance(self, delta: timedelta) -> None:
        self._at += delta


def business_date(clock: Clock) -> date:
    """Today's date where the business happens (Casablanca), not where the server runs."""
    return clock.now().astimezone(BUSINESS_TZ).date()
