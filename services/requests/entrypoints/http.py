"""requests over HTTP: the steps of the guide from "nouvelle demande" to "prise en charge"."""

from typing import Any
from uuid import UUID

import asyncpg
from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from contracts.identifiers import PRINTABLE, AffiliateNumber
from contracts.programme import Modality
from contracts.requests import Actor
from contracts.simulation import Quote
from services.requests.adapters.repository import ProjectionRepository, RequestRepository
from services.requests.domain.request import RemissionRequest
from services.requests.entrypoints.dependencies import Dependencies
from services.requests.entrypoints.http_models import PlanHealthOut, RequestOut, plan_health_out, request_out
from services.requests.service import lifecycle, obligations
from services.requests.service.quote_arrivals import kept_sealed_quote, opened_seal
from services.runtime.clock import business_date
from services.runtime.db import snapshot
from services.runtime.direct import DirectRoute
from services.runtime.http import (
    AffiliatePath,
    AffiliateQuery,
    Connection,
    CurrentPrincipal,
    StartingConnection,
    require_affiliate,
)
from services.runtime.paging import LINK_HEADER, Page, page_of
from services.runtime.problems import Problem
from services.runtime.tokens import Principal
from services.runtime.turns import Priority

router = APIRouter(prefix="/v1", tags=["demandes"], route_class=DirectRoute)
"""Routes without a body or a query of their own (a request, read on most of the portal's pages; its
contributions; the conditions; the eligibility; a withdrawal) are served without FastAPI's per-call
solving of their dependencies when the call allows (``runtime/direct.py``); the others by FastAPI."""


class NewRequest(BaseModel):
    affiliate: AffiliateNumber


class ModalityChoice(BaseModel):
    modality: Modality
    guarantee_obligation_accepted: bool = False


class BankAccountChoice(BaseModel):
    bank_account_id: str = Field(min_length=1, max_length=64, pattern=PRINTABLE)


class Validation(BaseModel):
    quote_id: UUID
    cg_version: str = Field(min_length=1, max_length=32, pattern=PRINTABLE)
    cg_accepted: bool
    quote_seal: str | None = Field(
        default=None,
        max_length=65_536,
        pattern=r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$",  # a compact JWS
        description="le sceau du devis tel que simulation l'a rendu (champ « seal ») : la validation n'attend pas "
        "que le devis lui parvienne",
    )


class ConditionsOut(BaseModel):
    programme: str
    version: str
    text: str = Field(description="le texte en français, celui qui fait foi")
    text_ar: str | None = Field(default=None, description="le même texte en arabe, s'il existe")


class RefusalOut(BaseModel):
    code: str
    message: str
    details: dict[str, Any]


class EligibilityOut(BaseModel):
    affiliate: str
    eligible: bool
    refusals: list[RefusalOut]
    debt_version: int | None = Field(description="la version de la créance connue ici (absente : aucune)")


def _actor(principal: Principal) -> Actor:
    return Actor(kind="affiliate", id=principal.login)


async def _answer(conn: asyncpg.Connection, remission: RemissionRequest) -> RequestOut:
    # The accounts only describe the chosen one: a request without one needs none of them.
    chosen = remission.affiliate if remission.bank_account_id is not None else None
    history, accounts = await RequestRepository(conn).answer_parts(remission.id, accounts_of=chosen)
    return request_out(remission, history, accounts)


@router.get("/conditions", response_model=ConditionsOut, summary="Les conditions générales en vigueur")
async def conditions(deps: Dependencies) -> ConditionsOut:
    programme = deps.context.programme
    cg = programme.conditions
    return ConditionsOut(programme=programme.code, version=cg.version, text=cg.text, text_ar=cg.text_ar)


@router.get(
    "/affiliates/{affiliate}/eligibility",
    response_model=EligibilityOut,
    summary="L'affilié peut-il déposer une demande ? Sinon, toutes les raisons",
)
async def eligibility(
    deps: Dependencies,
    principal: CurrentPrincipal,
    affiliate: AffiliatePath,
    conn: Connection,
) -> EligibilityOut:
    require_affiliate(principal, affiliate)
    found = await lifecycle.eligibility(conn, deps.context, affiliate)
    return EligibilityOut(
        affiliate=affiliate,
        eligible=not found.refusals,
        refusals=[RefusalOut(code=r.code, message=r.message, details=r.details) for r in found.refusals],
        debt_version=found.debt_version,
    )


@router.post("/requests", status_code=201, response_model=RequestOut, summary="Nouvelle demande de remise")
async def create(
    deps: Dependencies, body: NewRequest, principal: CurrentPrincipal, conn: StartingConnection
) -> RequestOut:
    require_affiliate(principal, body.affiliate)
    # a Refusal is answered by the runtime's handler
    created = await lifecycle.create_request(conn, deps.context, body.affiliate, _actor(principal))
    return await _answer(conn, created)


@router.get(
    "/requests",
    response_model=list[RequestOut],
    summary="Les demandes d'un affilié, la plus récente d'abord",
    responses={200: {"headers": LINK_HEADER}},
)
async def list_requests(
    principal: CurrentPrincipal,
    affiliate: AffiliateQuery,
    conn: Connection,
    page: Page,
    request: Request,
    response: Response,
) -> list[RequestOut]:
    require_affiliate(principal, affiliate)
    async with snapshot(conn):  # the states, their histories and the accounts as of one instant
        everything = await RequestRepository(conn).of_affiliate(affiliate)
        found = page_of(everything, lambda r: [str(r.id)], page, request, response)
        accounts = await ProjectionRepository(conn).bank_accounts(affiliate)
        histories = await RequestRepository(conn).histories([r.id for r in found])
    return [request_out(r, histories[r.id], accounts) for r in found]


@router.get("/requests/{request_id}", response_model=RequestOut, summary="Une demande, son devis et son historique")
async def get_request(request_id: UUID, principal: CurrentPrincipal, conn: Connection) -> RequestOut:
    async with snapshot(conn):  # the state and its history as of one instant
        found = await RequestRepository(conn).get(request_id)
        if found is None or not principal.holds(found.affiliate):
            raise lifecycle.NotFound()
        return await _answer(conn, found)


@router.get(
    "/requests/{request_id}/contributions",
    response_model=PlanHealthOut,
    summary="Les cotisations courantes échues pendant le plan (article 2), payées ou non, et les mises en demeure",
)
async def plan_contributions(
    deps: Dependencies, request_id: UUID, principal: CurrentPrincipal, conn: Connection
) -> PlanHealthOut:
    async with snapshot(conn):  # the notices and the contributions as of one instant
        found = await RequestRepository(conn).get(request_id)
        if found is None or not principal.holds(found.affiliate):
            raise lifecycle.NotFound()
        today = business_date(deps.context.clock)
        health = await obligations.plan_health(conn, deps.context, found, today)
    return plan_health_out(found.id, today, health)


async def _run(conn: asyncpg.Connection, deps: Dependencies, use_case: Any, *args: Any) -> RequestOut:
    changed = await use_case(conn, deps.context, *args)
    return await _answer(conn, changed)


@router.put("/requests/{request_id}/modality", response_model=RequestOut, summary="Choisir la modalité de paiement")
async def choose_modality(
    deps: Dependencies, request_id: UUID, body: ModalityChoice, principal: CurrentPrincipal, conn: Connection
) -> RequestOut:
    return await _run(
        conn,
        deps,
        lifecycle.choose_modality,
        request_id,
        principal.affiliates,
        body.modality,
        body.guarantee_obligation_accepted,
        _actor(principal),
    )


@router.put("/requests/{request_id}/bank-account", response_model=RequestOut, summary="Choisir le compte à prélever")
async def choose_bank_account(
    deps: Dependencies, request_id: UUID, body: BankAccountChoice, principal: CurrentPrincipal, conn: Connection
) -> RequestOut:
    return await _run(
        conn,
        deps,
        lifecycle.choose_bank_account,
        request_id,
        principal.affiliates,
        body.bank_account_id,
        _actor(principal),
    )


@router.post(
    "/requests/{request_id}/validation",
    response_model=RequestOut,
    summary="Accepter les CG et valider avec le devis affiché",
)
async def validate(deps: Dependencies, request_id: UUID, body: Validation, principal: CurrentPrincipal) -> RequestOut:
    """With the quote's seal (`quote_seal`, as simulation returned it) the validation never waits for
    the quote to reach this service. Under load a validation is served before the calls that start a
    request: they wait, it does not."""
    # The click that ends the journey (Priority.FINISHING, runtime/turns.py). Sealed: one connection
    # for the whole call. Unsealed: none held while the quote's event may still be on its way.
    if not body.cg_accepted:
        raise Problem(422, "cg-non-acceptees", "Vous devez accepter les conditions générales pour valider.")
    pool = deps.platform.pool
    assert pool is not None
    seals = deps.quote_seals
    args = (request_id, principal.affiliates)
    if body.quote_seal is not None and seals is not None:
        # Someone else's quote is refused before anything is read or kept; the request's owner is
        # checked under its lock by the validation itself (no read of it beforehand).
        sealed = _own(opened_seal(seals, body.quote_id, body.quote_seal), principal)
        async with pool.acquire_as(Priority.FINISHING) as conn:
            quote = _own(await kept_sealed_quote(conn, sealed), principal)  # the projection's copy, if it won
            return await _run(conn, deps, lifecycle.validate, *args, quote, body.cg_version, _actor(principal))
    async with pool.acquire_as(Priority.FINISHING) as conn:
        await _held(conn, request_id, principal)  # before waiting for any quote: nothing to learn of others'
    arrived = await deps.quote_arrivals.get(pool, body.quote_id, deps.quote_wait_seconds)
    quote = _own(arrived, principal)
    async with pool.acquire_as(Priority.FINISHING) as conn:
        return await _run(conn, deps, lifecycle.validate, *args, quote, body.cg_version, _actor(principal))


async def _held(conn: asyncpg.Connection, request_id: UUID, principal: Principal) -> None:
    found = await RequestRepository(conn).get(request_id)
    if found is None or not principal.holds(found.affiliate):
        raise lifecycle.NotFound()


def _own(quote: Quote | None, principal: Principal) -> Quote:
    if quote is None or not principal.holds(quote.affiliate):
        raise Problem(409, "devis-introuvable", "Devis introuvable. Veuillez relancer la simulation.")
    return quote


@router.post("/requests/{request_id}/withdrawal", response_model=RequestOut, summary="Retirer la demande")
async def withdraw(deps: Dependencies, request_id: UUID, principal: CurrentPrincipal, conn: Connection) -> RequestOut:
    return await _run(conn, deps, lifecycle.withdraw, request_id, principal.affiliates, _actor(principal))
