"""Authentification, choix de l'affilié, déconnexion, langue."""

import logging
import secrets
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from services.portal.api import ServiceRefusal, ServiceUnavailable, SessionExpired
from services.portal.i18n import LANGUAGES
from services.portal.sessions import Affilie, SessionStore
from services.portal.web import (
    LANG_COOKIE,
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    check_csrf,
    current_session,
    local_path,
    portal_of,
    redirect,
    render,
)
from services.runtime.client_address import client_address
from services.runtime.clock import BUSINESS_TZ as CASABLANCA

log = logging.getLogger(__name__)

router = APIRouter()


def _login_page(
    request: Request, *, status_code: int = 200, erreur: str | None = None, login: str = "", verrou: str | None = None
) -> HTMLResponse:
    # Double-submit token: no session exists yet, so the login form's token lives in a cookie of its own.
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)
    response = render(
        request,
        "connexion.html",
        status_code,
        login_csrf=token,
        erreur=erreur,
        login=login,
        verrou=verrou,
        motif=request.query_params.get("motif"),
        suite=local_path(request.query_params.get("suite"), "/"),
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=portal_of(request).settings.cookie_secure,
    )
    return response


@router.get("/connexion", response_class=HTMLResponse, response_model=None)
async def login_form(request: Request) -> HTMLResponse:
    return _login_page(request)


@router.post("/connexion", response_class=HTMLResponse, response_model=None)
async def login(
    request: Request,
    identifiant: Annotated[str, Form(max_length=128)] = "",
    mot_de_passe: Annotated[str, Form(max_length=256)] = "",
    csrf: Annotated[str, Form(max_length=128)] = "",
    suite: Annotated[str, Form(max_length=512)] = "/",
) -> HTMLResponse | RedirectResponse:
    cookie_token = request.cookies.get(LOGIN_CSRF_COOKIE)
    if not cookie_token or not secrets.compare_digest(cookie_token, csrf):
        return _login_page(request, status_code=403, erreur="erreur.csrf", login=identifiant)
    if not identifiant.strip() or not mot_de_passe:
        return _login_page(request, status_code=422, erreur="connexion.champs-requis", login=identifiant)
    portal = portal_of(request)
    try:
        address = client_address(
            request.client.host if request.client else None,
            request.headers.get("x-forwarded-for"),
            portal.trusted_proxies,
        )
        answer = await portal.services.login(identifiant, mot_de_passe, address)
    except ServiceRefusal as refusal:
        if refusal.code == "trop-de-tentatives":
            page = _login_page(request, status_code=429, erreur="connexion.trop-de-tentatives", login=identifiant)
            page.headers["Retry-After"] = str(refusal.extra.get("retry_after", 60))
            return page
        if refusal.code == "compte-verrouille" and "locked_until" in refusal.extra:
            until = datetime.fromisoformat(refusal.extra["locked_until"]).astimezone(CASABLANCA)
            verrou = f"{until:%H:%M} — {until:%d/%m/%Y}"
            return _login_page(
                request, status_code=423, erreur="connexion.verrouille", login=identifiant, verrou=verrou
            )
        return _login_page(request, status_code=401, erreur="connexion.invalide", login=identifiant)
    affilies = [Affilie.of(a) for a in answer["affiliates"]]
    async with portal.pool.acquire() as conn:
        access_expires_at = datetime.fromisoformat(answer["expires_at"])
        refresh_expires_at = datetime.fromisoformat(answer.get("refresh_expires_at") or answer["expires_at"])
        cap = access_expires_at + timedelta(hours=portal.settings.session_max_hours)
        cookie, session = await SessionStore(conn).open(
            access_token=answer["access_token"],
            refresh_token=answer.get("refresh_token"),
            access_expires_at=access_expires_at,
            login=answer["login"],
            display_name=answer["display_name"],
            affilies=affilies,
            expires_at=min(refresh_expires_at, cap),
        )
    target = local_path(suite, "/") if session.affiliate else "/affilies"
    response = redirect(target if target != "/connexion" else "/")
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        httponly=True,
        samesite="strict",
        secure=portal.settings.cookie_secure,
        max_age=int((session.expires_at - datetime.now(session.expires_at.tzinfo)).total_seconds()),
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response


@router.post("/deconnexion")
async def logout(request: Request, csrf: Annotated[str, Form(max_length=128)] = "") -> RedirectResponse:
    cookie, session = await current_session(request)
    check_csrf(session.csrf_token, csrf)
    portal = portal_of(request)
    try:  # the refresh tokens end at auth too; the portal's session ends whatever auth answers
        await portal.services.logout(session.access_token)
    except (ServiceRefusal, ServiceUnavailable, SessionExpired):
        log.warning("logout not confirmed by auth: its refresh tokens expire on their own")
    async with portal.pool.acquire() as conn:
        await SessionStore(conn).close(cookie)
    response = redirect("/connexion?motif=deconnecte")
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/affilies", response_class=HTMLResponse, response_model=None)
async def choose_affiliate_form(request: Request) -> HTMLResponse:
    _, session = await current_session(request)
    return render(request, "affilies.html", session=session)


@router.post("/affilies", response_class=HTMLResponse, response_model=None)
async def choose_affiliate(
    request: Request,
    numero: Annotated[str, Form(max_length=16)] = "",
    csrf: Annotated[str, Form(max_length=128)] = "",
) -> HTMLResponse | RedirectResponse:
    cookie, session = await current_session(request)
    check_csrf(session.csrf_token, csrf)
    if not session.holds(numero):
        return render(request, "affilies.html", 422, session=session, erreur="affilies.choisir")
    async with portal_of(request).pool.acquire() as conn:
        await SessionStore(conn).choose(cookie, numero)
    return redirect("/creance")


@router.get("/langue/{code}")
async def switch_language(request: Request, code: str) -> RedirectResponse:
    response = redirect(local_path(request.query_params.get("suite"), "/"))
    if code in LANGUAGES:
        response.set_cookie(LANG_COOKIE, code, max_age=365 * 24 * 3600, samesite="lax", httponly=True)
    return response


@router.get("/")
async def home(request: Request) -> RedirectResponse:
    _, session = await current_session(request)
    return redirect("/creance" if session.affiliate else "/affilies")
