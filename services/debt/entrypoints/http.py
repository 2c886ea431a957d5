"""debt over HTTP: the consolidated debt of an affiliate the caller holds."""

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel

from contracts.money import Money
from services.debt.adapters.repository import PositionRepository
from services.debt.domain.position import CATEGORIES, Category, Line, Position, is_eligible
from services.runtime.http import CurrentPrincipal, platform_of, require_affiliate

router = APIRouter(prefix="/v1", tags=["créance"])

AffiliatePath = Annotated[str, Path(pattern=r"^\d{7}$", description="numéro d'affiliation (7 chiffres)")]


class AmountsOut(BaseModel):
    due: Money
    paid: Money
    outstanding: Money

    @classmethod
    def of(cls, line: Line) -> "AmountsOut":
        return cls(due=line.due, paid=line.paid, outstanding=line.outstanding)


class PeriodOut(BaseModel):
    period: str
    eligible: bool
    principal: AmountsOut
    majorations: AmountsOut
    astreintes: AmountsOut
    frais: AmountsOut


class CategoryTotals(BaseModel):
    principal: Money
    majorations: Money
    astreintes: Money
    frais: Money
    total: Money


class TotalsOut(BaseModel):
    eligible: CategoryTotals
    non_eligible: CategoryTotals


class PerceptionOut(BaseModel):
    code: str
    name: str


class ArrangementOut(BaseModel):
    arrangement_id: str
    perception: PerceptionOut
    opened_on: date


class DebtOut(BaseModel):
    affiliate: str
    version: int
    eligibility_cutoff: str
    periods: list[PeriodOut]
    totals: TotalsOut
    arrangement: ArrangementOut | None


def _totals(amounts: Mapping[Category, Decimal]) -> CategoryTotals:
    return CategoryTotals(**{c: amounts[c] for c in CATEGORIES}, total=sum(amounts.values(), Decimal("0.00")))


def debt_out(position: Position, cutoff: str) -> DebtOut:
    totals = position.totals(cutoff)
    arrangement = position.arrangement
    return DebtOut(
        affiliate=position.affiliate,
        version=position.version,
        eligibility_cutoff=cutoff,
        periods=[
            PeriodOut(
                period=p.period,
                eligible=is_eligible(p.period, cutoff),
                **{c: AmountsOut.of(p.line(c)) for c in CATEGORIES},
            )
            for p in position.periods
        ],
        totals=TotalsOut(eligible=_totals(totals.eligible), non_eligible=_totals(totals.non_eligible)),
        arrangement=None
        if arrangement is None
        else ArrangementOut(
            arrangement_id=arrangement.arrangement_id,
            perception=PerceptionOut(code=arrangement.perception_code, name=arrangement.perception_name),
            opened_on=arrangement.opened_on,
        ),
    )


@router.get(
    "/affiliates/{numero}/debt",
    summary="La créance consolidée d'un affilié",
    responses={401: {"description": "Non authentifié"}, 404: {"description": "Affilié introuvable pour ce compte"}},
)
async def consolidated_debt(numero: AffiliatePath, principal: CurrentPrincipal, request: Request) -> DebtOut:
    require_affiliate(principal, numero)
    platform = platform_of(request)
    assert platform.pool is not None
    async with platform.pool.acquire() as conn:
        [position] = await PositionRepository(conn).positions([numero])
    return debt_out(position, request.app.state.eligibility_cutoff)
