"""The dates debt accepts on a ledger entry: from 2000 to today and its margin; anything else is a
typo that would move money through article 2 (``apply_ledger.check_dates``)."""

from datetime import date

import pytest

from contracts.debt import PaymentReceived
from services.debt.adapters.repository import EntryRow
from services.debt.service.apply_ledger import LedgerMessage, check_dates, entry_row
from services.runtime.consumer import Unapplicable
from tests import messages

LATEST = date(2026, 11, 3)  # today 2026-11-02 and LEDGER_DAYS_AHEAD 1


def payment_on(day: date) -> PaymentReceived:
    return messages.payment("1000001", "2026-10", category="principal", amount="100.00", received_on=day)


def rows(*entries: LedgerMessage) -> list[EntryRow]:
    return [entry_row(e) for e in entries]


@pytest.mark.parametrize("day", [date(2000, 1, 1), date(2026, 11, 2), LATEST])
def test_a_date_from_2000_to_the_margin_is_applied(day: date) -> None:
    check_dates(rows(payment_on(day), messages.charge("1000001", "2026-10", booked_on=day)), LATEST)


@pytest.mark.parametrize(
    ("day", "reason"),
    [
        (date(2026, 11, 4), "datée du 2026-11-04 : dans le futur"),
        (date(9999, 12, 31), "datée du 9999-12-31 : dans le futur"),
        (date(1999, 12, 31), "datée du 1999-12-31 : avant 2000"),
        (date(1, 1, 1), "datée du 0001-01-01 : avant 2000"),
    ],
)
def test_a_date_outside_is_refused_naming_the_entry(day: date, reason: str) -> None:
    typo = payment_on(day)
    with pytest.raises(Unapplicable, match=reason) as refused:
        check_dates(rows(payment_on(date(2026, 10, 30)), typo), LATEST)
    assert typo.payload.entry_id in str(refused.value)
