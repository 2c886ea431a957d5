"""What every use case of requests runs with, built once in the bootstrap."""

from dataclasses import dataclass

from contracts.calendar import BusinessCalendar
from contracts.programme import Programme
from services.runtime.clock import Clock

PRODUCER = "requests"


@dataclass(frozen=True)
class RequestsContext:
    programme: Programme
    calendar: BusinessCalendar
    clock: Clock
