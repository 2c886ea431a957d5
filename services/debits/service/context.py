"""What every debits use case runs with, built once in the bootstrap (or by a CLI command)."""

from dataclasses import dataclass

from contracts.calendar import BusinessCalendar
from contracts.debits import Creditor
from contracts.programme import Programme
from services.debits.domain.follow_up import FollowUpPolicy
from services.runtime.clock import Clock

PRODUCER = "debits"
DEFAULT_FOLLOW_UP = FollowUpPolicy(wait_business_days=3, resends=2)


@dataclass(frozen=True)
class DebitsContext:
    programme: Programme
    calendar: BusinessCalendar
    clock: Clock
    creditor: Creditor
    page_size: int = 500
    follow_up: FollowUpPolicy = DEFAULT_FOLLOW_UP
    """orders without an answer: when they are sent again, and how often before an operator is told"""
