"""Step 4: the request is taken in charge (the guide's last screen)."""

from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from services.portal.web import render, request_of_affiliate

router = APIRouter(prefix="/demandes/{request_id}")


@router.get("/prise-en-charge", response_class=HTMLResponse, response_model=None)
async def taken_in_charge(request: Request, request_id: UUID) -> HTMLResponse:
    session, found = await request_of_affiliate(request, request_id)
    return render(request, "prise_en_charge.html", session=session, demande=found)
