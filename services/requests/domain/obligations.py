"""Article 2: the contributions that fall due while a plan runs (domain.md, "Obligations during a plan").

Decision 05/2023 asks the employer to pay, with the plan, the contributions that fall due over it;
the CG (item 5) say that not paying them forfeits the plan. From V until the plan ends, every period
after V's month whose principal the ledger books is watched:

- it is **due** on the programme's ``contributions.due_day`` of the next month, moved to the next
  business day when that is not one (as the debits are);
- it is **breached** when its principal is still unpaid ``grace_days`` calendar days after that;
- the day after the breach the affiliate gets a **notice**, with ``cure_days`` to pay: the deadline is
  the breach date plus ``cure_days``, never less than ``cure_days`` after the day before the notice
  (a notice given late, or for a charge booked late, still leaves the whole window);
- paid in full by the deadline, the notice is **cured** and the plan goes on; still unpaid the day
  after the deadline, the plan **defaults** (through the same path as a debit that finally failed).

"Paid by a day" reads debt's facts: the principal paid in full, its latest payment received on or
before that day. Penalties booked on the period do not count. Everything is computed as of a day, so
a sweep replayed as of an earlier day decides what it would have decided then.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Literal

from contracts.calendar import BusinessCalendar
from contracts.identifiers import period_key
from contracts.programme import Contributions
from services.requests.domain.request import (
    SWEEP,
    Change,
    Event,
    HistoryEntry,
    RemissionRequest,
    bounded,
    require_paying,
)


@dataclass(frozen=True)
class Contribution:
    """What debt says of one period's contributions (principal): charged, still owed, last paid."""

    period: str
    due: Decimal
    outstanding: Decimal
    paid_on: date | None

    def paid_by(self, day: date) -> bool:
        return self.outstanding <= 0 and self.paid_on is not None and self.paid_on <= day


@dataclass(frozen=True)
class Notice:
    """A period unpaid after its grace: the affiliate is told, and has until ``cure_deadline``."""

    period: str
    amount: Decimal
    due_on: date
    noticed_on: date
    cure_deadline: date
    cured_on: date | None = None

    @property
    def open(self) -> bool:
        return self.cured_on is None


def due_on(period: str, terms: Contributions, calendar: BusinessCalendar) -> date:
    year, month = period_key(period)
    year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return calendar.on_or_after(date(year, month, terms.due_day))


def breach_on(period: str, terms: Contributions, calendar: BusinessCalendar) -> date:
    return due_on(period, terms, calendar) + timedelta(days=terms.grace_days)


def watched(period: str, validation_date: date) -> bool:
    """Periods after V's month: the ones that fall due during the plan."""
    return period_key(period) > (validation_date.year, validation_date.month)


@dataclass(frozen=True)
class Verdict:
    noticed: list[Notice]
    cured: list[Notice]
    defaulted: Notice | None
    """The earliest notice whose deadline passed unpaid: the plan is forfeited for it."""


def evaluate(
    validation_date: date,
    contributions: Iterable[Contribution],
    notices: Mapping[str, Notice],
    terms: Contributions,
    calendar: BusinessCalendar,
    today: date,
) -> Verdict:
    """What article 2 decides for one plan as of ``today``, given what debt knows and the notices
    already given (by period)."""
    noticed: list[Notice] = []
    cured: list[Notice] = []
    defaulted: Notice | None = None
    by_period = {c.period: c for c in contributions if c.due > 0 and watched(c.period, validation_date)}
    for period in sorted(set(by_period) | set(notices), key=period_key):
        contribution, notice = by_period.get(period), notices.get(period)
        if notice is None:
            if contribution is None:
                continue
            breach = breach_on(period, terms, calendar)
            if today <= breach or contribution.paid_by(today):
                continue  # not late yet, or paid (on time, or late but before anyone could say so)
            deadline = max(breach, today - timedelta(days=1)) + timedelta(days=terms.cure_days)
            amount = contribution.outstanding if contribution.outstanding > 0 else contribution.due
            notice = Notice(period, amount, due_on(period, terms, calendar), today, deadline)
            noticed.append(notice)
        if not notice.open:
            continue
        if contribution is None:  # the charge is gone from the ledger (cancelled): nothing is owed
            cured.append(replace(notice, cured_on=today))
        elif contribution.paid_by(min(today, notice.cure_deadline)):
            cured.append(replace(notice, cured_on=contribution.paid_on))
        elif today > notice.cure_deadline and defaulted is None:
            defaulted = notice
    return Verdict(noticed, cured, defaulted)


HealthState = Literal["paid", "upcoming", "overdue", "noticed", "cured", "unpaid"]


@dataclass(frozen=True)
class PeriodHealth:
    """One current period as the affiliate's plan page shows it."""

    period: str
    due_on: date
    breach_on: date
    amount: Decimal
    outstanding: Decimal
    paid_on: date | None
    state: HealthState
    cure_deadline: date | None


def health(
    validation_date: date,
    contributions: Iterable[Contribution],
    notices: Mapping[str, Notice],
    terms: Contributions,
    calendar: BusinessCalendar,
    today: date,
) -> list[PeriodHealth]:
    """Every current period booked during the plan, paid or not, with its notice if any."""
    shown = []
    for c in sorted(contributions, key=lambda c: period_key(c.period)):
        if c.due <= 0 or not watched(c.period, validation_date):
            continue
        notice = notices.get(c.period)
        state: HealthState
        if notice is not None and not notice.open:
            state = "cured"
        elif notice is not None:
            late = today > notice.cure_deadline and not c.paid_by(notice.cure_deadline)  # as ``evaluate`` says
            state = "unpaid" if late else "noticed"
        elif c.paid_by(today):
            state = "paid"
        elif today > breach_on(c.period, terms, calendar):
            state = "overdue"  # past its grace, the notice comes with the next sweep
        else:
            state = "upcoming"
        shown.append(
            PeriodHealth(
                c.period,
                due_on(c.period, terms, calendar),
                breach_on(c.period, terms, calendar),
                c.due,
                c.outstanding,
                c.paid_on,
                state,
                notice.cure_deadline if notice else None,
            )
        )
    return shown


# --- what each decision does to the request ----------------------------------------------------


def _line(request: RemissionRequest, event: Event, at: datetime, reason: str) -> HistoryEntry:
    return HistoryEntry(
        at=at, event=event, from_state=request.state, to_state=request.state, actor=SWEEP, reason=reason
    )


def notice_line(request: RemissionRequest, notice: Notice, at: datetime) -> HistoryEntry:
    """The notice, a line in the history the affiliate reads (the state does not change)."""
    require_paying(request)
    reason = (
        f"mise en demeure : cotisations courantes de la période {notice.period} impayées"
        f" ({notice.amount} MAD, exigibles le {notice.due_on.isoformat()}) ; à régler au plus tard le"
        f" {notice.cure_deadline.isoformat()}, faute de quoi le plan sera déchu (article 2)"
    )
    return _line(request, "contributions_notice", at, reason)


def cured_line(request: RemissionRequest, notice: Notice, at: datetime) -> HistoryEntry:
    paid = notice.cured_on.isoformat() if notice.cured_on else "?"
    reason = f"cotisations courantes de la période {notice.period} réglées le {paid} : le plan continue"
    return _line(request, "contributions_cured", at, reason)


def contributions_unpaid(notice: Notice) -> str:
    return f"cotisations courantes impayées (période {notice.period})"


def default_for_contributions(request: RemissionRequest, notice: Notice, at: datetime) -> Change:
    """The cure deadline passed unpaid: DEFAULTED, as when a debit finally fails (article 4)."""
    require_paying(request)
    reason = f"déchéance : {contributions_unpaid(notice)}, non réglées au {notice.cure_deadline.isoformat()}"
    entry = HistoryEntry(
        at=at, event="defaulted", from_state=request.state, to_state="DEFAULTED", actor=SWEEP, reason=bounded(reason)
    )
    return replace(request, state="DEFAULTED"), entry
