"""What every page shares: the session from its cookie, CSRF, the language, rendering, redirects."""

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit
from uuid import UUID

import asyncpg
from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from opentelemetry import trace

from contracts.money import format_amount, format_rate
from contracts.refusal_texts import language_of as browser_language
from services.portal import formatting
from services.portal.api import ServiceRefusal, Services, ServiceUnavailable
from services.portal.config import PortalSettings
from services.portal.i18n import Language, direction, language_of, refusal_text, translator
from services.portal.sessions import Session, SessionStore
from services.runtime.client_address import Network

SESSION_COOKIE = "er_session"
LOGIN_CSRF_COOKIE = "er_csrf"
LANG_COOKIE = "er_lang"


def _as_typed(value: object) -> str:
    """An amount typed by the user, shown back the Moroccan way, or as typed when it is not one."""
    try:
        return format_amount(str(value), "")
    except (ArithmeticError, ValueError):
        return str(value)


templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
templates.env.filters |= {
    "montant": format_amount,
    "jour": formatting.date_text,
    "periode": formatting.period_text,
    "saisie": _as_typed,
    "heure": formatting.time_text,
    "taux": format_rate,
}


@dataclass
class Portal:
    settings: PortalSettings
    pool: asyncpg.Pool
    services: Services
    trusted_proxies: tuple[Network, ...] = ()


def portal_of(request: Request) -> Portal:
    portal: Portal = request.app.state.portal
    return portal


class LoginAgain(Exception):
    """No live session: back to the login page, then to where the user was going."""

    def __init__(self, suite: str, motif: str | None = None) -> None:
        self.suite = suite
        self.motif = motif


class AffiliateNotChosen(Exception):
    """A group account that has not chosen its affiliate yet."""


class InvalidCsrf(Exception):
    pass


def lang_of(request: Request) -> Language:
    """The language the user chose (its cookie), else the one the browser asks for (Accept-Language):
    an Arabic browser's first page is in Arabic, before the user finds the switch."""
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen is not None:
        return language_of(chosen)
    return browser_language(request.headers.get("accept-language"))


def local_path(target: str | None, default: str = "/") -> str:
    """Only a path of this site: a ``suite`` parameter must never send a user elsewhere."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target


async def current_session(request: Request) -> tuple[str, Session]:
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        portal = portal_of(request)
        async with portal.pool.acquire() as conn:
            session = await SessionStore(conn).find(cookie)
        if session is not None and session.needs_renewal(datetime.now(UTC)):
            session = await _renewed(portal, cookie)
        if session is not None:
            return cookie, session
    raise LoginAgain(request.url.path, "session-expiree" if cookie else None)


async def _renewed(portal: Portal, cookie: str) -> Session | None:
    """The session with a fresh access token, exchanged under the session's row lock (a second page
    of the same session waits, then finds it done); None when auth says the session is over."""
    async with portal.pool.acquire() as conn, conn.transaction():
        store = SessionStore(conn)
        session = await store.find(cookie, lock=True)
        if session is None or not session.needs_renewal(datetime.now(UTC)):
            return session
        assert session.refresh_token is not None
        try:
            answer = await portal.services.refresh(session.refresh_token)
        except ServiceRefusal:  # expired, revoked (logged out elsewhere, or a copy was used): log in again
            await store.close(cookie)
            return None
        except ServiceUnavailable:
            # auth did not answer (or its answer was lost): the access token still serves for up to a
            # minute, and the next page tries again with the same refresh token, which auth accepts
            # again within its leeway if it had spent it.
            if session.access_expires_at > datetime.now(UTC):
                return session
            raise
        await store.renew(
            cookie, answer["access_token"], answer["refresh_token"], datetime.fromisoformat(answer["expires_at"])
        )
        return await store.find(cookie)


async def session_with_affiliate(request: Request) -> tuple[str, Session, str]:
    cookie, session = await current_session(request)
    if session.affiliate is None:
        raise AffiliateNotChosen
    return cookie, session, session.affiliate


async def request_of_affiliate(request: Request, request_id: UUID) -> tuple[Session, dict[str, Any]]:
    """The request as requests answers it, if it is the chosen affiliate's: a group account's other
    affiliates' requests are shown once that affiliate is chosen, not through a stale page."""
    _, session, affiliate = await session_with_affiliate(request)
    found: dict[str, Any] = await portal_of(request).services.request(session.access_token, request_id)
    if found["affiliate"] != affiliate:
        raise ServiceRefusal(404, "demande-introuvable", "Demande introuvable pour l'affilié choisi.")
    return session, found


def check_csrf(session_token: str, submitted: str | None) -> None:
    if not submitted or not secrets.compare_digest(session_token, submitted):
        raise InvalidCsrf


def trace_reference() -> str | None:
    context = trace.get_current_span().get_span_context()
    return f"{context.trace_id:032x}" if context.is_valid else None


def _refusal_text(lang: Language, error: Any) -> str:
    if isinstance(error, dict):  # a refusal listed inside an answer (eligibility), not raised
        return refusal_text(lang, error["code"], error["message"], error.get("extra"))
    return refusal_text(lang, error.code, error.message, error.extra)


def render(
    request: Request,
    template: str,
    status_code: int = 200,
    session: Session | None = None,
    **context: Any,
) -> HTMLResponse:
    lang = lang_of(request)
    t = translator(lang)
    page = {
        "request": request,
        "lang": lang,
        "dir": direction(lang),
        "t": t,
        "refus": lambda error: _refusal_text(lang, error),
        "session": session,
        "csrf": session.csrf_token if session else None,
        "reference": trace_reference(),
        "here": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
    }
    response = templates.TemplateResponse(request, template, page | context, status_code=status_code)
    response.headers["cache-control"] = "no-store"  # pages carry a person's debt: never cached
    return response


def redirect(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


def login_redirect(suite: str, motif: str | None = None) -> RedirectResponse:
    target = f"/connexion?suite={quote(local_path(suite))}"
    return redirect(target + (f"&motif={motif}" if motif else ""))
