"""simulation over HTTP: issue a quote, read it back, show the programme in force."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from contracts.identifiers import AffiliateNumber
from contracts.money import ZERO, Money
from contracts.programme import Modality
from contracts.simulation import Quote
from services.runtime.http import CurrentPrincipal, platform_of, require_affiliate
from services.runtime.problems import Problem
from services.simulation.domain.refus import RefusSimulation
from services.simulation.service.quotes import Demande, PositionInconnue, Regles, issue_quote, read_quote

router = APIRouter(prefix="/v1", tags=["simulation"])


class SimulationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    affiliate: AffiliateNumber
    modality: Modality
    advance: Money | None = Field(default=None, description='avance (paiement par acomptes), p. ex. "5000.00"')
    installments: Annotated[int, Field(ge=0, le=1000)] | None = Field(default=None, description="nombre d'échéances")


def _regles(request: Request) -> Regles:
    regles: Regles = request.app.state.regles
    return regles


def _position_inconnue() -> Problem:
    return Problem(404, "creance-introuvable", "Aucune créance connue pour cet affilié.")


@router.post(
    "/simulations",
    summary="Simuler la remise et l'échéancier (devis)",
    status_code=201,
    response_model=Quote,
    responses={
        401: {"description": "Non authentifié"},
        404: {"description": "Affilié introuvable pour ce compte, ou aucune créance connue"},
        422: {"description": "Paramètres refusés par le programme (code stable et plage permise)"},
    },
)
async def simulate(body: SimulationIn, principal: CurrentPrincipal, request: Request) -> Response:
    require_affiliate(principal, body.affiliate)
    platform = platform_of(request)
    assert platform.pool is not None
    demande = Demande(body.affiliate, body.modality, body.advance or ZERO, body.installments or 0)
    try:
        async with platform.pool.acquire() as conn:
            quote, text = await issue_quote(conn, _regles(request), platform.clock, demande)
    except PositionInconnue:
        raise _position_inconnue() from None
    except RefusSimulation as refus:
        problem = Problem(422, refus.code, refus.message)
        problem.extra.update(refus.details)  # the allowed range, for programs
        raise problem from None
    return Response(
        text,
        status_code=201,
        media_type="application/json",
        headers={"location": f"/v1/simulations/{quote.quote_id}"},
    )


@router.get(
    "/simulations/{quote_id}",
    summary="Relire un devis émis",
    response_model=Quote,
    responses={401: {"description": "Non authentifié"}, 404: {"description": "Devis introuvable pour ce compte"}},
)
async def quote(quote_id: UUID, principal: CurrentPrincipal, request: Request) -> Response:
    platform = platform_of(request)
    assert platform.pool is not None
    async with platform.pool.acquire() as conn:
        found = await read_quote(conn, quote_id)
    # Someone else's quote answers exactly like a missing one: nothing leaks.
    if found is None or not principal.holds(found[0]):
        raise Problem(404, "devis-introuvable", "Devis introuvable pour ce compte.")
    return Response(found[1], media_type="application/json")


@router.get("/programme", summary="Le programme de remise en vigueur (taux, plafonds, dates)")
async def programme(request: Request) -> Response:
    return Response(request.app.state.programme_json, media_type="application/json")
