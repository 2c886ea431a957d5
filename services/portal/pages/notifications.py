"""Mes notifications: what the affiliate was told, when and on which channel (e-mail, SMS), from the
notifications service; the rows it skipped (no address on a channel, a reminder no longer true) say so."""

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from services.portal.web import portal_of, render, session_with_affiliate

router = APIRouter(prefix="/notifications")


@router.get("", response_class=HTMLResponse, response_model=None)
async def my_notifications(request: Request) -> HTMLResponse:
    _, session, affiliate = await session_with_affiliate(request)
    found = await portal_of(request).services.notifications_of(session.access_token, affiliate)
    return render(request, "notifications.html", session=session, notifications=found)
