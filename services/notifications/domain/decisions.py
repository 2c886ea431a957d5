"""From what happened (the events other services publish) to what the affiliate is told: pure.

Each function takes an event's payload, and what this service keeps of the request (``RequestView``)
where the event alone does not say enough, and returns the notices to send (often none: most events
tell the affiliate nothing new).
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from contracts.debits import DebitChangedPayload
from contracts.requests import RequestStateChangedPayload
from services.notifications.domain.notices import Kind, Notice


@dataclass(frozen=True)
class RequestView:
    """What notifications keeps of a request, from requests' events: enough to word a reminder, to
    know whether it is still true, and to state the remise on the attestation."""

    request_id: str
    affiliate: str
    state: str
    modality: str | None = None
    office: str | None = None
    guarantee_amount: str | None = None
    guarantee_deadline: date | None = None
    bank_account_id: str | None = None
    to_pay: str | None = None
    remise: str | None = None


def short(request_id: str) -> str:
    """The request's number as the portal prints it on the receipt: its first 8 characters, upper case."""
    return request_id[:8].upper()


def _facts(view: RequestView, **more: str) -> dict[str, str]:
    return {"request": short(view.request_id), "affiliate": view.affiliate, **more}


def view_after(before: RequestView | None, event: RequestStateChangedPayload) -> RequestView:
    """The request as it stands after ``event``: its state, and what the event adds (the guarantee
    asked, the validated plan)."""
    rid = str(event.request_id)
    view = before or RequestView(request_id=rid, affiliate=event.affiliate, state=event.state)
    changes: dict[str, object] = {"state": event.state, "modality": event.modality or view.modality}
    if event.guarantee_due is not None:
        due = event.guarantee_due
        changes |= {
            "office": due.perception.name,
            "guarantee_amount": str(due.amount),
            "guarantee_deadline": due.deadline,
        }
    if event.plan is not None:
        quote = event.plan.quote
        changes |= {
            "bank_account_id": event.plan.bank_account_id,
            "to_pay": str(quote.to_pay),
            "remise": str(quote.remise.total),
        }
    return RequestView(**(view.__dict__ | changes))


def on_request_event(event: RequestStateChangedPayload, view: RequestView) -> list[Notice]:
    """``view``: the request after the event (``view_after``)."""
    if event.notice is not None:
        return _noticed(event, view)
    told = _TOLD.get(event.state)
    return told(event, view) if told else []


def _awaiting(event: RequestStateChangedPayload, view: RequestView) -> list[Notice]:
    if view.guarantee_deadline is None or view.office is None or view.guarantee_amount is None:
        return []  # an event from before requests said what is due: nothing precise to tell
    rid, deadline = str(event.request_id), view.guarantee_deadline.isoformat()
    facts = _facts(view, office=view.office, amount=view.guarantee_amount, deadline=deadline)
    return [Notice("guarantee_required", event.affiliate, rid, f"{rid}:{deadline}", facts)]


def _validated(event: RequestStateChangedPayload, view: RequestView) -> list[Notice]:
    if event.plan is None:
        return []
    plan, rid = event.plan, str(event.request_id)
    first = plan.schedule[0] if plan.schedule else None
    facts = _facts(
        view,
        to_pay=str(plan.quote.to_pay),
        remise=str(plan.quote.remise.total),
        first_amount=str(first.amount) if first else "0.00",
        first_collection=first.collection_date.isoformat() if first else plan.validation_date.isoformat(),
    )
    kind: Kind = "guarantees_accepted" if event.previous_state == "AWAITING_GUARANTEE" else "request_validated"
    return [Notice(kind, event.affiliate, rid, rid, facts)]


def _rejected(event: RequestStateChangedPayload, view: RequestView) -> list[Notice]:
    """The office refused the guarantees: requests rejects the request, with the office's reason."""
    if event.previous_state != "AWAITING_GUARANTEE":
        return []
    rid = str(event.request_id)
    return [
        Notice(
            "guarantees_refused", event.affiliate, rid, rid, _facts(view, office=view.office or "", reason=event.reason)
        )
    ]


def _expired(event: RequestStateChangedPayload, view: RequestView) -> list[Notice]:
    if event.previous_state != "AWAITING_GUARANTEE":
        return []
    rid = str(event.request_id)
    deadline = view.guarantee_deadline.isoformat() if view.guarantee_deadline else event.at.date().isoformat()
    return [Notice("guarantee_deadline_passed", event.affiliate, rid, rid, _facts(view, deadline=deadline))]


def _noticed(event: RequestStateChangedPayload, view: RequestView) -> list[Notice]:
    """Article 2: a current period unpaid after its grace; the plan is defaulted unless it is paid by
    the cure deadline. Told once per period."""
    assert event.notice is not None
    notice, rid = event.notice, str(event.request_id)
    facts = _facts(
        view,
        period=notice.period,
        amount=str(notice.amount),
        due_on=notice.due_on.isoformat(),
        deadline=notice.cure_deadline.isoformat(),
    )
    return [Notice("contributions_notice", event.affiliate, rid, f"{rid}:{notice.period}", facts)]


def _defaulted(event: RequestStateChangedPayload, view: RequestView) -> list[Notice]:
    rid = str(event.request_id)
    facts = _facts(view, reason=event.reason, remise=view.remise or "0.00")  # the remise owed again
    return [Notice("plan_defaulted", event.affiliate, rid, rid, facts)]


def _completed(event: RequestStateChangedPayload, view: RequestView) -> list[Notice]:
    rid = str(event.request_id)
    facts = _facts(view, remise=view.remise or "0.00", completed_on=event.at.date().isoformat())
    return [Notice("plan_completed", event.affiliate, rid, rid, facts)]


_TOLD: dict[str, Callable[[RequestStateChangedPayload, RequestView], list[Notice]]] = {
    "AWAITING_GUARANTEE": _awaiting,
    "VALIDATED": _validated,
    "REJECTED": _rejected,
    "EXPIRED": _expired,
    "DEFAULTED": _defaulted,
    "COMPLETED": _completed,
}
"""what each state the request reaches tells its affiliate (the others: nothing)"""


def on_debit_changed(event: DebitChangedPayload) -> list[Notice]:
    """A rejection by the bank (a reason code): what happens next, presented again or the default."""
    if event.reason_code is None or event.debit.state != "FAILED":
        return []
    rid = str(event.request_id)
    debit = event.debit
    facts = {
        "request": short(rid),
        "affiliate": event.affiliate,
        "amount": str(debit.amount),
        "sequence": str(debit.sequence),
        "reason_code": event.reason_code,
        "next_attempt_on": event.next_attempt_on.isoformat() if event.next_attempt_on and not event.final else "",
    }
    key = f"{rid}:{debit.sequence}:{debit.attempts}"
    return [Notice("debit_rejected", event.affiliate, rid, key, facts)]
