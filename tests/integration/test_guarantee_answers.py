"""What a perception may say, and what requests does with it (issue 13: contracts bound what partners say).

requests with its real database and broker; the perception's answers arrive on
``perception.guarantees.v1`` as a perception office would write them. Seen before: a deposit from office
``ZZZ`` validated a plan, one dated 400 days back validated it with V in the past (the next debit run
then ordered every overdue installment at once), a 495-character refusal made the request's own
event invalid. An answer from another office than the one asked, or dated outside the request's window
(before its submission, after today, after the deadline), goes to ``perception.guarantees.v1.dlq``
with its reason and moves nothing; a refusal's reason is bounded in our own event. An installment
plan waits for auth to name the affiliate's office (issue 16): no guarantee request to ``INCONNUE``.
"""

# ruff: noqa: F401, F811 (``svc``, the requests service, is test_requests_lifecycle's fixture: the tests name it)

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from aiokafka import ConsumerRecord

from contracts.perception import GuaranteeDeposited, GuaranteeRefused
from contracts.requests import REASON_MAX_LENGTH
from contracts.topics import (
    AUTH_AFFILIATES,
    DEBITS_ACCOUNTS,
    DEBT_POSITIONS,
    PERCEPTION_GUARANTEES,
    REQUESTS_EVENTS,
    SIMULATION_QUOTES,
    guarantee_requests,
)
from services.runtime.clock import BUSINESS_TZ
from tests.integration.test_requests_lifecycle import (  # the requests service and its fixture
    ACCOUNT_ID,
    Requests,
    accounts,
    position,
    profile,
    quote,
    svc,
)
from tests.support import eventually, header, new_affiliate, publish, read_to_end, read_topic

pytestmark = pytest.mark.integration

OFFICE = "CAS-01"  # the affiliates' office in tests.integration.test_requests_lifecycle.profile
EVENTS = REQUESTS_EVENTS.adapter()


def deposit(request_id: str, affiliate: str, at: datetime | str, *, office: str = OFFICE, ref: str = "GAR-1") -> bytes:
    """Raw bytes, as a partner writes them (a date the models would refuse to build is sent anyway)."""
    return json.dumps(
        {
            "event_id": str(uuid.uuid4()),
            "type": GuaranteeDeposited.TYPE,
            "occurred_at": datetime.now(UTC).isoformat(),
            "producer": "perception",
            "payload": {
                "request_id": request_id,
                "affiliate": affiliate,
                "perception": office,
                "reference": ref,
                "guarantee_type": "CAUTION_BANCAIRE",
                "deposited_at": at if isinstance(at, str) else at.isoformat(),
            },
        }
    ).encode()


def refusal(request_id: str, affiliate: str, reason: str, at: datetime, *, office: str = OFFICE) -> GuaranteeRefused:
    return GuaranteeRefused.build(
        {"request_id": request_id, "affiliate": affiliate, "perception": office, "reason": reason, "refused_at": at},
        producer="perception",
        occurred_at=at,
    )


async def draft_without_office(svc: Requests, affiliate: str) -> str:
    """An installment draft of ``affiliate``, ready to validate, before auth announced its profile."""
    await svc.send(DEBT_POSITIONS.name, affiliate, position(affiliate, 1))
    await svc.send(DEBITS_ACCOUNTS.name, affiliate, accounts(affiliate))

    async def created() -> str | None:
        answer = await svc.create(affiliate)
        return str(answer.json()["id"]) if answer.status_code == 201 else None

    request_id = await eventually(created)
    base = f"/v1/requests/{request_id}"
    body = {"modality": "INSTALLMENTS", "guarantee_obligation_accepted": True}
    assert (await svc.act(affiliate, "PUT", f"{base}/modality", body)).status_code == 200

    async def account_chosen() -> bool:
        answer = await svc.act(affiliate, "PUT", f"{base}/bank-account", {"bank_account_id": ACCOUNT_ID})
        return answer.status_code == 200

    await eventually(account_chosen)
    return request_id


async def awaiting(svc: Requests, affiliate: str) -> str:
    """A request of ``affiliate`` (office CAS-01) in AWAITING_GUARANTEE."""
    request_id = await svc.draft_ready(affiliate, "INSTALLMENTS")
    issued = quote(affiliate, modality="INSTALLMENTS")
    await svc.send(SIMULATION_QUOTES.name, affiliate, issued)
    waiting = await svc.validate(affiliate, request_id, issued.payload.quote_id)
    assert waiting.json()["state"] == "AWAITING_GUARANTEE", waiting.text
    return request_id


async def state_of(svc: Requests, affiliate: str, request_id: str) -> dict[str, Any]:
    answer = await svc.act(affiliate, "GET", f"/v1/requests/{request_id}")
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


async def dead_letters(svc: Requests, affiliate: str, sent: list[bytes]) -> list[str]:
    """The reason each of ``sent`` was dead-lettered with (waits until all of them are)."""

    def all_there(records: list[ConsumerRecord[Any, Any]]) -> bool:
        return {r.value for r in records} >= set(sent)

    found = await read_topic(svc.infra.bootstrap, PERCEPTION_GUARANTEES.dlq, all_there, key=affiliate)
    reasons = {r.value: header(r, "x-dlq-reason") or "" for r in found}
    return [reasons[value] for value in sent]


async def test_another_office_or_a_date_outside_the_window_moves_nothing_and_reaches_an_operator(
    svc: Requests,
) -> None:
    affiliate = new_affiliate()
    request_id = await awaiting(svc, affiliate)
    now = svc.clock.now()
    hostile = [
        deposit(request_id, affiliate, now, office="ZZZ"),  # an office that was not asked
        deposit(request_id, affiliate, now - timedelta(days=400)),  # V in the past: every debit overdue
        deposit(request_id, affiliate, now - timedelta(days=1)),  # the day before the request
        deposit(request_id, affiliate, now + timedelta(days=2)),  # not deposited yet
        deposit(request_id, affiliate, "9999-12-31T23:30:00Z"),  # overflows in Casablanca time
        deposit(request_id, affiliate, "1970-01-01T00:00:00Z"),
        deposit(request_id, affiliate, now, ref="GAR\u0000"),  # Postgres refuses NUL in a reference
        refusal(request_id, affiliate, "refus d'un autre bureau", now, office="ZZZ").model_dump_json().encode(),
        refusal(request_id, affiliate, "refus daté de demain", now + timedelta(days=1)).model_dump_json().encode(),
    ]
    await publish(svc.infra.bootstrap, PERCEPTION_GUARANTEES.name, [(affiliate, h) for h in hostile])

    reasons = await dead_letters(svc, affiliate, hostile)
    today = now.astimezone(BUSINESS_TZ).date()
    assert reasons[0].startswith("inapplicable") and "perception-non-sollicitee" in reasons[0], reasons[0]
    assert f"demandées à la perception {OFFICE}" in reasons[0]
    assert "reponse-avant-la-demande" in reasons[1] and f"avant la demande du {today.isoformat()}" in reasons[1]
    assert "reponse-avant-la-demande" in reasons[2]
    assert "reponse-dans-le-futur" in reasons[3]
    assert "année 9999" in reasons[4] and "année 1970" in reasons[5]
    assert "reference" in reasons[6]
    assert "perception-non-sollicitee" in reasons[7] and "reponse-dans-le-futur" in reasons[8]
    body = await state_of(svc, affiliate, request_id)
    assert (body["state"], body["guarantee"], body["validation_date"]) == ("AWAITING_GUARANTEE", None, None)
    assert [h["event"] for h in body["history"]][-1] == "awaiting_guarantee"

    # The office asked, dated today: the partition moved on, the plan is validated, V is today.
    await publish(svc.infra.bootstrap, PERCEPTION_GUARANTEES.name, [(affiliate, deposit(request_id, affiliate, now))])

    async def validated() -> dict[str, Any] | None:
        found = await state_of(svc, affiliate, request_id)
        return found if found["state"] == "VALIDATED" else None

    body = await eventually(validated)
    assert body["validation_date"] == today.isoformat()
    assert all(d["due_date"] > today.isoformat() for d in body["schedule"])


async def test_a_deposit_after_the_deadline_is_refused_even_before_the_sweep(svc: Requests) -> None:
    affiliate = new_affiliate()
    request_id = await awaiting(svc, affiliate)
    deadline = (await state_of(svc, affiliate, request_id))["guarantee_deadline"]
    svc.clock.advance(timedelta(days=33))  # the sweep has not run (it runs on demand here)
    late = datetime.fromisoformat(deadline).replace(hour=12, tzinfo=UTC) + timedelta(days=1)
    sent = deposit(request_id, affiliate, late)
    await publish(svc.infra.bootstrap, PERCEPTION_GUARANTEES.name, [(affiliate, sent)])
    [reason] = await dead_letters(svc, affiliate, [sent])
    assert "garanties-hors-delai" in reason and f"délai de dépôt des garanties ({deadline})" in reason
    assert (await state_of(svc, affiliate, request_id))["state"] == "AWAITING_GUARANTEE"


async def test_a_refusal_of_495_characters_rejects_with_a_bounded_reason_and_a_valid_event(
    svc: Requests,
) -> None:
    affiliate = new_affiliate()
    request_id = await awaiting(svc, affiliate)
    reason = "Garantie refusée :\tcaution\u0000 " + "x" * 495
    reason = reason[:495]
    await svc.send(PERCEPTION_GUARANTEES.name, affiliate, refusal(request_id, affiliate, reason, svc.clock.now()))

    async def rejected() -> dict[str, Any] | None:
        found = await state_of(svc, affiliate, request_id)
        return found if found["state"] == "REJECTED" else None

    body = await eventually(rejected)
    written = body["history"][-1]["reason"]
    assert len(written) == REASON_MAX_LENGTH and written.endswith("…")
    assert written.startswith("garanties refusées : Garantie refusée : caution  xxx")  # controls made spaces
    assert body["history"][-1]["actor"] == {"kind": "perception", "id": OFFICE}

    def rejection(records: list[ConsumerRecord[Any, Any]]) -> bool:
        return any(b'"REJECTED"' in r.value and request_id.encode() in r.value for r in records)

    records = await read_topic(svc.infra.bootstrap, REQUESTS_EVENTS.name, rejection, key=affiliate)
    event = EVENTS.validate_json(next(r.value for r in records if b'"REJECTED"' in r.value))
    assert event.payload.reason == written


async def test_an_installment_plan_waits_for_auth_to_name_the_office_then_asks_it_on_its_topic(
    svc: Requests,
) -> None:
    """Issue 16: a guarantee request never goes out to ``INCONNUE``; the validation is refused (409
    ``perception-inconnue``), nothing is written, and the same validation passes once auth named the office."""
    affiliate = new_affiliate()
    request_id = await draft_without_office(svc, affiliate)
    issued = quote(affiliate, modality="INSTALLMENTS")
    await svc.send(SIMULATION_QUOTES.name, affiliate, issued)
    refused = await svc.validate(affiliate, request_id, issued.payload.quote_id)
    assert (refused.status_code, refused.json()["code"]) == (409, "perception-inconnue"), refused.text
    assert refused.json()["perception"] is None
    assert (await state_of(svc, affiliate, request_id))["state"] == "DRAFT"
    office_topic = guarantee_requests(OFFICE)
    assert await read_to_end(svc.infra.bootstrap, office_topic.name, key=affiliate) == []

    await svc.send(AUTH_AFFILIATES.name, affiliate, profile(affiliate))  # auth names CAS-01

    async def office_known() -> bool:
        conn = await asyncpg.connect(svc.database)
        try:
            found: str | None = await conn.fetchval(
                "SELECT perception_code FROM affiliate_profile WHERE affiliate = $1", affiliate
            )
            return found == OFFICE
        finally:
            await conn.close()

    await eventually(office_known)
    waiting = await svc.validate(affiliate, request_id, issued.payload.quote_id)
    assert waiting.json()["state"] == "AWAITING_GUARANTEE", waiting.text
    records = await read_topic(svc.infra.bootstrap, office_topic.name, bool, key=affiliate)
    assert json.loads(records[-1].value)["payload"]["perception"]["code"] == OFFICE
    now = svc.clock.now()
    stray = deposit(request_id, affiliate, now, office="RAB-02")  # not the office asked
    await publish(svc.infra.bootstrap, PERCEPTION_GUARANTEES.name, [(affiliate, stray)])
    [reason] = await dead_letters(svc, affiliate, [stray])
    assert "perception-non-sollicitee" in reason
    await publish(svc.infra.bootstrap, PERCEPTION_GUARANTEES.name, [(affiliate, deposit(request_id, affiliate, now))])

    async def validated() -> dict[str, Any] | None:
        found = await state_of(svc, affiliate, request_id)
        return found if found["state"] == "VALIDATED" else None

    body = await eventually(validated)
    assert body["guarantee"]["perception"] == OFFICE
