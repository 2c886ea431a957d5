"""debt over HTTP: the consolidated debt of an affiliate the caller holds; for operators, the count
of plan events waiting for their request's validation."""

import json
from datetime import date, datetime
from typing import Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from contracts.money import Money
from services.debt.adapters.pending import PendingRepository
from services.debt.adapters.repository import PositionRepository
from services.debt.domain.position import Position
from services.debt.entrypoints.dependencies import Dependencies
from services.debt.service.read_models import debt_view_json
from services.runtime.direct import DirectRoute
from services.runtime.http import AffiliatePath, Connection, CurrentPrincipal, require_affiliate
from services.runtime.paging import LINK_HEADER, Page, page_of

router = APIRouter(prefix="/v1", tags=["créance"], route_class=DirectRoute)
"""The portal reads an affiliate's debt on most of its pages: served without FastAPI's per-call
solving of the dependencies when the call allows (``runtime/direct.py``)."""


class AmountsOut(BaseModel):
    due: Money
    paid: Money
    outstanding: Money = Field(description="dû − payé − annulé par une remise devenue définitive")


class PeriodOut(BaseModel):
    period: str
    eligible: bool
    principal: AmountsOut
    majorations: AmountsOut
    astreintes: AmountsOut
    frais: AmountsOut


class CategoryTotals(BaseModel):
    principal: Money
    majorations: Money
    astreintes: Money
    frais: Money
    total: Money


class TotalsOut(BaseModel):
    eligible: CategoryTotals
    non_eligible: CategoryTotals


class PerceptionOut(BaseModel):
    code: str
    name: str


class ArrangementOut(BaseModel):
    arrangement_id: str
    perception: PerceptionOut
    opened_on: date


class RemiseOut(CategoryTotals):
    pass


class RemissionPeriodOut(BaseModel):
    period: str
    principal: Money
    majorations: Money
    astreintes: Money
    frais: Money


class RemissionOut(BaseModel):
    """The remission of the latest validated plan: PENDING while it runs (shown, not yet deducted),
    DEFINITIVE once completed (written off), REINSTATED once defaulted (owed again)."""

    request_id: str
    state: Literal["PENDING", "DEFINITIVE", "REINSTATED"]
    eligible_periods: list[str]
    remise: RemiseOut
    to_pay: Money
    paid: Money = Field(description="payé sur le plan et imputé")
    unapplied: Money = Field(description="payé au-delà des montants couverts par le plan")
    periods: list[RemissionPeriodOut] = Field(description="la remise répartie par période éligible")


class DebtOut(BaseModel):
    """The documented shape of the debt; ``tests/unit/test_debt_view.py`` holds the stored document to it."""

    affiliate: str
    version: int
    eligibility_cutoff: str
    periods: list[PeriodOut]
    totals: TotalsOut
    arrangement: ArrangementOut | None
    remission: RemissionOut | None


@router.get(
    "/affiliates/{numero}/debt",
    summary="La créance consolidée d'un affilié",
    response_model=DebtOut,
    responses={
        200: {"headers": LINK_HEADER},
        401: {"description": "Non authentifié"},
        404: {"description": "Affilié introuvable pour ce compte"},
    },
)
async def consolidated_debt(
    numero: AffiliatePath,
    principal: CurrentPrincipal,
    deps: Dependencies,
    conn: Connection,
    page: Page,
    request: Request,
    response: Response,
) -> Response:
    """``limit``/``cursor`` page the periods; the totals are always the whole position's."""
    require_affiliate(principal, numero)
    view = await PositionRepository(conn).view_of(numero)
    if view is None:  # held by the account, but nothing booked yet: an empty position
        view = debt_view_json(Position.of(numero, 0, (), None), deps.eligibility_cutoff)
    if page.whole:
        # Served as stored: debt_view_json built it in the transaction that last changed the position.
        return Response(view.encode(), media_type="application/json")
    document = json.loads(view)
    document["periods"] = page_of(document["periods"], lambda p: [p["period"]], page, request, response)
    link = {"Link": response.headers["link"]} if "link" in response.headers else None
    return Response(json.dumps(document, ensure_ascii=False).encode(), media_type="application/json", headers=link)


health_router = APIRouter(tags=["santé"])


class PendingPlanEventsOut(BaseModel):
    waiting: int = Field(description="événements de plan (prélèvement payé, plan soldé ou déchu) en attente")
    refused: int = Field(description="inapplicables une fois leur demande VALIDATED vue : partent en .dlq au balayage")
    oldest_received_at: datetime | None = Field(description="réception du plus ancien en attente")
    max_wait_seconds: float = Field(description="au-delà, un événement en attente part en debits.events.v1.dlq")
    sweeps: int = Field(
        description="passages du balayage depuis le démarrage : s'il n'avance plus, le balayage est arrêté"
    )


@health_router.get(
    "/health/pending",
    summary="Événements de plan reçus avant la validation de leur demande (exploitation)",
    response_model=PendingPlanEventsOut,
)
async def pending_plan_events(deps: Dependencies, conn: Connection) -> PendingPlanEventsOut:
    """How many plan events wait for their request's VALIDATED (``docs/operations.md``): a count, no
    affiliate data, like the other health endpoints."""
    summary = await PendingRepository(conn).summary()
    return PendingPlanEventsOut(
        waiting=summary.waiting,
        refused=summary.refused,
        oldest_received_at=summary.oldest_received_at,
        max_wait_seconds=deps.plan_event_max_wait_seconds,
        sweeps=sum(sweeper.passes for sweeper in deps.pending_sweepers),
    )
