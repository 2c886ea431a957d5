"""simulation over HTTP: issue a quote, read it back, compare the tiers for a debt, show the programme in force."""

import json
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from contracts.identifiers import AffiliateNumber
from contracts.money import ZERO, Money
from contracts.programme import Modality, Programme, Rates
from contracts.simulation import RemiseAmounts, SealedQuote
from services.runtime.direct import DirectRoute
from services.runtime.http import Connection, CurrentPrincipal, require_affiliate
from services.runtime.problems import Problem
from services.runtime.seals import Sealer
from services.simulation.domain.options import Suggestion, TierOption
from services.simulation.domain.quote_terms import Remission
from services.simulation.entrypoints.dependencies import Dependencies
from services.simulation.service.options import Options, simulation_options
from services.simulation.service.quoting import QuoteRequest, issue_quote, read_quote

router = APIRouter(prefix="/v1", tags=["simulation"], route_class=DirectRoute)
"""The reads (a quote again, the programme) served without FastAPI's per-call solving of their
dependencies when the call allows (``runtime/direct.py``); the POSTs, which take a body, by FastAPI."""


class SimulationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    affiliate: AffiliateNumber
    modality: Modality
    advance: Money | None = Field(default=None, description='avance (paiement par acomptes), p. ex. "5000.00"')
    installments: Annotated[int, Field(ge=0, le=1000)] | None = Field(default=None, description="nombre d'échéances")


class OptionsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    affiliate: AffiliateNumber
    monthly_budget: Money | None = Field(
        default=None, description='ce que l\'affilié peut payer par mois, p. ex. "5000.00" ; absent : pas de suggestion'
    )


class OptionOut(BaseModel):
    """Un palier du programme appliqué à la créance de l'affilié, sans avance."""

    tier: str = Field(description="code du palier, p. ex. FULL, INSTALLMENTS_1_24")
    modality: Modality
    rates: Rates = Field(description="taux de remise du palier")
    remise: RemiseAmounts = Field(description="remise par catégorie et total, arrondie au centime")
    to_pay: Money = Field(description="montant à payer après remise")
    available: bool = Field(description="faux quand le palier ne permet aucun plan pour cette créance")
    min_installments: int | None = Field(
        description="plus petit nombre d'échéances permis sans avance (null : paiement intégral ou palier indisponible)"
    )
    max_installments: int | None = Field(description="plus grand nombre d'échéances permis sans avance")
    installment_at_min: Money | None = Field(description="montant d'une échéance au plus petit nombre permis")
    installment_at_max: Money | None = Field(description="montant d'une échéance au plus grand nombre permis")


class CountRangeOut(BaseModel):
    """Des nombres d'échéances consécutifs, bornes comprises."""

    min: int = Field(ge=1)
    max: int = Field(ge=1)


class SuggestionOut(BaseModel):
    """Le plan le moins cher dont chaque prélèvement tient dans le budget mensuel, sans avance."""

    modality: Modality
    tier: str = Field(description="code du palier")
    installments: int = Field(ge=0, description="nombre d'échéances (0 pour un paiement intégral)")
    to_pay: Money = Field(description="montant à payer après remise")
    remise: RemiseAmounts = Field(description="remise par catégorie et total")
    installment_amount: Money = Field(
        description="montant de chaque échéance sauf la dernière (paiement intégral : le prélèvement unique)"
    )
    last_installment_amount: Money = Field(
        description="montant de la dernière échéance, qui prend les centimes restants"
    )


class RefusalOut(BaseModel):
    code: str = Field(description="code stable, p. ex. budget-insuffisant")
    message: str = Field(description="explication en français")
    details: dict[str, str | int] = Field(description="valeurs utiles aux programmes, p. ex. minimum_monthly_budget")


class OptionsOut(BaseModel):
    """Comparaison des paliers pour la créance de l'affilié et, avec un budget mensuel, le plan suggéré.

    Rien n'est enregistré : ce n'est pas un devis, la dernière simulation de l'affilié reste inchangée."""

    affiliate: str
    debt_version: int = Field(description="la version de la créance sur laquelle la comparaison est calculée")
    options: list[OptionOut] = Field(description="un élément par palier, dans l'ordre du programme")
    installments_allowed: list[CountRangeOut] = Field(
        description="les nombres d'échéances permis sans avance, en plages triées et disjointes "
        "(p. ex. de 1 à 21 puis de 25 à 26) : ceux des paliers dont chaque échéance atteint le minimum ; "
        "vide : aucun plan par acomptes"
    )
    suggestion: SuggestionOut | None = Field(
        description="null sans budget, ou quand aucun plan ne tient dans le budget"
    )
    suggestion_refusal: RefusalOut | None = Field(description="pourquoi aucun plan n'est suggéré pour ce budget")


def _remission_out(remission: Remission) -> RemiseAmounts:
    return RemiseAmounts(
        principal=ZERO,
        majorations=remission.majorations,
        frais=remission.frais,
        astreintes=remission.astreintes,
        total=remission.total,
    )


def _option_out(option: TierOption) -> OptionOut:
    counts = option.installments
    return OptionOut(
        tier=option.tier,
        modality=option.modality,
        rates=option.rates,
        remise=_remission_out(option.remise),
        to_pay=option.to_pay,
        available=option.available,
        min_installments=counts[0] if counts else None,
        max_installments=counts[-1] if counts else None,
        installment_at_min=option.installment_at_min,
        installment_at_max=option.installment_at_max,
    )


def _suggestion_out(suggestion: Suggestion) -> SuggestionOut:
    return SuggestionOut(
        modality=suggestion.modality,
        tier=suggestion.tier,
        installments=suggestion.installments,
        to_pay=suggestion.to_pay,
        remise=_remission_out(suggestion.remise),
        installment_amount=suggestion.installment_amount,
        last_installment_amount=suggestion.last_installment_amount,
    )


def _options_out(found: Options) -> OptionsOut:
    refusal = found.suggestion_refusal
    return OptionsOut(
        affiliate=found.affiliate,
        debt_version=found.debt_version,
        options=[_option_out(option) for option in found.options],
        installments_allowed=[CountRangeOut(min=r.low, max=r.high) for r in found.installments],
        suggestion=None if found.suggestion is None else _suggestion_out(found.suggestion),
        suggestion_refusal=None
        if refusal is None
        else RefusalOut(code=refusal.code, message=refusal.message, details=refusal.details),
    )


def _sealed(sealer: Sealer | None, quote_json: str) -> str:
    """The quote's JSON with its seal (``SealedQuote``), spliced in: the quote is serialized once."""
    if sealer is None:
        return quote_json
    return f'{quote_json[:-1]},"seal":"{sealer.seal(quote_json.encode())}"}}'


@router.post(
    "/simulations",
    summary="Simuler la remise et l'échéancier (devis)",
    status_code=201,
    response_model=SealedQuote,
    responses={
        401: {"description": "Non authentifié"},
        404: {"description": "Affilié introuvable pour ce compte, ou aucune créance connue"},
        422: {"description": "Paramètres refusés par le programme (code stable et plage permise)"},
    },
)
async def simulate(body: SimulationIn, principal: CurrentPrincipal, deps: Dependencies, conn: Connection) -> Response:
    require_affiliate(principal, body.affiliate)
    quote_request = QuoteRequest(body.affiliate, body.modality, body.advance or ZERO, body.installments or 0)
    # Refused (404 creance-introuvable, 422 with the allowed range): the runtime's one refusal handler.
    quote, text = await issue_quote(conn, deps.rules, deps.platform.clock, quote_request)
    return Response(
        _sealed(deps.sealer, text),
        status_code=201,
        media_type="application/json",
        headers={"location": f"/v1/simulations/{quote.quote_id}"},
    )


@router.post(
    "/simulations/options",
    summary="Comparer les paliers du programme et suggérer le plan le moins cher pour un budget mensuel",
    response_model=OptionsOut,
    responses={
        401: {"description": "Non authentifié"},
        404: {"description": "Affilié introuvable pour ce compte, ou aucune créance connue"},
        422: {"description": "Créance refusée par le programme (rien à remettre), ou requête invalide"},
    },
)
async def options(body: OptionsIn, principal: CurrentPrincipal, deps: Dependencies, conn: Connection) -> Response:
    """Lecture seule : aucun devis n'est émis ni annoncé, la dernière simulation de l'affilié reste celle
    qu'il a demandée. Un budget qu'aucun plan ne permet n'est pas une erreur : ``suggestion_refusal``."""
    require_affiliate(principal, body.affiliate)
    found = await simulation_options(conn, deps.rules, body.affiliate, body.monthly_budget)
    return Response(_options_out(found).model_dump_json(), media_type="application/json")


@router.get(
    "/simulations/{quote_id}",
    summary="Relire un devis émis",
    response_model=SealedQuote,
    responses={401: {"description": "Non authentifié"}, 404: {"description": "Devis introuvable pour ce compte"}},
)
async def quote(quote_id: UUID, principal: CurrentPrincipal, deps: Dependencies, conn: Connection) -> Response:
    found = await read_quote(conn, quote_id)
    # Someone else's quote answers exactly like a missing one: nothing leaks.
    if found is None or not principal.holds(found[0]):
        raise Problem(404, "devis-introuvable", "Devis introuvable pour ce compte.")
    return Response(_sealed(deps.sealer, found[1]), media_type="application/json")


def programme_document(programme: Programme) -> bytes:
    """``GET /v1/programme``: the programme file, and the installment counts its tiers allow as
    ranges (``installments_allowed``), so no client derives them from the tiers itself."""
    document = programme.model_dump(mode="json")
    document["installments_allowed"] = [r.as_json() for r in programme.allowed_installment_ranges()]
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


@router.get("/programme", summary="Le programme de remise en vigueur (taux, plafonds, dates)")
async def programme(deps: Dependencies) -> Response:
    return Response(deps.programme_json, media_type="application/json")
