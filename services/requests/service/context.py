"""What every use case of requests runs with, built once in the bootstrap."""

from dataclasses import dataclass
from datetime import timedelta

from contracts.calendar import BusinessCalendar
from contracts.programme import Programme
from services.runtime.clock import Clock

PRODUCER = "requests"


@dataclass(frozen=True)
class RequestsContext:
    programme: Programme
    calendar: BusinessCalendar
    clock: Clock
    reannounce_after: timedelta = timedelta(minutes=60)
    """a validation without a plan from debits after this long is announced again (the sweep)"""
    reannounce_most: int = 3
    """how many times each is announced again at most"""
    guarantee_receipt_wait: timedelta = timedelta(minutes=60)
    """a guarantee request its office has not acknowledged after this long is sent again (the sweep)"""
