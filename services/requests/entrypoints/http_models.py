"""The shapes requests answers with over HTTP (documented in its OpenAPI page)."""

from datetime import date, datetime
from decimal import Decimal
from typing import Literal
from uuid import UUID

from pydantic import BaseModel

from contracts.debits import BankAccount
from contracts.programme import Modality
from contracts.requests import Actor, Guarantee, RequestState
from contracts.simulation import Quote, ScheduledDebit
from services.requests.domain.obligations import HealthState, PeriodHealth
from services.requests.domain.request import WITHDRAWABLE, HistoryEntry, RemissionRequest

Action = Literal["choose_modality", "choose_bank_account", "validate", "withdraw"]


class HistoryOut(BaseModel):
    at: datetime
    event: str
    from_state: RequestState | None
    to_state: RequestState
    actor: Actor
    reason: str


class RequestOut(BaseModel):
    id: UUID
    affiliate: str
    programme: str
    state: RequestState
    modality: Modality | None
    guarantee_obligation_accepted: bool
    bank_account_id: str | None
    bank_account: BankAccount | None
    quote: Quote | None
    cg_version: str | None
    guarantee_deadline: date | None
    validation_date: date | None
    schedule: list[ScheduledDebit]
    guarantee: Guarantee | None
    created_at: datetime
    last_activity_at: datetime
    actions: list[Action]
    history: list[HistoryOut]


class ContributionOut(BaseModel):
    """One current period booked since V (article 2): what is due, by when, and whether it is paid."""

    period: str
    due_on: date
    grace_until: date
    amount: Decimal
    outstanding: Decimal
    paid_on: date | None
    state: HealthState
    cure_deadline: date | None


class PlanHealthOut(BaseModel):
    request_id: UUID
    as_of: date
    contributions: list[ContributionOut]


def plan_health_out(request_id: UUID, today: date, health: list[PeriodHealth]) -> PlanHealthOut:
    return PlanHealthOut(
        request_id=request_id,
        as_of=today,
        contributions=[
            ContributionOut(
                period=h.period,
                due_on=h.due_on,
                grace_until=h.breach_on,
                amount=h.amount,
                outstanding=h.outstanding,
                paid_on=h.paid_on,
                state=h.state,
                cure_deadline=h.cure_deadline,
            )
            for h in health
        ],
    )


def actions(request: RemissionRequest) -> list[Action]:
    allowed: list[Action] = []
    if request.state == "DRAFT":
        allowed += ["choose_modality", "choose_bank_account"]
        if request.modality and request.bank_account_id:
            allowed.append("validate")
    if request.state in WITHDRAWABLE:
        allowed.append("withdraw")
    return allowed


def request_out(request: RemissionRequest, history: list[HistoryEntry], accounts: list[BankAccount]) -> RequestOut:
    account = next((a for a in accounts if a.id == request.bank_account_id), None)
    return RequestOut(
        id=request.id,
        affiliate=request.affiliate,
        programme=request.programme,
        state=request.state,
        modality=request.modality,
        guarantee_obligation_accepted=request.guarantee_obligation_accepted,
        bank_account_id=request.bank_account_id,
        bank_account=account,
        quote=request.quote,
        cg_version=request.cg_version,
        guarantee_deadline=request.guarantee_deadline,
        validation_date=request.validation_date,
        schedule=request.schedule,
        guarantee=request.guarantee,
        created_at=request.created_at,
        last_activity_at=request.last_activity_at,
        actions=actions(request),
        history=[
            HistoryOut(
                at=e.at, event=e.event, from_state=e.from_state, to_state=e.to_state, actor=e.actor, reason=e.reason
            )
            for e in history
        ],
    )
