"""A remission request and its lifecycle (domain.md, "Request lifecycle").

Each method checks the rule, changes the request and returns the history entry it makes; the
service writes both, and the events they imply, in one transaction. The perception's side of an
installment plan (its answer to the guarantee request, expiry, an operator's reopening) is in
``guarantees``.

Every reason a history entry (and so the request's own event) carries is bounded to
``REASON_MAX_LENGTH``, control characters made spaces: a partner's text copied in can never make our
event invalid.
"""

import unicodedata
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Literal
from uuid import UUID

from contracts.calendar import BusinessCalendar, due_dates
from contracts.debt import Perception
from contracts.perceptions import PERCEPTIONS
from contracts.programme import Modality, Programme
from contracts.refusals import Refusal
from contracts.requests import REASON_MAX_LENGTH, TERMINAL_STATES, Actor, Guarantee, Plan, RequestState
from contracts.simulation import Quote, ScheduledDebit

Event = Literal[
    "created",
    "modality_chosen",
    "bank_account_chosen",
    "validated",
    "awaiting_guarantee",
    "guarantee_deposited",
    "guarantee_refused",
    "expired",
    "withdrawn",
    "cancelled_inactive",
    "first_debit_settled",
    "completed",
    "defaulted",
    "reannounced",
    "guarantee_request_received",
    "late_guarantee_deposited",
    "reopened",
    "contributions_notice",
    "contributions_cured",
]

WITHDRAWABLE: frozenset[RequestState] = frozenset({"DRAFT", "AWAITING_GUARANTEE"})

UNKNOWN_PERCEPTION = Perception(code="INCONNUE", name="Perception non renseignée")
"""The office before auth announced the affiliate. No guarantee request goes to it any more (issue 16:
``validate`` refuses ``perception-inconnue``); requests an older version left waiting on it answer to
the office auth names since."""


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    event: Event
    from_state: RequestState | None
    to_state: RequestState
    actor: Actor
    reason: str


@dataclass(frozen=True)
class RemissionRequest:
    id: UUID
    affiliate: str
    programme: str
    state: RequestState
    created_at: datetime
    last_activity_at: datetime
    modality: Modality | None = None
    guarantee_obligation_accepted: bool = False
    bank_account_id: str | None = None
    quote: Quote | None = None
    cg_version: str | None = None
    guarantee_deadline: date | None = None
    validation_date: date | None = None
    schedule: list[ScheduledDebit] = field(default_factory=list)
    guarantee: Guarantee | None = None
    guarantee_perception: Perception | None = None
    """The office the guarantee request named: only its answer counts."""

    @property
    def in_progress(self) -> bool:
        return self.state not in TERMINAL_STATES

    def plan(self) -> Plan | None:
        if self.quote is None or self.validation_date is None or self.bank_account_id is None:
            return None
        return Plan(
            quote=self.quote,
            bank_account_id=self.bank_account_id,
            cg_version=self.cg_version or "",
            validation_date=self.validation_date,
            schedule=self.schedule,
            guarantee=self.guarantee,
        )


Change = tuple[RemissionRequest, HistoryEntry]


def bounded(text: str, limit: int = REASON_MAX_LENGTH) -> str:
    """``text`` as the request's events may carry it: control characters (NUL, which Postgres
    refuses, included) made spaces, and cut to ``limit`` characters, an ellipsis marking the cut."""
    clean = "".join(" " if unicodedata.category(c) == "Cc" else c for c in text)
    return clean if len(clean) <= limit else clean[: limit - 1] + "…"


def history_entry(
    request: RemissionRequest, to: RequestState, event: Event, at: datetime, actor: Actor, reason: str
) -> HistoryEntry:
    return HistoryEntry(at=at, event=event, from_state=request.state, to_state=to, actor=actor, reason=bounded(reason))


def _require_draft(request: RemissionRequest) -> None:
    if request.state != "DRAFT":
        raise Refusal(
            "demande-non-modifiable",
            "La demande n'est plus en brouillon : elle ne peut plus être modifiée.",
            state=request.state,
        )


def open_request(request_id: UUID, affiliate: str, programme: Programme, at: datetime, actor: Actor) -> Change:
    request = RemissionRequest(request_id, affiliate, programme.code, "DRAFT", at, at)
    entry = HistoryEntry(at, "created", None, "DRAFT", actor, "demande créée par l'affilié")
    return request, entry


def choose_modality(
    request: RemissionRequest, modality: Modality, obligation_accepted: bool, at: datetime, actor: Actor
) -> Change:
    _require_draft(request)
    if modality == "INSTALLMENTS" and not obligation_accepted:
        raise Refusal(
            "obligation-garanties-requise",
            "Le paiement par acomptes exige d'accepter l'obligation de déposer des garanties auprès de la perception.",
            kind="invalid",
        )
    changed = replace(
        request,
        modality=modality,
        guarantee_obligation_accepted=modality == "INSTALLMENTS" and obligation_accepted,
        quote=None,
        last_activity_at=at,
    )
    label = "paiement intégral" if modality == "FULL" else "paiement par acomptes"
    return changed, history_entry(request, "DRAFT", "modality_chosen", at, actor, f"modalité choisie : {label}")


def choose_bank_account(
    request: RemissionRequest, account_id: str, registered: set[str], at: datetime, actor: Actor
) -> Change:
    _require_draft(request)
    if account_id not in registered:
        raise Refusal(
            "compte-bancaire-inconnu",
            "Ce compte bancaire n'est pas enregistré pour cet affilié.",
            kind="invalid",
        )
    changed = replace(request, bank_account_id=account_id, last_activity_at=at)
    return changed, history_entry(
        request, "DRAFT", "bank_account_chosen", at, actor, "compte bancaire de prélèvement choisi"
    )


@dataclass(frozen=True)
class QuoteCheck:
    """What validation needs to know besides the quote: the debt version requests last saw and
    whether a newer quote was issued for the affiliate since."""

    known_debt_version: int | None
    newer_quote_exists: bool


def _check_quote(
    request: RemissionRequest, quote: Quote, check: QuoteCheck, programme: Programme, at: datetime
) -> None:
    again = "Veuillez relancer la simulation."
    if quote.affiliate != request.affiliate:
        raise Refusal("devis-autre-affilie", f"Ce devis concerne un autre affilié. {again}")
    if quote.programme != programme.code:
        raise Refusal("devis-autre-programme", f"Ce devis relève d'un autre programme. {again}")
    if quote.modality != request.modality:
        raise Refusal(
            "devis-autre-modalite",
            f"Ce devis a été calculé pour une autre modalité de paiement que celle de la demande. {again}",
        )
    if quote.expires_at <= at:
        raise Refusal("devis-expire", f"Ce devis a expiré. {again}", expired_at=quote.expires_at.isoformat())
    if check.known_debt_version is not None and quote.debt_version < check.known_debt_version:
        raise Refusal(
            "devis-perime", f"Votre créance a changé depuis cette simulation. {again}", debt_version=quote.debt_version
        )
    if check.newer_quote_exists:
        raise Refusal("devis-remplace", "Une simulation plus récente existe : validez la dernière simulation affichée.")


def redate(
    schedule: list[ScheduledDebit], validation_date: date, programme: Programme, calendar: BusinessCalendar
) -> list[ScheduledDebit]:
    """The quote dated its schedule from an assumed V; the plan runs from the real one."""
    dates = due_dates(validation_date, len(schedule), programme.debit_day)
    return [
        debit.model_copy(update={"due_date": due, "collection_date": calendar.on_or_after(due)})
        for debit, due in zip(schedule, dates, strict=True)
    ]


def validate(
    request: RemissionRequest,
    quote: Quote,
    check: QuoteCheck,
    cg_version: str,
    programme: Programme,
    calendar: BusinessCalendar,
    *,
    at: datetime,
    today: date,
    actor: Actor,
    perception: Perception | None = None,
    offices: Collection[str] = PERCEPTIONS,
) -> Change:
    """FULL: VALIDATED at once (V = today). INSTALLMENTS: waits for the guarantees until the deadline,
    from ``perception``, the affiliate's office, which must be one of ``offices`` (the registry: an
    office with a topic to be asked on); unknown (auth has not announced it) or another, refused."""
    _require_draft(request)
    if request.modality is None:
        raise Refusal("modalite-requise", "Choisissez d'abord la modalité de paiement.", kind="invalid")
    if request.bank_account_id is None:
        raise Refusal("compte-bancaire-requis", "Choisissez d'abord le compte bancaire à prélever.", kind="invalid")
    if cg_version != programme.conditions.version:
        raise Refusal(
            "cg-version-perimee",
            "Les conditions générales acceptées ne sont pas celles en vigueur : veuillez lire et accepter la "
            "version actuelle.",
            kind="invalid",
            cg_version=programme.conditions.version,
        )
    _check_quote(request, quote, check, programme, at)
    if request.modality == "INSTALLMENTS":
        _check_office_known(perception, offices)
    bound = replace(request, quote=quote, cg_version=cg_version, last_activity_at=at)
    if request.modality == "FULL":
        validated = replace(
            bound, state="VALIDATED", validation_date=today, schedule=redate(quote.schedule, today, programme, calendar)
        )
        return validated, history_entry(request, "VALIDATED", "validated", at, actor, "paiement intégral validé")
    deadline = today + timedelta(days=programme.guarantee_days)
    waiting = replace(
        bound,
        state="AWAITING_GUARANTEE",
        guarantee_deadline=deadline,
        guarantee_perception=perception or UNKNOWN_PERCEPTION,
    )
    reason = f"plan par acomptes validé ; garanties à déposer au plus tard le {deadline.isoformat()}"
    return waiting, history_entry(request, "AWAITING_GUARANTEE", "awaiting_guarantee", at, actor, reason)


def _check_office_known(perception: Perception | None, offices: Collection[str]) -> None:
    """A guarantee request never goes out to an office that cannot read it (issue 16): the affiliate
    waits for auth to name its office, or an operator adds the office to the registry."""
    if perception is None or perception.code == UNKNOWN_PERCEPTION.code:
        raise Refusal(
            "perception-inconnue",
            "La perception qui gère cet affilié n'est pas encore connue de la plateforme : les garanties ne"
            " peuvent pas lui être demandées. Réessayez dans quelques minutes, ou choisissez le paiement intégral.",
            perception=None,
        )
    if perception.code not in offices:
        raise Refusal(
            "perception-inconnue",
            f"La perception {perception.code} ({perception.name}) ne reçoit pas encore les demandes de garanties"
            " de la plateforme : adressez-vous à elle, ou choisissez le paiement intégral.",
            perception=perception.code,
        )


def withdraw(request: RemissionRequest, at: datetime, actor: Actor) -> Change:
    if request.state not in WITHDRAWABLE:
        raise Refusal(
            "retrait-impossible",
            "Seule une demande en brouillon ou en attente de garanties peut être retirée.",
            state=request.state,
        )
    return replace(request, state="CANCELLED"), history_entry(
        request, "CANCELLED", "withdrawn", at, actor, "retirée par l'affilié"
    )


SWEEP = Actor(kind="system", id="sweep")


def cancel_inactive(request: RemissionRequest, programme: Programme, at: datetime) -> Change:
    _require_draft(request)
    idle = timedelta(hours=programme.draft_inactivity_hours)
    if at - request.last_activity_at < idle:
        raise Refusal("brouillon-actif", "Le brouillon a servi récemment.")
    reason = f"brouillon inactif depuis plus de {programme.draft_inactivity_hours} heures"
    return replace(request, state="CANCELLED"), history_entry(
        request, "CANCELLED", "cancelled_inactive", at, SWEEP, reason
    )


def reannounce(request: RemissionRequest, at: datetime, waited: timedelta) -> HistoryEntry:
    """A validation debits has not answered with a plan: announced again, the state unchanged."""
    if request.state != "VALIDATED":
        raise Refusal("pas-de-validation-en-attente", "Seule une demande validée sans échéancier est ré-annoncée.")
    minutes = int(waited.total_seconds() // 60)
    reason = f"aucun échéancier reçu de debits en {minutes} minutes : validation annoncée de nouveau"
    return history_entry(request, "VALIDATED", "reannounced", at, SWEEP, reason)


DEBITS = Actor(kind="system", id="debits")
PAYING: frozenset[RequestState] = frozenset({"VALIDATED", "IN_PROGRESS"})


def require_paying(request: RemissionRequest) -> None:
    if request.state not in PAYING:
        raise Refusal("pas-de-plan-en-cours", "La demande n'a pas de plan de paiement en cours.", state=request.state)


def first_debit_settled(request: RemissionRequest, at: datetime) -> Change | None:
    """VALIDATED → IN_PROGRESS with the first debit paid; later ones change no state (None)."""
    require_paying(request)
    if request.state == "IN_PROGRESS":
        return None
    changed = replace(request, state="IN_PROGRESS")
    return changed, history_entry(request, "IN_PROGRESS", "first_debit_settled", at, DEBITS, "premier prélèvement payé")


def complete(request: RemissionRequest, at: datetime) -> Change:
    """Every debit paid: the remission is definitive."""
    require_paying(request)
    reason = "tous les prélèvements sont payés : la remise est définitive"
    return replace(request, state="COMPLETED"), history_entry(request, "COMPLETED", "completed", at, DEBITS, reason)


def default(request: RemissionRequest, reason: str, at: datetime) -> Change:
    """A debit finally failed: the remitted amounts are owed again (article 4)."""
    require_paying(request)
    why = f"déchéance : {reason}"
    return replace(request, state="DEFAULTED"), history_entry(request, "DEFAULTED", "defaulted", at, DEBITS, why)
