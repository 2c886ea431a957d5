"""Créance consolidée: the position by period and category, and whether a request can be filed."""

import asyncio
from typing import Annotated, Literal

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from services.portal.api import ServiceRefusal
from services.portal.web import check_csrf, portal_of, redirect, render, session_with_affiliate

router = APIRouter()

ROWS_INLINE = 24
"""Up to two years of periods are shown on the créance page; a longer list gets a page of its own
(hundreds of rows of twelve amounts are neither readable beside the totals nor cheap to render)."""


@router.get("/creance", response_class=HTMLResponse, response_model=None)
async def creance(request: Request) -> HTMLResponse:
    _, session, affiliate = await session_with_affiliate(request)
    services = portal_of(request).services
    # Independent reads: in parallel, so the page costs the slowest call, not the sum.
    debt, eligibility = await asyncio.gather(
        services.debt(session.access_token, affiliate), services.eligibility(session.access_token, affiliate)
    )
    periods = debt["periods"]
    return render(
        request,
        "creance.html",
        session=session,
        debt=debt,
        eligibles=[p for p in periods if p["eligible"]],
        autres=[p for p in periods if not p["eligible"]],
        eligibility=eligibility,
        lignes_en_ligne=ROWS_INLINE,
    )


@router.get("/creance/periodes/{groupe}", response_class=HTMLResponse, response_model=None)
async def periods(request: Request, groupe: Literal["eligibles", "autres"]) -> HTMLResponse:
    _, session, affiliate = await session_with_affiliate(request)
    debt = await portal_of(request).services.debt(session.access_token, affiliate)
    eligible = groupe == "eligibles"
    return render(
        request,
        "periodes.html",
        session=session,
        debt=debt,
        titre="creance.periodes-eligibles" if eligible else "creance.periodes-autres",
        lignes=[p for p in debt["periods"] if p["eligible"] == eligible],
    )


@router.post("/demandes", response_class=HTMLResponse, response_model=None)
async def new_request(
    request: Request, csrf: Annotated[str, Form(max_length=128)] = ""
) -> HTMLResponse | RedirectResponse:
    _, session, affiliate = await session_with_affiliate(request)
    check_csrf(session.csrf_token, csrf)
    services = portal_of(request).services
    try:
        created = await services.create_request(session.access_token, affiliate)
    except ServiceRefusal as refusal:
        return render(request, "refus.html", refusal.status, session=session, erreur=refusal)
    return redirect(f"/demandes/{created['id']}/modalite")
