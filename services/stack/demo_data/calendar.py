"""Periods as month indexes (year * 12 + month - 1), so spells are plain integer ranges; booking and due dates."""

from datetime import date


def _month(period: str) -> int:
    year, month = period.split("-")
    return int(year) * 12 + int(month) - 1


def _period(month: int) -> str:
    return f"{month // 12:04d}-{month % 12 + 1:02d}"


def _day(month: int, day: int) -> date:
    return date(month // 12, month % 12 + 1, day)


def _month_of(day: date) -> int:
    return day.year * 12 + day.month - 1


def _booking(month: int) -> date:
    """The contribution of a period is booked on the first day of the next month ..."""
    return _day(month + 1, 1)


def _due_date(month: int) -> date:
    """... and is due by the 10th of that month."""
    return _day(month + 1, 10)
