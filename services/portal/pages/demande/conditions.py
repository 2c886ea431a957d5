"""Step 3: the conditions générales, accepted with the quote on screen, and the validation; the CG
as a PDF in the page's language (``/conditions.pdf``)."""

import asyncio
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from services.portal.api import ServiceRefusal
from services.portal.i18n import Language
from services.portal.pages.demande.draft import in_draft, quote_of
from services.portal.web import check_csrf, lang_of, portal_of, redirect, render, request_of_affiliate
from services.runtime.clock import BUSINESS_TZ as CASABLANCA

router = APIRouter(prefix="/demandes/{request_id}")
public = APIRouter()
"""what needs no session: the CG as a document"""


@router.get("/conditions", response_class=HTMLResponse, response_model=None)
async def conditions(request: Request, request_id: UUID) -> HTMLResponse | RedirectResponse:
    session, found = await request_of_affiliate(request, request_id)
    if (done := in_draft(found)) is not None:
        return done
    try:
        quote_id = UUID(request.query_params.get("devis", ""))
    except ValueError:
        return redirect(f"/demandes/{request_id}/simulation")
    services = portal_of(request).services
    try:
        devis, cg = await asyncio.gather(services.quote(session.access_token, quote_id), services.conditions())
    except ServiceRefusal:
        return redirect(f"/demandes/{request_id}/simulation")
    if quote_of(found, devis) is None:
        return redirect(f"/demandes/{request_id}/simulation")
    return render(request, "conditions.html", session=session, demande=found, devis=devis, cg=cg)


@router.post("/validation", response_class=HTMLResponse, response_model=None)
async def validate(
    request: Request,
    request_id: UUID,
    csrf: Annotated[str, Form(max_length=128)] = "",
    devis: Annotated[str, Form(max_length=64)] = "",
    sceau: Annotated[str, Form(max_length=65_536)] = "",
    version: Annotated[str, Form(max_length=32)] = "",
    acceptation: Annotated[str, Form(max_length=8)] = "",
) -> HTMLResponse | RedirectResponse:
    session, found = await request_of_affiliate(request, request_id)
    check_csrf(session.csrf_token, csrf)
    services = portal_of(request).services
    try:
        quote_id = UUID(devis)
    except ValueError:
        return redirect(f"/demandes/{request_id}/simulation")
    if acceptation != "oui":
        devis_, cg = await asyncio.gather(services.quote(session.access_token, quote_id), services.conditions())
        if quote_of(found, devis_) is None:
            return redirect(f"/demandes/{request_id}/simulation")
        erreurs = {"acceptation": "conditions.acceptation-requise"}
        return render(
            request, "conditions.html", 422, session=session, demande=found, devis=devis_, cg=cg, erreurs=erreurs
        )
    try:
        # The quote's seal, as simulation gave it: requests need not wait for the quote's event.
        await services.validate(session.access_token, request_id, quote_id, version, sceau or None)
    except ServiceRefusal as refusal:
        return render(request, "refus.html", refusal.status, session=session, erreur=refusal, demande=found)
    return redirect(f"/demandes/{request_id}/prise-en-charge")


@public.get("/conditions.pdf")
async def conditions_document(request: Request) -> Response:
    """The CG in the page's language, for anyone (they are public): to read at leisure or print."""
    cg = await portal_of(request).services.conditions()
    pdf = await _cached_conditions(cg, lang_of(request))
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"content-disposition": f'inline; filename="conditions-{cg["version"]}.pdf"'},
    )


_CACHE: dict[tuple[str, str, str, str], bytes] = {}
"""the CG's PDF per (version, its text, language, day): the page is public, and shaping Arabic costs
CPU, so a flood of downloads must not make each one again"""


async def _cached_conditions(cg: dict[str, Any], lang: Language) -> bytes:
    now = datetime.now(CASABLANCA)
    key = (str(cg["version"]), str(hash((cg.get("text"), cg.get("text_ar")))), lang, now.date().isoformat())
    if key not in _CACHE:
        if len(_CACHE) >= 8:  # a day, two languages, a version change: never more than a few
            _CACHE.clear()
        from services.portal.conditions_pdf import conditions_pdf  # with fpdf2: at the first download, not at start

        _CACHE[key] = await asyncio.to_thread(conditions_pdf, cg, now, lang)  # CPU: off the event loop
    return _CACHE[key]
