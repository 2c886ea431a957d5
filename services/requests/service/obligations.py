"""Use cases of article 2: the sweep's watch of the contributions that fall due during a plan, and
the plan's health as its page shows it (domain/obligations.py has the rule)."""

import logging
from datetime import date, datetime
from uuid import UUID

import asyncpg

from services.requests.adapters.obligations_repository import ObligationRepository, WatchedPlan
from services.requests.domain import obligations as rule
from services.requests.domain.request import RemissionRequest
from services.requests.service.context import RequestsContext
from services.requests.service.events import announce_notice, record
from services.runtime.clock import BUSINESS_TZ

log = logging.getLogger(__name__)


async def watch_contributions(
    conn: asyncpg.Connection, ctx: RequestsContext, at: datetime, page: int = 200
) -> dict[str, int]:
    """As of ``at``'s day: give notice for current periods unpaid after their grace, record the ones
    paid since, default the plans whose cure deadline passed unpaid. Each running plan is looked at
    once per day (``contributions_checked_on``): what is decided depends only on the day and on the
    payments' own dates, so a second pass the same day would decide nothing new."""
    today = at.astimezone(BUSINESS_TZ).date()
    repo = ObligationRepository(conn)
    done = {"noticed": 0, "cured": 0, "defaulted": 0, "failed": 0}
    after = UUID(int=0)
    while True:
        async with conn.transaction():
            plans = await repo.unchecked_plans(today, after, page)
            notices = await repo.notices([p.request.id for p in plans])
            checked = []
            for plan in plans:
                try:
                    async with conn.transaction():  # a savepoint: one bad plan must not stop the sweep
                        verdict = await _apply(conn, ctx, plan, notices.get(plan.request.id, {}), today, at)
                    checked.append(plan.request.id)
                except Exception:
                    log.exception("article 2: could not evaluate a plan", extra={"request_id": str(plan.request.id)})
                    done["failed"] += 1
                    continue
                done["noticed"] += len(verdict.noticed)
                done["cured"] += len(verdict.cured)
                done["defaulted"] += verdict.defaulted is not None
            await repo.mark_checked(checked, today)
        if len(plans) < page:
            return done
        after = plans[-1].request.id


async def _apply(
    conn: asyncpg.Connection,
    ctx: RequestsContext,
    plan: WatchedPlan,
    notices: dict[str, rule.Notice],
    today: date,
    at: datetime,
) -> rule.Verdict:
    request, repo = plan.request, ObligationRepository(conn)
    if request.validation_date is None:  # not reachable for a VALIDATED request; nothing to watch
        return rule.Verdict([], [], None)
    verdict = rule.evaluate(
        request.validation_date, plan.contributions, notices, ctx.programme.contributions, ctx.calendar, today
    )
    for notice in verdict.noticed:
        await repo.add_notice(request.id, notice)
        line = rule.notice_line(request, notice, at)
        await record(conn, ctx, (request, line))
        await announce_notice(conn, ctx, request, line, notice)
        log.warning("article 2: notice given", extra={"request_id": str(request.id), "period": notice.period})
    for notice in verdict.cured:
        await repo.cure(request.id, notice)
        await record(conn, ctx, (request, rule.cured_line(request, notice, at)))
    if verdict.defaulted is not None:
        await record(conn, ctx, rule.default_for_contributions(request, verdict.defaulted, at))
        log.warning(
            "article 2: plan defaulted", extra={"request_id": str(request.id), "period": verdict.defaulted.period}
        )
    return verdict


async def plan_health(
    conn: asyncpg.Connection, ctx: RequestsContext, request: RemissionRequest, today: date
) -> list[rule.PeriodHealth]:
    """Every current period booked since V, paid or not, with its notice: the plan page's table."""
    if request.validation_date is None:
        return []
    repo = ObligationRepository(conn)
    notices = (await repo.notices([request.id])).get(request.id, {})
    contributions = await repo.contributions(request.affiliate)
    return rule.health(
        request.validation_date, contributions, notices, ctx.programme.contributions, ctx.calendar, today
    )
