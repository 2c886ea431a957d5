"""Business days and debit dates, shared by whoever dates a debit (simulation quotes, debits runs).

Dates are business dates in Africa/Casablanca. A debit is due on the programme's debit day; the date
sent to the bank is the next business day when that day is a weekend or a Moroccan public holiday.
"""

from collections.abc import Iterable
from datetime import date, timedelta

import holidays

SATURDAY = 5


class BusinessCalendar:
    """Moroccan public holidays from the maintained ``holidays`` calendar, plus configured extra dates
    (a holiday declared late, or the real date of an Islamic holiday the calendar only estimates)."""

    def __init__(self, extra_holidays: Iterable[date] = ()) -> None:
        self._public = holidays.country_holidays("MA")
        self._extra = frozenset(extra_holidays)

    def is_business_day(self, day: date) -> bool:
        return day.weekday() < SATURDAY and day not in self._extra and day not in self._public

    def on_or_after(self, day: date) -> date:
        while not self.is_business_day(day):
            day += timedelta(days=1)
        return day

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
