"""The ``QuoteIssued`` event is built around the quote's JSON (serialized once, for the HTTP answer too):
it must be the very bytes pydantic would write, and a valid ``contracts.simulation.QuoteIssued``."""

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from uuid import uuid4

import pytest

from contracts.calendar import BusinessCalendar
from contracts.programme import shipped_programme
from contracts.simulation import Quote, QuoteIssued
from services.simulation.domain.eligible_debt import Outstanding, eligible_debt
from services.simulation.domain.quote_terms import quote_terms
from services.simulation.service.quoting import PRODUCER, quote_issued_json

DEC = shipped_programme("DEC-05-2023")
D = Decimal


def a_quote(issued_at: datetime) -> Quote:
    debt = eligible_debt(
        DEC,
        [Outstanding(f"2020-{m:02d}", D("10000.00"), D("1234.56"), D("78.90"), D("12.34")) for m in range(1, 13)],
    )
    terms = quote_terms(
        DEC,
        BusinessCalendar(DEC.extra_holidays),
        debt,
        "INSTALLMENTS",
        date(2025, 3, 20),
        advance=D("500.00"),
        installments=24,
    )
    return Quote.model_construct(
        **dict(terms),
        quote_id=uuid4(),
        affiliate="1234567",
        debt_version=3,
        issued_at=issued_at,
        expires_at=issued_at + timedelta(minutes=30),
    )


@pytest.mark.parametrize(
    "now",
    [
        datetime(2025, 3, 20, 9, 15, 2, 123456, tzinfo=UTC),
        datetime(2025, 3, 20, 9, 15, tzinfo=UTC),
        datetime(2025, 3, 20, 10, 15, 2, 5, tzinfo=timezone(timedelta(hours=1))),
    ],
)
def test_the_event_is_the_envelope_pydantic_writes_around_the_same_quote_bytes(now: datetime) -> None:
    quote = a_quote(now)
    body = quote.model_dump_json()
    event_id = uuid4()

    event = quote_issued_json(event_id, now, body)

    expected = QuoteIssued(
        event_id=event_id, type="simulation.quote_issued", occurred_at=now, producer=PRODUCER, payload=quote
    )
    assert event == expected.model_dump_json().encode()
    issued = QuoteIssued.model_validate_json(event)
    assert issued == expected
    assert issued.payload.model_dump_json() == body
