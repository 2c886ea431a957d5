"""The perception's side of an installment request: its answer to the guarantee request, the
deadline's expiry, and an operator's reopening (domain.md, "Request lifecycle").

A perception's answer (issue 13) counts only when it comes from the office the guarantee request
named (``guarantee_perception``; when that was unknown, ``INCONNUE``, the office auth names for the
affiliate now) and is dated between the submission (the day the affiliate validated, the deadline less
the programme's guarantee days) and today, a deposit no later than the deadline. Its date is V, from
which the schedule runs: a deposit dated 400 days back would put every debit of the plan in the past.
Anything else is refused, for an operator, and changes nothing.
"""

from dataclasses import replace
from datetime import date, datetime, timedelta

from contracts.calendar import BusinessCalendar
from contracts.programme import Programme
from contracts.refusals import Refusal
from contracts.requests import Actor, Guarantee
from services.requests.domain.request import (
    SWEEP,
    UNKNOWN_PERCEPTION,
    Change,
    HistoryEntry,
    RemissionRequest,
    history_entry,
    redate,
)


def _require_awaiting(request: RemissionRequest) -> None:
    if request.state != "AWAITING_GUARANTEE":
        raise Refusal("pas-en-attente-de-garanties", "La demande n'attend pas de garanties.", state=request.state)


def submitted_on(request: RemissionRequest, programme: Programme) -> date:
    """The day the affiliate validated an installment plan: ``validate`` set the deadline from it."""
    assert request.guarantee_deadline is not None
    return request.guarantee_deadline - timedelta(days=programme.guarantee_days)


def _check_office(request: RemissionRequest, office: str, affiliate_office: str | None) -> None:
    asked = (request.guarantee_perception or UNKNOWN_PERCEPTION).code
    if office != asked and not (asked == UNKNOWN_PERCEPTION.code and office == affiliate_office):
        raise Refusal(
            "perception-non-sollicitee",
            f"Réponse de la perception {office} : les garanties ont été demandées à la perception {asked}.",
        )


def receive_guarantee_request(
    request: RemissionRequest, actor: Actor, at: datetime, *, affiliate_office: str | None
) -> HistoryEntry | None:
    """The office asked acknowledges the guarantee request: a line in the history (the service
    records the first only). One for a request that no longer waits (its deposit or the deadline came
    first) changes nothing (None); one from an office that was not asked is refused."""
    if request.state != "AWAITING_GUARANTEE":
        return None
    _check_office(request, actor.id, affiliate_office)
    reason = f"demande de garanties reçue par la perception {actor.id}"
    return history_entry(request, "AWAITING_GUARANTEE", "guarantee_request_received", at, actor, reason)


def reannounce_guarantee_request(request: RemissionRequest, at: datetime, waited: timedelta) -> HistoryEntry:
    """A guarantee request its office has not acknowledged: sent to the office again, the state
    unchanged (the deadline too: it runs from the submission)."""
    _require_awaiting(request)
    minutes = int(waited.total_seconds() // 60)
    office = (request.guarantee_perception or UNKNOWN_PERCEPTION).code
    reason = (
        f"aucun accusé de réception de la perception {office} en {minutes} minutes :"
        " demande de garanties envoyée de nouveau"
    )
    return history_entry(request, "AWAITING_GUARANTEE", "reannounced", at, SWEEP, reason)


def _check_answer(
    request: RemissionRequest,
    office: str,
    answered_on: date,
    *,
    today: date,
    programme: Programme,
    affiliate_office: str | None,
) -> None:
    """A perception's answer counts when the office asked gave it, dated from the submission to
    min(today, deadline). ``affiliate_office``: auth's office for the affiliate now, which may answer
    a request sent while it was unknown."""
    _require_awaiting(request)
    _check_office(request, office, affiliate_office)
    assert request.guarantee_deadline is not None
    submitted = submitted_on(request, programme)
    if answered_on < submitted:
        raise Refusal(
            "reponse-avant-la-demande",
            f"Réponse datée du {answered_on.isoformat()}, avant la demande du {submitted.isoformat()}.",
        )
    if answered_on > today:
        raise Refusal(
            "reponse-dans-le-futur",
            f"Réponse datée du {answered_on.isoformat()}, après aujourd'hui ({today.isoformat()}).",
        )
    if answered_on > request.guarantee_deadline:
        raise Refusal(
            "garanties-hors-delai",
            f"Réponse datée du {answered_on.isoformat()}, après le délai de dépôt des garanties "
            f"({request.guarantee_deadline.isoformat()}).",
        )


def deposit_guarantee(
    request: RemissionRequest,
    guarantee: Guarantee,
    deposit_date: date,
    programme: Programme,
    calendar: BusinessCalendar,
    actor: Actor,
    *,
    today: date,
    affiliate_office: str | None = None,
) -> Change:
    """The guarantee recorded at the perception validates the plan; its date (``deposit_date``, in
    Casablanca) is V, from which the schedule runs. Refused unless ``_check_answer`` accepts it."""
    _check_answer(
        request, guarantee.perception, deposit_date, today=today, programme=programme, affiliate_office=affiliate_office
    )
    assert request.quote is not None
    validated = replace(
        request,
        state="VALIDATED",
        guarantee=guarantee,
        validation_date=deposit_date,
        schedule=redate(request.quote.schedule, deposit_date, programme, calendar),
    )
    reason = f"garanties déposées à la perception {guarantee.perception} (référence {guarantee.reference})"
    return validated, history_entry(request, "VALIDATED", "guarantee_deposited", guarantee.deposited_at, actor, reason)


def refuse_guarantee(
    request: RemissionRequest,
    reason: str,
    at: datetime,
    actor: Actor,
    *,
    refused_on: date,
    today: date,
    programme: Programme,
    affiliate_office: str | None = None,
) -> Change:
    """The office asked refuses the guarantees (``actor.id``; ``refused_on`` is ``at`` in Casablanca).
    Its reason, up to 500 characters, is copied behind a prefix: the entry bounds it."""
    _check_answer(request, actor.id, refused_on, today=today, programme=programme, affiliate_office=affiliate_office)
    rejected = replace(request, state="REJECTED")
    return rejected, history_entry(
        request, "REJECTED", "guarantee_refused", at, actor, f"garanties refusées : {reason}"
    )


def deposit_after_expiry(
    request: RemissionRequest,
    guarantee: Guarantee,
    deposit_date: date,
    programme: Programme,
    actor: Actor,
    *,
    today: date,
    affiliate_office: str | None = None,
) -> Change:
    """A deposit the office asked records for a request the sweep already expired (it came after the
    sweep, or was dated later than the deadline). Kept on the request, the state unchanged: an
    operator may reopen it (``reopen``) when it was deposited within the deadline. Refused like any
    answer when it comes from another office or is dated before the request or after today."""
    if request.state != "EXPIRED" or request.guarantee is not None:
        raise Refusal("pas-en-attente-de-garanties", "La demande n'attend pas de garanties.", state=request.state)
    _check_office(request, guarantee.perception, affiliate_office)
    assert request.guarantee_deadline is not None
    if deposit_date < submitted_on(request, programme) or deposit_date > today:
        raise Refusal("depot-mal-date", f"Dépôt daté du {deposit_date.isoformat()}, hors de la vie de la demande.")
    deadline = request.guarantee_deadline
    outcome = (
        "dans le délai : un opérateur peut rouvrir la demande"
        if deposit_date <= deadline
        else f"après le délai du {deadline.isoformat()} : la demande reste expirée"
    )
    reason = (
        f"garanties déposées à la perception {guarantee.perception} le {deposit_date.isoformat()}"
        f" (référence {guarantee.reference}), reçues après l'expiration ; {outcome}"
    )
    kept = replace(request, guarantee=guarantee)
    return kept, history_entry(request, "EXPIRED", "late_guarantee_deposited", guarantee.deposited_at, actor, reason)


def operator(name: str) -> Actor:
    """An operator acting by the command line; the topics' contract knows a system actor only."""
    return Actor(kind="system", id=f"operateur:{name}")


def reopen(
    request: RemissionRequest,
    deposit_date: date | None,
    programme: Programme,
    calendar: BusinessCalendar,
    at: datetime,
    actor: Actor,
    why: str,
) -> Change:
    """An operator validates an expired request whose guarantees its office recorded within the
    deadline (``deposit_date``, in Casablanca): V is the deposit date, as for a deposit in time."""
    if request.state != "EXPIRED":
        raise Refusal("demande-non-expiree", "Seule une demande expirée peut être rouverte.", state=request.state)
    if request.guarantee is None or deposit_date is None:
        raise Refusal("aucun-depot-recu", "Aucun dépôt de garanties n'a été reçu de la perception pour cette demande.")
    assert request.guarantee_deadline is not None and request.quote is not None
    if deposit_date > request.guarantee_deadline:
        raise Refusal(
            "depot-hors-delai",
            f"Garanties déposées le {deposit_date.isoformat()}, après le délai du "
            f"{request.guarantee_deadline.isoformat()} : la demande reste expirée.",
        )
    if not why.strip():
        raise Refusal("motif-requis", "Le motif de la réouverture est requis.")
    validated = replace(
        request,
        state="VALIDATED",
        validation_date=deposit_date,
        schedule=redate(request.quote.schedule, deposit_date, programme, calendar),
    )
    reason = (
        f"rouverte par {actor.id.removeprefix('operateur:')} : {why.strip()} ; garanties déposées le "
        f"{deposit_date.isoformat()}, dans le délai du {request.guarantee_deadline.isoformat()}"
    )
    return validated, history_entry(request, "VALIDATED", "reopened", at, actor, reason)


def expire(request: RemissionRequest, today: date, at: datetime) -> Change:
    _require_awaiting(request)
    assert request.guarantee_deadline is not None
    if today <= request.guarantee_deadline:
        raise Refusal("delai-non-echu", "Le délai de dépôt des garanties court encore.")
    reason = f"aucune garantie déposée au {request.guarantee_deadline.isoformat()}"
    return replace(request, state="EXPIRED"), history_entry(request, "EXPIRED", "expired", at, SWEEP, reason)
