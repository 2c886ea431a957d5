"""Mes demandes: each request with its state, history and debits; withdrawal; the receipt (PDF)."""

import asyncio
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.portal.api import ServiceRefusal
from services.portal.web import (
    check_csrf,
    lang_of,
    portal_of,
    redirect,
    render,
    request_of_affiliate,
    session_with_affiliate,
)
from services.runtime.clock import BUSINESS_TZ as CASABLANCA

router = APIRouter(prefix="/demandes")


@router.get("", response_class=HTMLResponse, response_model=None)
async def my_requests(request: Request) -> HTMLResponse:
    _, session, affiliate = await session_with_affiliate(request)
    found = await portal_of(request).services.requests_of(session.access_token, affiliate)
    return render(request, "demandes.html", session=session, demandes=found)


async def _debits(request: Request, token: str, found: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The plan's debits as debits knows them; None until debits has scheduled the plan."""
    if found["state"] in ("DRAFT", "AWAITING_GUARANTEE", "EXPIRED", "REJECTED", "CANCELLED"):
        return None
    try:
        debits: list[dict[str, Any]] = await portal_of(request).services.debits_of(token, UUID(found["id"]))
    except ServiceRefusal:
        return None  # validated a moment ago: the plan is on its way to debits
    return debits


async def _contributions(request: Request, token: str, found: dict[str, Any]) -> dict[str, Any] | None:
    """The plan's health (article 2): every current period due since the validation, paid or not,
    and any notice with its deadline. None before the validation."""
    if found["state"] not in ("VALIDATED", "IN_PROGRESS", "COMPLETED", "DEFAULTED"):
        return None
    health: dict[str, Any] = await portal_of(request).services.contributions_of(token, UUID(found["id"]))
    return health


@router.get("/{request_id}", response_class=HTMLResponse, response_model=None)
async def request_detail(request: Request, request_id: UUID) -> HTMLResponse:
    session, found = await request_of_affiliate(request, request_id)
    debits = await _debits(request, session.access_token, found)
    cotisations = await _contributions(request, session.access_token, found)
    return render(request, "demande.html", session=session, demande=found, prelevements=debits, cotisations=cotisations)


@router.post("/{request_id}/retrait", response_class=HTMLResponse, response_model=None)
async def withdraw(
    request: Request,
    request_id: UUID,
    csrf: Annotated[str, Form(max_length=128)] = "",
    confirmation: Annotated[str, Form(max_length=8)] = "",
) -> HTMLResponse | RedirectResponse:
    session, found = await request_of_affiliate(request, request_id)
    check_csrf(session.csrf_token, csrf)
    services = portal_of(request).services
    if confirmation != "oui":
        erreurs = {"confirmation": "retrait.confirmation-requise"}
        return render(request, "demande.html", 422, session=session, demande=found, prelevements=None, erreurs=erreurs)
    try:
        await services.withdraw(session.access_token, request_id)
    except ServiceRefusal as refusal:
        return render(request, "refus.html", refusal.status, session=session, erreur=refusal)
    return redirect(f"/demandes/{request_id}")


@router.get("/{request_id}/recepisse.pdf")
async def receipt(request: Request, request_id: UUID) -> Response:
    session, found = await request_of_affiliate(request, request_id)
    affilie = session.affilie
    assert affilie is not None  # request_of_affiliate found the request of the chosen affiliate
    # in the page's language: the user's choice, else the browser's Accept-Language
    # In a thread: 0.1 s of CPU in French, 0.4 s in Arabic (shaping) for 60 installments, which
    # would hold every other page of this portal process meanwhile.
    from services.portal.receipt import receipt_pdf  # with fpdf2: imported at the first receipt, not at start

    pdf = await asyncio.to_thread(receipt_pdf, found, affilie.as_json(), datetime.now(CASABLANCA), lang_of(request))
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "content-disposition": f'inline; filename="recepisse-{request_id}.pdf"',
            "cache-control": "no-store",
        },
    )
