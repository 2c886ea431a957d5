"""Orders a bank has not answered: wait, send again, or flag for an operator.

Pure: no I/O. A bank answers an order on its requested collection date or within a few business
days (a rejection, a return). An order still without an answer ``wait_business_days`` business days
after that date was lost on the way (the order, or the answer: a broker that lost it, a message a
bank or debits could not read and dead-lettered). It is **sent again as the same message**: same
event id, same end-to-end id, same amount and date. Never a new presentation (a new attempt, a new
end-to-end id): a bank that did collect and only lost its answer would collect twice. A bank that
booked the id answers its first answer again (or AM05, which leaves the debit ordered), one that
never saw it collects it once. After ``resends`` such sendings without an answer, the order is
flagged: a human asks the bank (its pain.002 report can be imported), nothing more is automatic.
"""

from dataclasses import dataclass
from datetime import date
from typing import Literal

from contracts.calendar import BusinessCalendar
from services.debits.domain.debits import Change

Decision = Literal["wait", "resend", "flag"]


@dataclass(frozen=True)
class FollowUpPolicy:
    wait_business_days: int
    """business days after the collection date (or the last sending) an answer may take"""
    resends: int
    """how many times an unanswered order is sent again before it is flagged"""


@dataclass(frozen=True)
class Unanswered:
    """An order without a result whose debit still waits for that very attempt."""

    end_to_end_id: str
    sequence: int
    attempt: int
    requested_collection_date: date
    resends: int
    resent_on: date | None
    flagged_on: date | None


def answer_expected_by(order: Unanswered, calendar: BusinessCalendar, policy: FollowUpPolicy) -> date:
    """The last day the bank's answer may still come without a follow-up."""
    return calendar.add_business_days(order.resent_on or order.requested_collection_date, policy.wait_business_days)


def decide(order: Unanswered, today: date, calendar: BusinessCalendar, policy: FollowUpPolicy) -> Decision:
    if order.flagged_on is not None or today <= answer_expected_by(order, calendar, policy):
        return "wait"
    return "resend" if order.resends < policy.resends else "flag"


def resent(order: Unanswered, today: date, policy: FollowUpPolicy) -> Change:
    return Change(
        order.sequence,
        "ORDERED",
        "ORDERED",
        order.attempt,
        f"sans réponse de la banque : ordre envoyé de nouveau le {today.isoformat()}, même identifiant"
        f" ({order.resends + 1}/{policy.resends})",
        end_to_end_id=order.end_to_end_id,
    )


def flagged(order: Unanswered, policy: FollowUpPolicy) -> Change:
    return Change(
        order.sequence,
        "ORDERED",
        "ORDERED",
        order.attempt,
        f"sans réponse de la banque après {policy.resends} envois de nouveau : signalé aux opérateurs",
        end_to_end_id=order.end_to_end_id,
    )
