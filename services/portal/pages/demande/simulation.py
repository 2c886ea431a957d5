"""Step 2: the simulation, the tiers side by side and the budget suggestion; amounts as typed."""

import asyncio
import re
from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import urlencode
from uuid import UUID

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from contracts.money import parse_amount
from services.portal.api import ServiceRefusal
from services.portal.i18n import counts_text
from services.portal.pages.demande.draft import in_draft, quote_of
from services.portal.sessions import Session
from services.portal.web import check_csrf, lang_of, portal_of, redirect, render, request_of_affiliate

router = APIRouter(prefix="/demandes/{request_id}")


REFUSAL_BY_FIELD = {
    "avance-hors-limites": "avance",
    "echeances-hors-limites": "echeances",
    "echeance-sous-minimum": "echeances",
}
"""Simulation's refusals that concern one field: said next to it, not above the form."""


# An installment count as typed: ASCII digits only. str.isdigit() took "²" (then int() raised: a 500)
# and "١٢" (read as 12).
_COUNT = re.compile(r"[0-9]{1,4}")


def offered_ranges(programme: dict[str, Any], options: dict[str, Any] | None) -> list[dict[str, int]]:
    """The counts the page offers: those simulation allows this debt with no advance (the tiers' counts
    whose installments reach the minimum, the comparison's ``installments_allowed``); the programme's
    (its own ``installments_allowed``, simulation's ``/v1/programme``) when the comparison is not
    available or allows no plan (the refusal then says why). Both are simulation's: the portal derives
    no count from the tiers."""
    allowed = (options or {}).get("installments_allowed")
    return list(allowed) if allowed else list(programme["installments_allowed"])


def counts_of(ranges: list[dict[str, int]]) -> list[int]:
    return [n for r in ranges for n in range(r["min"], r["max"] + 1)]


def nearest_count(counts: list[int], wanted: int) -> int:
    """``wanted`` when it is offered, else the largest offered count under it, else the smallest one."""
    below = [n for n in counts if n <= wanted]
    return below[-1] if below else counts[0]


def step_count(counts: list[int], current: int, step: int) -> int:
    """The − / + buttons: the previous or next offered count, over a gap; the ends stay where they are."""
    if step > 0:
        return next((n for n in counts if n > current), counts[-1])
    return next((n for n in reversed(counts) if n < current), counts[0])


async def _offered(request: Request, session: Session, affiliate: str) -> list[int]:
    programme, options = await asyncio.gather(
        portal_of(request).services.programme(), _options(request, session, affiliate, None)
    )
    return counts_of(offered_ranges(programme, options))


def _decimal(text: str) -> Decimal | None:
    """The amount a user typed, spaces and a decimal comma allowed (12 345,60); None when it is not
    one. The shared rule refuses exponents before any arithmetic: "1e999999999" formatted with
    ``:.2f`` was a billion digits of memory and CPU."""
    cleaned = text.replace("\u00a0", "").replace(" ", "").replace(",", ".")
    try:
        return parse_amount(cleaned or "0")
    except ValueError:
        return None


async def _simulation_page(
    request: Request,
    session: Session,
    found: dict[str, Any],
    *,
    status_code: int = 200,
    devis: dict[str, Any] | None = None,
    erreur: ServiceRefusal | None = None,
    erreurs: dict[str, str] | None = None,
    saisie: dict[str, Any] | None = None,
    budget: str = "",
) -> HTMLResponse:
    services = portal_of(request).services
    monthly = _decimal(budget) if budget else None
    if budget and (monthly is None or monthly <= 0):
        erreurs = (erreurs or {}) | {"budget": "budget.invalide"}
        monthly = None
    programme, options = await asyncio.gather(
        services.programme(),
        _options(request, session, found["affiliate"], monthly),
    )
    ranges = offered_ranges(programme, options)
    counts = counts_of(ranges)
    if saisie is None:
        terms = devis or found.get("quote") or {}
        saisie = {"avance": terms.get("advance", "0.00"), "echeances": terms.get("installments") or 12}
    # the list offers only allowed counts: a count outside it (a gap, a stale page) shows its nearest one
    saisie = saisie | {"echeances": nearest_count(counts, saisie.get("echeances") or 1)}
    champ = REFUSAL_BY_FIELD.get(erreur.code) if erreur else None
    return render(
        request,
        "simulation.html",
        status_code,
        champ_refuse=champ,
        session=session,
        demande=found,
        devis=devis,
        programme=programme,
        paliers={tier["code"]: tier for tier in programme["tiers"]},
        options=options,
        erreur=erreur,
        erreurs=erreurs or {},
        saisie=saisie,
        echeances_permises=counts,
        plages=counts_text(lang_of(request), ranges),
        budget=budget,
    )


async def _options(
    request: Request, session: Session, affiliate: str, monthly: Decimal | None
) -> dict[str, Any] | None:
    budget = None if monthly is None else f"{monthly:.2f}"
    try:
        return dict(await portal_of(request).services.options(session.access_token, affiliate, budget))
    except ServiceRefusal:
        return None  # the comparison is a help, not a step: the page goes on without it


@router.get("/simulation", response_class=HTMLResponse, response_model=None)
async def simulation_form(request: Request, request_id: UUID) -> HTMLResponse | RedirectResponse:
    session, found = await request_of_affiliate(request, request_id)
    if (done := in_draft(found)) is not None:
        return done
    if not found["modality"]:
        return redirect(f"/demandes/{request_id}/modalite")
    devis = None
    if quote_id := request.query_params.get("devis"):
        try:
            devis = quote_of(found, await portal_of(request).services.quote(session.access_token, UUID(quote_id)))
        except (ValueError, ServiceRefusal):
            devis = None
    return await _simulation_page(request, session, found, devis=devis, budget=request.query_params.get("budget", ""))


@router.post("/simulation", response_class=HTMLResponse, response_model=None)
async def simulate(
    request: Request,
    request_id: UUID,
    csrf: Annotated[str, Form(max_length=128)] = "",
    avance: Annotated[str, Form(max_length=32)] = "0",
    echeances: Annotated[str, Form(max_length=8)] = "",
    pas: Annotated[str, Form(max_length=4)] = "",
    budget: Annotated[str, Form(max_length=32)] = "",
    action: Annotated[str, Form(max_length=16)] = "simuler",
    devis: Annotated[str, Form(max_length=64)] = "",
) -> HTMLResponse | RedirectResponse:
    session, found = await request_of_affiliate(request, request_id)
    check_csrf(session.csrf_token, csrf)
    if (done := in_draft(found)) is not None:
        return done
    if action == "budget":  # the quote on screen stays on screen beside the suggestion
        query = {"budget": budget} | ({"devis": devis} if devis else {})
        return redirect(f"/demandes/{request_id}/simulation?{urlencode(query)}")
    modality = found["modality"]
    erreurs: dict[str, str] = {}
    advance = _decimal(avance)
    count = int(echeances) if _COUNT.fullmatch(echeances.strip()) else None
    if modality == "INSTALLMENTS":
        if advance is None or advance < 0:
            erreurs["avance"] = "simulation.avance-invalide"
        if count is None:
            erreurs["echeances"] = "simulation.echeances-invalide"
        elif pas in ("-1", "+1"):  # the − / + buttons, which also work without JavaScript
            count = step_count(await _offered(request, session, found["affiliate"]), count, int(pas))
    if erreurs:
        saisie: dict[str, Any] = {"avance": avance if advance is None else advance, "echeances": count or 1}
        return await _simulation_page(request, session, found, status_code=422, erreurs=erreurs, saisie=saisie)
    try:
        quote = await portal_of(request).services.simulate(
            session.access_token,
            found["affiliate"],
            modality,
            f"{advance:.2f}" if advance is not None else None,
            count,
        )
    except ServiceRefusal as refusal:
        saisie = {"avance": avance, "echeances": count}  # as typed: the user corrects it, not retypes it
        return await _simulation_page(request, session, found, status_code=422, erreur=refusal, saisie=saisie)
    return redirect(f"/demandes/{request_id}/simulation?devis={quote['quote_id']}")
