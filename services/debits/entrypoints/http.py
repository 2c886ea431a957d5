"""debits over HTTP: the bank accounts of an affiliate the caller holds (RIB masked), the debits of a request."""

from datetime import date, datetime
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request, Response
from pydantic import Field

from contracts.debits import BankAccount, DebitState, DebitView, EndToEndId, ReasonCode
from contracts.envelope import Contract
from services.debits.adapters.account_repository import AccountRepository
from services.debits.service.debit_history import debits_of_request
from services.runtime.direct import DirectRoute
from services.runtime.http import AffiliatePath, Connection, CurrentPrincipal, require_affiliate
from services.runtime.paging import LINK_HEADER, Page, page_of
from services.runtime.problems import Problem

router = APIRouter(prefix="/v1", tags=["comptes bancaires"], route_class=DirectRoute)
"""Its reads (an affiliate's bank accounts, a step of every request; a plan's debits) are served
without FastAPI's per-call solving of their dependencies when the call allows (``runtime/direct.py``)."""


class DebitHistoryOut(Contract):
    at: datetime
    from_state: DebitState | None
    to_state: DebitState
    attempt: int = Field(ge=0)
    reason: str
    end_to_end_id: EndToEndId | None = None
    reason_code: ReasonCode | None = None
    final: bool = False
    next_attempt_on: date | None = None


class DebitOut(DebitView):
    next_attempt_on: date | None = Field(default=None, description="prochaine présentation, si elle est prévue")
    history: list[DebitHistoryOut]


@router.get(
    "/affiliates/{affiliate}/bank-accounts",
    response_model=list[BankAccount],
    summary="Comptes bancaires enregistrés de l'affilié (RIB masqué sauf les 4 derniers chiffres)",
    responses={200: {"headers": LINK_HEADER}},
)
async def bank_accounts(
    affiliate: AffiliatePath,
    principal: CurrentPrincipal,
    conn: Connection,
    page: Page,
    request: Request,
    response: Response,
) -> list[dict[str, str]]:
    require_affiliate(principal, affiliate)
    registered = (await AccountRepository(conn).accounts_of([affiliate])).get(affiliate, [])
    # Only the masked view leaves the service: the full RIB is never in an answer.
    return page_of([c.masked() for c in registered], lambda a: [a["id"]], page, request, response)


@router.get(
    "/requests/{request_id}/debits",
    response_model=list[DebitOut],
    tags=["prélèvements"],
    summary="Les prélèvements du plan d'une demande validée, avec leur état et leur historique",
    responses={200: {"headers": LINK_HEADER}},
)
async def request_debits(
    request_id: UUID, principal: CurrentPrincipal, conn: Connection, page: Page, request: Request, response: Response
) -> list[dict[str, Any]]:
    found = await debits_of_request(conn, request_id)
    # Same answer for a request without a plan and for someone else's: nothing leaks.
    if found is None or not principal.holds(found[0]):
        raise Problem(404, "demande-introuvable", "Demande introuvable ou sans prélèvements pour ce compte.")
    return page_of(found[1], lambda d: [str(d["sequence"])], page, request, response)
