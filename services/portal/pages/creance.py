"""Créance consolidée: the position by period and category, and whether a request can be filed."""

import asyncio
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from services.portal.api import ApiRefusal
from services.portal.web import check_csrf, portal_of, redirect, render, session_with_affiliate

router = APIRouter()


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
    except ApiRefusal as refusal:
        return render(request, "refus.html", refusal.status, session=session, erreur=refusal)
    return redirect(f"/demandes/{created['id']}/modalite")
