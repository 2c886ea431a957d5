"""notifications over HTTP: what the affiliate was told, when and how ("Mes notifications"), for a
token that holds the affiliate."""

from datetime import datetime
from typing import Literal
from uuid import UUID

from fastapi import APIRouter, Request, Response
from pydantic import Field

from contracts.envelope import Contract
from services.notifications.adapters.repository import NotificationRepository
from services.notifications.domain.notices import Kind
from services.runtime.http import AffiliatePath, Connection, CurrentPrincipal, require_affiliate
from services.runtime.paging import LINK_HEADER, Page, page_of

router = APIRouter(prefix="/v1", tags=["notifications"])


class NotificationOut(Contract):
    id: UUID
    kind: Kind
    channel: Literal["email", "sms"]
    request_id: UUID | None
    state: Literal["PENDING", "SENT", "FAILED", "SKIPPED"] = Field(
        description="PENDING : à envoyer ; SENT : remise au canal ; SKIPPED : pas d'adresse sur ce canal, ou rappel"
        " devenu sans objet ; FAILED : non remise après ses essais"
    )
    created_at: datetime
    sent_at: datetime | None
    subject: str | None = Field(description="l'objet, dans la langue de l'affilié, une fois envoyée")


@router.get(
    "/affiliates/{affiliate}/notifications",
    response_model=list[NotificationOut],
    summary="Les notifications de l'affilié, les plus récentes d'abord",
    responses={200: {"headers": LINK_HEADER}},
)
async def notifications(
    affiliate: AffiliatePath,
    principal: CurrentPrincipal,
    conn: Connection,
    page: Page,
    request: Request,
    response: Response,
) -> list[NotificationOut]:
    require_affiliate(principal, affiliate)
    sent = await NotificationRepository(conn).of_affiliate(affiliate)
    listed = [NotificationOut(**s.__dict__) for s in sent]
    return page_of(listed, lambda n: [str(n.id)], page, request, response)
