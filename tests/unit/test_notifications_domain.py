"""notifications' pure rules: the catalogue says every kind in both languages with its figures the
Moroccan way, reminders fall on their days and only then, a rejection says what happens next, and a
partner's contact details cannot carry anything but an address."""

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from contracts.auth import Contact
from contracts.calendar import BusinessCalendar
from contracts.debits import DebitChangedPayload
from contracts.money import format_amount
from contracts.requests import RequestStateChangedPayload
from services.notifications.domain.catalogue import CATALOGUE, fields_of, render
from services.notifications.domain.decisions import RequestView, on_debit_changed, on_request_event, view_after
from services.notifications.domain.notices import (
    KINDS,
    Backoff,
    Notice,
    business_days_before,
    guarantee_reminder_due,
    prenotification_due,
)
from services.notifications.service.delivery import masked

CALENDAR = BusinessCalendar()
AT = datetime(2026, 12, 14, 9, 0, tzinfo=UTC)

FACTS = {
    "request": "AB12CD34",
    "affiliate": "1234567",
    "office": "Perception Casa-Anfa",
    "amount": "36000.5",
    "to_pay": "36000.00",
    "remise": "12000.00",
    "first_amount": "4000.00",
    "first_collection": "2027-01-12",
    "deadline": "2026-12-28",
    "days": "7",
    "collection_date": "2027-01-12",
    "sequence": "1",
    "account": "********************3461",
    "bank": "Attijariwafa bank",
    "reason_code": "AM04",
    "next_attempt_on": "2027-01-22",
    "reason": "cotisations courantes impayées (période 2027-01)",
    "completed_on": "2027-06-10",
    "period": "2027-01",
    "due_on": "2027-02-10",
}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("language", ["fr", "ar"])
@pytest.mark.parametrize("channel", ["email", "sms"])
def test_every_kind_is_said_in_both_languages_on_both_channels(kind: str, language: str, channel: str) -> None:
    message = render(kind, channel, language, FACTS)  # type: ignore[arg-type]
    assert "{" not in message.text and "{" not in message.subject
    if language == "ar":
        assert any("\u0600" <= c <= "\u06ff" for c in message.text)  # Arabic letters
    for name in fields_of(CATALOGUE[kind].email["fr"]):
        if name in ("amount", "remise", "to_pay", "first_amount"):
            assert format_amount(Decimal(FACTS[name])) in render(kind, "email", language, FACTS).text  # type: ignore[arg-type]
    assert "2026-12-28" not in message.text  # dates the way people read them: 28/12/2026


def test_the_two_languages_name_the_same_facts() -> None:
    """A translation that drops a figure (the deadline, the amount) is caught here, not by an affiliate."""
    for kind, template in CATALOGUE.items():
        for part in ("subject", "email", "sms"):
            texts = getattr(template, part)
            assert fields_of(texts["fr"]) == fields_of(texts["ar"]), (kind, part)


def test_a_missing_fact_is_an_error_not_a_message_with_a_hole() -> None:
    with pytest.raises(KeyError):
        render("debit_coming", "email", "fr", {k: v for k, v in FACTS.items() if k != "account"})


def test_a_rejection_says_what_happens_next() -> None:
    again = render("debit_rejected", "email", "fr", FACTS).text
    assert "provision insuffisante (AM04)" in again and "présenté de nouveau le 22/01/2027" in again
    final = render("debit_rejected", "email", "fr", FACTS | {"next_attempt_on": "", "reason_code": "AC04"}).text
    assert "compte clôturé (AC04)" in final and "ne sera pas présenté de nouveau" in final
    unknown = render("debit_rejected", "sms", "ar", FACTS | {"reason_code": "ZZ99"}).text
    assert "ZZ99" in unknown


@given(
    deadline=st.dates(min_value=date(2025, 1, 1), max_value=date(2030, 12, 31)),
    offset=st.integers(min_value=-5, max_value=40),
)
def test_a_guarantee_reminder_falls_on_its_days_and_never_after_the_deadline(deadline: date, offset: int) -> None:
    today = deadline - timedelta(days=offset)
    due = guarantee_reminder_due(deadline, today, (7, 1))
    if offset < 0 or offset > 7:
        assert due is None
    elif offset <= 1:
        assert due == 1
    else:
        assert due == 7


@given(collection=st.dates(min_value=date(2026, 1, 1), max_value=date(2030, 12, 31)).map(CALENDAR.on_or_after))
def test_a_debit_is_told_five_business_days_before_and_not_sooner(collection: date) -> None:
    first = business_days_before(collection, 5, CALENDAR)
    between = [first + timedelta(days=k) for k in range((collection - first).days)]
    assert sum(CALENDAR.is_business_day(d) for d in between[1:]) == 4  # 5 business days, the first one included
    assert not prenotification_due(collection, first - timedelta(days=1), 5, CALENDAR)
    assert all(prenotification_due(collection, d, 5, CALENDAR) for d in between)
    assert not prenotification_due(collection, collection, 5, CALENDAR)


def test_backoff_grows_is_capped_and_ends() -> None:
    backoff = Backoff(attempts=10, first=timedelta(seconds=30), most=timedelta(hours=1))
    delays = [backoff.delay(n) for n in range(1, 11)]
    assert delays[:4] == [timedelta(seconds=s) for s in (30, 60, 120, 240)]
    assert delays[8] == timedelta(hours=1) and delays[9] is None


def test_each_fact_has_one_key_per_channel() -> None:
    notice = Notice("debit_rejected", "1234567", "r", "r:1:2")
    assert {notice.dedupe_key("email"), notice.dedupe_key("sms")} == {
        "debit_rejected:r:1:2:email",
        "debit_rejected:r:1:2:sms",
    }


def _event(state: str, previous: str | None, **more: object) -> RequestStateChangedPayload:
    return RequestStateChangedPayload.model_validate(
        {
            "request_id": uuid.UUID(int=7),
            "affiliate": "1234567",
            "programme": "DEC-05-2023",
            "state": state,
            "previous_state": previous,
            "at": AT,
            "actor": {"kind": "system", "id": "requests"},
            "reason": "test",
            "modality": "INSTALLMENTS",
            **more,
        }
    )


def test_a_request_awaiting_guarantees_is_told_where_how_much_and_by_when() -> None:
    due = {
        "perception": {"code": "CAS-01", "name": "Perception Casa-Anfa"},
        "amount": "36000.00",
        "deadline": "2026-12-28",
    }
    event = _event("AWAITING_GUARANTEE", "DRAFT", guarantee_due=due)
    view = view_after(None, event)
    (notice,) = on_request_event(event, view)
    assert (notice.kind, notice.key) == ("guarantee_required", f"{uuid.UUID(int=7)}:2026-12-28")
    assert notice.facts == {
        "request": str(uuid.UUID(int=7))[:8].upper(),
        "affiliate": "1234567",
        "office": "Perception Casa-Anfa",
        "amount": "36000.00",
        "deadline": "2026-12-28",
    }
    expired = _event("EXPIRED", "AWAITING_GUARANTEE")
    (passed,) = on_request_event(expired, view_after(view, expired))
    assert passed.kind == "guarantee_deadline_passed" and passed.facts["deadline"] == "2026-12-28"


def test_states_that_tell_nothing_tell_nothing() -> None:
    for state, previous in (("DRAFT", None), ("IN_PROGRESS", "VALIDATED"), ("CANCELLED", "DRAFT")):
        event = _event(state, previous)
        assert on_request_event(event, view_after(None, event)) == []
    defaulted = _event("DEFAULTED", "IN_PROGRESS", reason="déchéance : cotisations courantes impayées")
    (notice,) = on_request_event(defaulted, RequestView(str(uuid.UUID(int=7)), "1234567", "DEFAULTED"))
    assert notice.kind == "plan_defaulted" and notice.facts["reason"].startswith("déchéance")


def test_a_rejection_is_told_once_per_attempt_and_a_settlement_not_at_all() -> None:
    def changed(state: str, attempts: int, code: str | None, again: date | None) -> DebitChangedPayload:
        debit = {
            "sequence": 2,
            "kind": "INSTALLMENT",
            "due_date": "2027-02-10",
            "collection_date": "2027-02-10",
            "amount": "3000.00",
            "state": state,
            "attempts": attempts,
        }
        return DebitChangedPayload.model_validate(
            {
                "request_id": uuid.UUID(int=7),
                "affiliate": "1234567",
                "debit": debit,
                "reason_code": code,
                "final": again is None and code is not None,
                "next_attempt_on": again,
                "at": AT,
            }
        )

    (first,) = on_debit_changed(changed("FAILED", 1, "AM04", date(2027, 2, 20)))
    (second,) = on_debit_changed(changed("FAILED", 2, "AM04", None))
    assert first.key != second.key
    assert (first.facts["next_attempt_on"], second.facts["next_attempt_on"]) == ("2027-02-20", "")
    assert on_debit_changed(changed("SETTLED", 1, None, None)) == []


@pytest.mark.parametrize(
    "email",
    [
        "a@atlas.ma\r\nBcc: x@y.ma",
        "a@atlas.ma\nSubject: x",
        "a b@atlas.ma",
        "<a@atlas.ma>",
        "a@atlas",
        "a@-atlas.ma",
        '"a"@atlas.ma',
        "a@atlas.ma\x00",
        "a" * 65 + "@atlas.ma",
        "a@" + "b" * 250 + ".ma",
    ],
)
def test_a_contact_email_is_an_address_and_nothing_more(email: str) -> None:
    with pytest.raises(ValidationError):
        Contact(email=email)


@pytest.mark.parametrize("mobile", ["0612345678", "+33612345678", "+212512345678", "+2126123456789", "+212 612345678"])
def test_a_contact_mobile_is_a_moroccan_mobile_in_international_form(mobile: str) -> None:
    with pytest.raises(ValidationError):
        Contact(mobile=mobile)


def test_what_the_list_shows_of_an_address_is_masked() -> None:
    assert masked("email", "tresorerie@atlas.ma") == "t***@atlas.ma"
    assert masked("sms", "+212612345678") == "+2126*****678"


def test_a_refusal_by_the_office_is_told_from_the_rejection_requests_made_of_it() -> None:
    due = {
        "perception": {"code": "CAS-01", "name": "Perception Casa-Anfa"},
        "amount": "36000.00",
        "deadline": "2026-12-28",
    }
    awaiting = _event("AWAITING_GUARANTEE", "DRAFT", guarantee_due=due)
    rejected = _event("REJECTED", "AWAITING_GUARANTEE", reason="garanties refusées : caution non signée")
    (notice,) = on_request_event(rejected, view_after(view_after(None, awaiting), rejected))
    assert notice.kind == "guarantees_refused"
    assert (notice.facts["office"], notice.facts["reason"]) == (
        "Perception Casa-Anfa",
        "garanties refusées : caution non signée",
    )
    text = render("guarantees_refused", "email", "fr", notice.facts).text
    assert "caution non signée" in text and "la demande est rejetée" in text


def test_a_default_says_which_remise_is_owed_again() -> None:
    view = RequestView(str(uuid.UUID(int=7)), "1234567", "DEFAULTED", remise="12000.00")
    (notice,) = on_request_event(_event("DEFAULTED", "IN_PROGRESS", reason="déchéance"), view)
    assert (
        "La remise de 12\u00a0000,00\u00a0MAD n'est plus acquise"
        in render("plan_defaulted", "email", "fr", notice.facts).text
    )


def test_an_article_2_notice_is_told_once_per_period_with_its_deadline() -> None:
    notice = {"period": "2027-01", "amount": "5234.50", "due_on": "2027-02-10", "cure_deadline": "2027-03-27"}
    event = _event("IN_PROGRESS", "IN_PROGRESS", notice=notice)
    (told,) = on_request_event(event, RequestView(str(uuid.UUID(int=7)), "1234567", "IN_PROGRESS"))
    assert (told.kind, told.key) == ("contributions_notice", f"{uuid.UUID(int=7)}:2027-01")
    text = render("contributions_notice", "email", "fr", told.facts).text
    assert "5\u00a0234,50\u00a0MAD" in text and "10/02/2027" in text and "au plus tard le 27/03/2027" in text
    with pytest.raises(ValidationError):  # a notice never changes the state
        _event("DEFAULTED", "IN_PROGRESS", notice=notice)
    validated = _event("VALIDATED", "VALIDATED", notice=notice)  # no plan needed: nothing else moves
    assert validated.plan is None
