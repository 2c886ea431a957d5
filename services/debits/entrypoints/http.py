"""debits over HTTP: the bank accounts of an affiliate the caller holds, RIB masked."""

from typing import Annotated

from fastapi import APIRouter, Path, Request

from contracts.debits import BankAccount
from services.debits.adapters.repository import AccountRepository
from services.runtime.http import CurrentPrincipal, platform_of, require_affiliate

router = APIRouter(prefix="/v1", tags=["comptes bancaires"])

AffiliatePath = Annotated[str, Path(pattern=r"^\d{7}$", description="numéro d'affiliation (7 chiffres)")]


@router.get(
    "/affiliates/{affiliate}/bank-accounts",
    response_model=list[BankAccount],
    summary="Comptes bancaires enregistrés de l'affilié (RIB masqué sauf les 4 derniers chiffres)",
)
async def bank_accounts(
    affiliate: AffiliatePath, principal: CurrentPrincipal, request: Request
) -> list[dict[str, str]]:
    require_affiliate(principal, affiliate)
    pool = platform_of(request).pool
    assert pool is not None
    async with pool.acquire() as conn:
        comptes = (await AccountRepository(conn).accounts_of([affiliate])).get(affiliate, [])
    # Only the masked view leaves the service: the full RIB is never in an answer.
    return [c.vue() for c in comptes]
