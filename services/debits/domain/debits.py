"""The debits of a plan: states, the re-presentation rule, completion and default, order identifiers.

Pure: no I/O. Each function takes the debit (or the plan's debits) as they stand and returns what
they become with the history entries that explain it; the service saves both and writes the events.

A debit goes SCHEDULED → ORDERED (sent to its bank, attempt k) → SETTLED, or → FAILED. A rejection
the programme re-presents leaves it FAILED *for now*, with the date of its next attempt; the run of
that date orders it again (ORDERED, attempt k+1). A final failure defaults the plan: the debits not
yet sent (SCHEDULED, or FAILED waiting for a new attempt) are CANCELLED and never sent.

**One debit per plan per run; a late plan slides, it never bunches** (``run_plan``, issue 13). A run
orders, of each plan, only the earliest due debit (lowest sequence: the oldest installment, or its
re-presentation). When a plan has more than one debit due (the service was down for months, a V in
the past, a re-presentation waiting when the next installment fell due), the rest of the plan — every
debit still to be sent after the one ordered, due or not — slides forward by the same whole number of
months, the fewest that put the first of them in the month after the ordered debit's collection: a
SCHEDULED debit keeps its debit day (due date + n months, collected on the next business day from
it), a re-presentation its day of the month. So the plan keeps one debit a month and ends n months
later; no debit is dropped, none is merged, no amount changes (the sum stays the plan's to the
centime). Each moved debit gets a history line and a ``debits.debit_changed`` with its new dates
(state unchanged, ``next_attempt_on`` the new date): the schedule the affiliate sees on the request's
debits page moves; requests and debt read only settlements, completions and defaults from that
topic, so neither changes anything for it.
"""

import calendar as gregorian
import string
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Literal
from uuid import NAMESPACE_URL, UUID, uuid5

from contracts.calendar import BusinessCalendar
from contracts.programme import Representation
from contracts.refusals import Refusal
from contracts.simulation import DebitKind

DebitState = Literal["SCHEDULED", "ORDERED", "SETTLED", "FAILED", "CANCELLED"]
PlanState = Literal["ACTIVE", "COMPLETED", "DEFAULTED"]

ORDERS_NAMESPACE = uuid5(NAMESPACE_URL, "urn:cnss:recouvrement:debits:orders")
_DIGITS = string.digits + string.ascii_uppercase
_ID_WIDTH = 25
"""36**25 > 2**128: any UUID fits in 25 base-36 characters."""


class TransitionRefused(Refusal):
    """A change the state machine does not allow (a result for a debit that is not waiting for one)."""

    def __init__(self, message: str) -> None:
        super().__init__("transition-refusee", message)


@dataclass(frozen=True)
class Debit:
    sequence: int
    kind: DebitKind
    due_date: date
    collection_date: date
    amount: Decimal
    state: DebitState
    attempts: int
    next_attempt_on: date | None
    """When it is (again) to be presented; None once ordered, settled, finally failed or cancelled."""

    @property
    def pending(self) -> bool:
        """Not sent yet, and to be sent: SCHEDULED, or FAILED waiting for a new attempt."""
        return self.next_attempt_on is not None and self.state in ("SCHEDULED", "FAILED")

    @property
    def finally_failed(self) -> bool:
        return self.state == "FAILED" and self.next_attempt_on is None


@dataclass(frozen=True)
class Change:
    """One entry of a debit's history."""

    sequence: int
    from_state: DebitState | None
    to_state: DebitState
    attempt: int
    reason: str
    end_to_end_id: str | None = None
    reason_code: str | None = None
    final: bool = False
    next_attempt_on: date | None = None


def encode_request_id(request_id: UUID) -> str:
    """The whole request id in 25 characters [0-9A-Z]: unique, unlike a prefix of its hex form
    (8 hex characters collide around 77,000 requests)."""
    value, out = request_id.int, []
    for _ in range(_ID_WIDTH):
        value, digit = divmod(value, 36)
        out.append(_DIGITS[digit])
    return "".join(reversed(out))


def end_to_end_id(request_id: UUID, sequence: int, attempt: int) -> str:
    """pain.008 EndToEndId: one per request, installment and attempt; at most 35 of [A-Za-z0-9-]."""
    if sequence < 1 or attempt < 1 or sequence > 999 or attempt > 99:
        raise ValueError("échéance 1..999 et tentative 1..99")
    return f"{encode_request_id(request_id)}-{sequence}-{attempt}"


def order_event_id(end_to_end_id: str) -> UUID:
    """The event id of the order message: one message per order, however often it is built and sent
    (``follow_up``): a bank recognises a sending again by it, and the outbox's log keeps one line per id."""
    return uuid5(ORDERS_NAMESPACE, end_to_end_id)


def mandate_id(request_id: UUID) -> str:
    """The mandate the affiliate signed by validating the request (one per request)."""
    return f"MDT-{encode_request_id(request_id)}"


def remittance_information(request_id: UUID, sequence: int, total: int) -> str:
    return f"Demande {request_id} échéance {sequence}/{total}"


def schedule(items: Sequence[tuple[int, DebitKind, date, date, Decimal]], validation_date: date) -> list[Debit]:
    """The debits of a newly validated plan, from its schedule (already dated from V, collection dates
    already on business days): each SCHEDULED for its collection date, no attempt yet."""
    if not items:
        raise ValueError("un plan sans échéance")
    sequences = [sequence for sequence, *_ in items]
    if sorted(sequences) != list(range(1, len(items) + 1)):
        raise ValueError("les échéances sont numérotées de 1 à n")
    debits = []
    for sequence, kind, due, collection, amount in sorted(items, key=lambda i: i[0]):
        if amount <= 0:
            raise ValueError(f"échéance {sequence} : montant nul ou négatif")
        if collection < due or due <= validation_date:
            raise ValueError(f"échéance {sequence} : dates incohérentes")
        debits.append(Debit(sequence, kind, due, collection, amount, "SCHEDULED", 0, collection))
    return debits


def scheduled_changes(debits: Sequence[Debit], validation_date: date) -> list[Change]:
    return [Change(d.sequence, None, "SCHEDULED", 0, f"plan validé le {validation_date.isoformat()}") for d in debits]


def is_due(debit: Debit, on_date: date) -> bool:
    return debit.pending and debit.next_attempt_on is not None and debit.next_attempt_on <= on_date


@dataclass(frozen=True)
class Ordering:
    debit: Debit
    attempt: int
    end_to_end_id: str
    requested_collection_date: date
    change: Change


def order(request_id: UUID, debit: Debit, on_date: date, calendar: BusinessCalendar) -> Ordering:
    """Send the debit to its bank as attempt ``attempts + 1``. A run late for its date (the service
    was down) asks for the first business day from the run's date, never a day already past."""
    if not is_due(debit, on_date) or debit.next_attempt_on is None:
        raise TransitionRefused(f"échéance {debit.sequence} : rien à présenter le {on_date.isoformat()}")
    attempt = debit.attempts + 1
    e2e = end_to_end_id(request_id, debit.sequence, attempt)
    collection = calendar.on_or_after(max(debit.next_attempt_on, on_date))
    ordered = replace(debit, state="ORDERED", attempts=attempt, next_attempt_on=None)
    why = "présentation" if attempt == 1 else "nouvelle présentation"
    change = Change(
        debit.sequence,
        debit.state,
        "ORDERED",
        attempt,
        f"{why} à la banque pour le {collection.isoformat()}",
        end_to_end_id=e2e,
    )
    return Ordering(ordered, attempt, e2e, collection, change)


@dataclass(frozen=True)
class RunStep:
    """What one run does to one plan: at most one order, and the later debits it moved forward."""

    ordering: Ordering | None
    moved: list[tuple[Debit, Change]]


def _month_index(day: date) -> int:
    return day.year * 12 + day.month - 1


def plus_months(day: date, months: int) -> date:
    """The same day ``months`` later, or the month's last day when it is shorter (31 → 30)."""
    year, month = divmod(_month_index(day) + months, 12)
    return date(year, month + 1, min(day.day, gregorian.monthrange(year, month + 1)[1]))


def _anchor(debit: Debit) -> date:
    """The date a slide moves: a SCHEDULED debit's due date, a re-presentation's next attempt."""
    if debit.state == "SCHEDULED" or debit.next_attempt_on is None:
        return debit.due_date
    return debit.next_attempt_on


def _slide(debit: Debit, months: int, calendar: BusinessCalendar) -> tuple[Debit, Change]:
    why = f"une échéance par plan et par tournée : le reste du plan en retard glisse de {months} mois"
    if debit.state == "SCHEDULED":
        due = plus_months(debit.due_date, months)
        collection = calendar.on_or_after(due)
        moved = replace(debit, due_date=due, collection_date=collection, next_attempt_on=collection)
        reason = f"échéance reportée du {debit.due_date.isoformat()} au {due.isoformat()} ({why})"
    else:
        again = calendar.on_or_after(plus_months(_anchor(debit), months))
        moved = replace(debit, next_attempt_on=again)
        reason = f"nouvelle présentation reportée au {again.isoformat()} ({why})"
    change = Change(
        debit.sequence, debit.state, moved.state, debit.attempts, reason, next_attempt_on=moved.next_attempt_on
    )
    return moved, change


def run_plan(request_id: UUID, debits: Sequence[Debit], on_date: date, calendar: BusinessCalendar) -> RunStep:
    """The run of ``on_date`` for one plan, given its pending debits (others are ignored): the
    earliest due one is ordered; if another is due too, the rest of the plan slides (module docstring).
    Afterwards none of the plan's debits is due on ``on_date``: a second run that day orders nothing."""
    due = sorted((d for d in debits if is_due(d, on_date)), key=lambda d: d.sequence)
    if not due:
        return RunStep(None, [])
    first = due[0]
    ordering = order(request_id, first, on_date, calendar)
    if len(due) == 1:
        return RunStep(ordering, [])
    later = sorted((d for d in debits if d.pending and d.sequence > first.sequence), key=lambda d: d.sequence)
    months = _month_index(ordering.requested_collection_date) + 1 - min(_month_index(_anchor(d)) for d in later)
    return RunStep(ordering, [_slide(d, months, calendar) for d in later])


def settle(debit: Debit, end_to_end_id: str, settled_on: date) -> tuple[Debit, Change]:
    if debit.state != "ORDERED":
        raise TransitionRefused(f"échéance {debit.sequence} : {debit.state}, aucun ordre en cours")
    return replace(debit, state="SETTLED"), Change(
        debit.sequence,
        "ORDERED",
        "SETTLED",
        debit.attempts,
        f"prélèvement exécuté le {settled_on.isoformat()}",
        end_to_end_id=end_to_end_id,
    )


def will_represent(reason_code: str, attempts: int, policy: Representation) -> bool:
    """AM04, MS02, MS03 by default: presented again, ``times`` more times at most."""
    return reason_code in policy.reason_codes and attempts < 1 + policy.times


def reject(
    debit: Debit,
    end_to_end_id: str,
    reason_code: str,
    rejected_on: date,
    policy: Representation,
    calendar: BusinessCalendar,
) -> tuple[Debit, Change]:
    """FAILED for now (presented again ``business_days_later`` business days after the rejection),
    or finally FAILED."""
    if debit.state != "ORDERED":
        raise TransitionRefused(f"échéance {debit.sequence} : {debit.state}, aucun ordre en cours")
    if will_represent(reason_code, debit.attempts, policy):
        again = calendar.add_business_days(rejected_on, policy.business_days_later)
        return replace(debit, state="FAILED", next_attempt_on=again), Change(
            debit.sequence,
            "ORDERED",
            "FAILED",
            debit.attempts,
            f"rejet {reason_code} le {rejected_on.isoformat()} : nouvelle présentation le {again.isoformat()}",
            end_to_end_id=end_to_end_id,
            reason_code=reason_code,
            next_attempt_on=again,
        )
    why = "dernière tentative" if reason_code in policy.reason_codes else "motif sans nouvelle présentation"
    return replace(debit, state="FAILED", next_attempt_on=None), Change(
        debit.sequence,
        "ORDERED",
        "FAILED",
        debit.attempts,
        f"rejet {reason_code} le {rejected_on.isoformat()} : échec définitif ({why})",
        end_to_end_id=end_to_end_id,
        reason_code=reason_code,
        final=True,
    )


@dataclass(frozen=True)
class Completed:
    total_paid: Decimal


@dataclass(frozen=True)
class Defaulted:
    reason: str
    paid_so_far: Decimal
    cancelled: list[Debit]
    changes: list[Change]


def conclude(plan_state: PlanState, debits: Sequence[Debit], on: date) -> Completed | Defaulted | None:
    """What the plan becomes once its debits are as given: COMPLETED when every one is settled,
    DEFAULTED (the pending ones cancelled) when one finally failed, nothing otherwise. A plan that is
    over already stays as it is."""
    if plan_state != "ACTIVE":
        return None
    paid = sum((d.amount for d in debits if d.state == "SETTLED"), Decimal("0.00"))
    if debits and all(d.state == "SETTLED" for d in debits):
        return Completed(paid)
    failed = [d for d in debits if d.finally_failed]
    if not failed:
        return None
    return forfeit(plan_state, debits, on, f"échéance {failed[0].sequence} définitivement impayée")


def forfeit(plan_state: PlanState, debits: Sequence[Debit], on: date, reason: str) -> Defaulted | None:
    """The plan is DEFAULTED for ``reason``: a debit that finally failed (``conclude``), or requests'
    sweep (article 2, current contributions unpaid). The debits not yet sent are CANCELLED; an order
    already at the bank stays ORDERED, its answer kept as a payment. A plan over already is left."""
    if plan_state != "ACTIVE":
        return None
    paid = sum((d.amount for d in debits if d.state == "SETTLED"), Decimal("0.00"))
    pending = [d for d in debits if d.pending]
    cancelled = [replace(d, state="CANCELLED", next_attempt_on=None) for d in pending]
    changes = [
        Change(d.sequence, old.state, "CANCELLED", d.attempts, f"plan déchu le {on.isoformat()} : {reason}")
        for d, old in zip(cancelled, pending, strict=True)
    ]
    return Defaulted(reason, paid, cancelled, changes)
