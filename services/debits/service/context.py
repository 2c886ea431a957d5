"""What every debits use case runs with, built once in the bootstrap (or by a CLI command)."""

from dataclasses import dataclass

from contracts.calendar import BusinessCalendar
from contracts.debits import Creditor
from contracts.programme import Programme
from services.runtime.clock import Clock

PRODUCER = "debits"


@dataclass(frozen=True)
class DebitsContext:
    programme: Programme
    calendar: BusinessCalendar
    clock: Clock
    creditor: Creditor
    page_size: int = 500
