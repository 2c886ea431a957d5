"""Business days and debit dates, shared by whoever dates a debit (simulation quotes, debits runs).

Dates are business dates in Africa/Casablanca. A debit is due on the programme's debit day; the date
sent to the bank is the next business day when that day is a weekend or a Moroccan public holiday.
"""

from collections.abc import Iterable
from datetime import date, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from holidays import HolidayBase

SATURDAY = 5
_CACHED_DAYS = 100_000
"""About 270 years of days per calendar: far more than any schedule dates, a bound all the same."""


class BusinessCalendar:
    """Moroccan public holidays from the maintained ``holidays`` calendar, plus configured extra dates
    (a holiday declared late, or the real date of an Islamic holiday the calendar only estimates),
    minus ``worked_days``: dates the calendar gives as holidays that are worked (the day it estimated
    for an Islamic holiday observed on another, which goes in ``extra_holidays``).

    A worked day that is a weekend, one of ``extra_holidays`` or no holiday of the calendar is a typo,
    refused here (``ValueError``) before it moves any collection date."""

    def __init__(self, extra_holidays: Iterable[date] = (), worked_days: Iterable[date] = ()) -> None:
        self._public: HolidayBase | None = None  # read at the first date asked (see _holidays)
        self._extra = frozenset(extra_holidays)
        self._worked = frozenset(worked_days)
        for day in sorted(self._worked):
            if day.weekday() >= SATURDAY:
                raise ValueError(f"jour travaillé {day.isoformat()} : un samedi ou un dimanche n'est jamais ouvrable")
            if day in self._extra:
                raise ValueError(f"jour travaillé {day.isoformat()} : aussi dans les jours fériés ajoutés")
            if day not in self._holidays():
                raise ValueError(f"jour travaillé {day.isoformat()} : le calendrier ne le donne pas férié")
        # A calendar never changes once built, so each answer is computed once (a holiday lookup
        # costs microseconds, and a quote dates dozens of debits). Bounded: past the cap, compute.
        self._business: dict[date, bool] = {}
        self._on_or_after: dict[date, date] = {}

    def is_business_day(self, day: date) -> bool:
        known = self._business.get(day)
        if known is None:
            known = (
                day.weekday() < SATURDAY
                and day not in self._extra
                and (day in self._worked or day not in self._holidays())
            )
            if len(self._business) < _CACHED_DAYS:
                self._business[day] = known
        return known

    def _holidays(self) -> "HolidayBase":
        if self._public is None:
            # Imported here: ``holidays`` and its calendars are 0.19 s of CPU to import, in each of
            # the nine processes ``make run`` starts (every settings object builds a calendar), where
            # most (auth, debt, the partners) never date anything.
            import holidays

            self._public = holidays.country_holidays("MA")
        return self._public

    def on_or_after(self, day: date) -> date:
        found = self._on_or_after.get(day)
        if found is None:
            found = day
            while not self.is_business_day(found):
                found += timedelta(days=1)
            if len(self._on_or_after) < _CACHED_DAYS:
                self._on_or_after[day] = found
        return found

    def add_business_days(self, day: date, count: int) -> date:
        while count > 0:
            day += timedelta(days=1)
            if self.is_business_day(day):
                count -= 1
        return day


def add_months(day: date, months: int, day_of_month: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, day_of_month)


def due_dates(validation_date: date, count: int, debit_day: int) -> list[date]:
    """The first debit falls on ``debit_day`` of the month after V's month, the k-th k months later."""
    return [add_months(validation_date, 1 + k, debit_day) for k in range(count)]
