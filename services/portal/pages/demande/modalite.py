"""Step 1: the modality (full payment or installments, guarantees accepted) and the account to debit."""

import asyncio
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from services.portal.api import ServiceRefusal
from services.portal.pages.demande.draft import in_draft
from services.portal.web import check_csrf, portal_of, redirect, render, request_of_affiliate

router = APIRouter(prefix="/demandes/{request_id}")


@router.get("/modalite", response_class=HTMLResponse, response_model=None)
async def modality_form(request: Request, request_id: UUID) -> HTMLResponse | RedirectResponse:
    session, found = await request_of_affiliate(request, request_id)
    if (done := in_draft(found)) is not None:
        return done
    services = portal_of(request).services
    accounts, programme = await asyncio.gather(
        services.bank_accounts(session.access_token, found["affiliate"]), services.programme()
    )
    return render(
        request, "modalite.html", session=session, demande=found, comptes=accounts, programme=programme, erreurs={}
    )


@router.post("/modalite", response_class=HTMLResponse, response_model=None)
async def choose_modality(
    request: Request,
    request_id: UUID,
    csrf: Annotated[str, Form(max_length=128)] = "",
    modalite: Annotated[str, Form(max_length=16)] = "",
    garanties: Annotated[str, Form(max_length=8)] = "",
    compte: Annotated[str, Form(max_length=64)] = "",
) -> HTMLResponse | RedirectResponse:
    session, found = await request_of_affiliate(request, request_id)
    check_csrf(session.csrf_token, csrf)
    services = portal_of(request).services
    erreurs: dict[str, str] = {}
    if modalite not in ("FULL", "INSTALLMENTS"):
        erreurs["modalite"] = "modalite.choisir"
    elif modalite == "INSTALLMENTS" and garanties != "oui":
        erreurs["garanties"] = "modalite.garanties-requises"
    if not compte:
        erreurs["compte"] = "modalite.compte-requis"
    refusal: ServiceRefusal | None = None
    if not erreurs:
        try:
            await services.choose_modality(session.access_token, request_id, modalite, garanties == "oui")
            await services.choose_bank_account(session.access_token, request_id, compte)
        except ServiceRefusal as refused:
            refusal = refused
    if erreurs or refusal:
        accounts, programme = await asyncio.gather(
            services.bank_accounts(session.access_token, found["affiliate"]), services.programme()
        )
        choix = {"modalite": modalite, "garanties": garanties == "oui", "compte": compte}
        return render(
            request,
            "modalite.html",
            422,
            session=session,
            demande=found,
            comptes=accounts,
            programme=programme,
            erreurs=erreurs,
            erreur=refusal,
            choix=choix,
        )
    return redirect(f"/demandes/{request_id}/simulation")
