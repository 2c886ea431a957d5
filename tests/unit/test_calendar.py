"""The business calendar's corrections: days added (``extra_holidays``) and days given back
(``worked_days``), for the Islamic holidays the ``holidays`` package only estimates.

Mission review 2026-12-04, #36: an estimated holiday could be added to, never removed; when the
real Eid fell a day later than the estimate, the estimated day stayed a holiday and every debit due
on it was collected a day late."""

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts.calendar import BusinessCalendar
from services.runtime.settings import ProgrammeSettings

# The package's estimate for Eid al-Fitr 2027: Tuesday 9 and Wednesday 10 March.
ESTIMATED = date(2027, 3, 9)
REAL_SECOND_DAY = date(2027, 3, 11)


def test_an_estimated_holiday_observed_a_day_later_is_moved_whole() -> None:
    calendar = BusinessCalendar(extra_holidays=[REAL_SECOND_DAY], worked_days=[ESTIMATED])
    assert [calendar.is_business_day(date(2027, 3, d)) for d in (8, 9, 10, 11, 12)] == [True, True, False, False, True]
    assert calendar.on_or_after(ESTIMATED) == ESTIMATED  # a debit due that day is collected that day
    assert calendar.on_or_after(date(2027, 3, 10)) == date(2027, 3, 12)
    assert calendar.add_business_days(date(2027, 3, 8), 2) == date(2027, 3, 12)
    uncorrected = BusinessCalendar()
    assert uncorrected.on_or_after(ESTIMATED) == date(2027, 3, 11)  # what the estimate alone gives


@pytest.mark.parametrize(
    ("worked", "why"),
    [
        (date(2027, 3, 13), "samedi ou un dimanche"),  # a Saturday
        (date(2027, 3, 8), "ne le donne pas férié"),  # a working day already: a typo for the 9th?
    ],
)
def test_a_worked_day_that_could_only_be_a_typo_is_refused(worked: date, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        BusinessCalendar(worked_days=[worked])


def test_a_day_both_added_and_worked_is_refused() -> None:
    with pytest.raises(ValueError, match="aussi dans les jours fériés ajoutés"):
        BusinessCalendar(extra_holidays=[ESTIMATED], worked_days=[ESTIMATED])


@given(st.dates(min_value=date(2026, 1, 1), max_value=date(2030, 12, 31)))
def test_without_corrections_a_day_is_worked_exactly_when_it_was(day: date) -> None:
    plain, corrected = BusinessCalendar(), BusinessCalendar(worked_days=[ESTIMATED])
    assert corrected.is_business_day(day) == (plain.is_business_day(day) or day == ESTIMATED)


def test_the_services_read_worked_days_from_their_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXTRA_HOLIDAYS", f'["{REAL_SECOND_DAY.isoformat()}"]')
    monkeypatch.setenv("WORKED_DAYS", f'["{ESTIMATED.isoformat()}"]')
    settings = ProgrammeSettings()
    calendar = settings.business_calendar(settings.load_programme())
    assert calendar.is_business_day(ESTIMATED) and not calendar.is_business_day(REAL_SECOND_DAY)
    monkeypatch.setenv("WORKED_DAYS", '["2027-03-08"]')
    with pytest.raises(ValueError, match="ne le donne pas férié"):
        ProgrammeSettings().business_calendar(settings.load_programme())
