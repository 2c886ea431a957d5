"""Notifications on the running system: an installments request through validation, told to its
affiliate by e-mail (the stack's SMTP sink) and SMS (the stack's SMS file), in Arabic (the affiliate's
language): the guarantees to deposit, the reminder a week before the deadline (``recouvrement
notifications sweep --date``), the deposit, the pre-notification 5 business days before the first
collection, the AM04 rejection with its re-presentation date, the completion with its attestation.
Each exactly once, also after every event is delivered again (``recouvrement <service> replay``)."""

import email
import io
import json
import uuid
from datetime import date, timedelta
from email import policy
from email.message import EmailMessage
from typing import Any

import pypdf
import pytest

from contracts.calendar import BusinessCalendar
from contracts.topics import DEBITS_EVENTS, DEBT_LEDGER, REQUESTS_EVENTS
from services.notifications.domain.notices import business_days_before
from services.stack.demo_data import generate
from tests import messages
from tests.e2e.conftest import NOTIFIED, RunningStack, operator_command
from tests.e2e.otlp_receiver import OtlpReceiver
from tests.e2e.test_debits_flow import SLOW, debit_run, plan_of, request_reaches, run_until_done
from tests.e2e.test_replay import lagging
from tests.e2e.test_requests_flow import Employer
from tests.support import eventually, publish, read_to_end

pytestmark = pytest.mark.e2e

ADDRESS = f"contact.{NOTIFIED}@exemple.ma"
CHARGES = (("principal", "30000.00"), ("majorations", "6000.00"), ("frais", "240.00"))


def mails(stack: RunningStack) -> list[EmailMessage]:
    """What the stack's mail sink was given over SMTP for our affiliate, in the order received."""
    found = []
    for path in sorted((stack.data_dir / "mail").glob("*.eml")):
        mail = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        if mail["To"] == ADDRESS:
            found.append(mail)
    return found  # type: ignore[return-value]


def sms(stack: RunningStack, mobile: str) -> list[dict[str, str]]:
    path = stack.data_dir / "sms" / "sms.jsonl"
    lines = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    return [line for line in lines if line["to"] == mobile]


def body(mail: EmailMessage) -> str:
    return str(mail.get_body(preferencelist=("plain",)).get_content())  # type: ignore[union-attr]


async def told(employer: Employer, kind: str, count: int = 2) -> list[dict[str, Any]]:
    """Waits until ``count`` notifications of ``kind`` (one per channel) are sent; the list the portal reads."""
    url = f"{employer.stack.urls['notifications']}/v1/affiliates/{employer.affiliate}/notifications"

    async def sent() -> Any:
        answer = await employer.call("GET", url)
        assert answer.status_code == 200, answer.text
        listed = [n for n in answer.json() if n["kind"] == kind]
        return answer.json() if len(listed) >= count and all(n["state"] == "SENT" for n in listed) else None

    result: list[dict[str, Any]] = await eventually(sent, timeout=SLOW, interval=0.5)
    return result


def sweep(stack: RunningStack, on: date) -> str:
    return operator_command(stack, "notifications", "notifications", "sweep", "--date", on.isoformat())


async def test_an_installments_plan_is_told_at_each_step_once_in_the_affiliates_language(
    stack: RunningStack, otlp: OtlpReceiver
) -> None:
    dataset = generate(20, 2024)
    (record,) = [a for a in dataset.export.affiliates if a.numero == NOTIFIED]
    assert record.contact is not None and record.contact.language == "ar" and record.contact.mobile
    mobile = record.contact.mobile
    employer = Employer(stack, "demo.affilie.008", NOTIFIED)
    # the CNSS core books late-payment surcharges on a 2023 period: something to remit (the generated
    # demo leaves this affiliate nothing, and no other test uses it)
    charges = [messages.charge(NOTIFIED, "2023-05", category=c, amount=a) for c, a in CHARGES]
    await publish(stack.bootstrap, DEBT_LEDGER.name, [(NOTIFIED, c) for c in charges])

    request_id = await employer.draft("INSTALLMENTS")
    quote = await employer.simulate("INSTALLMENTS", installments=2)
    assert quote.status_code == 201, quote.text
    trace_id = uuid.uuid4().hex
    traceparent = f"00-{trace_id}-{uuid.uuid4().hex[:16]}-01"
    waiting = await employer.validate(request_id, quote.json()["quote_id"], headers={"traceparent": traceparent})
    assert waiting.json()["state"] == "AWAITING_GUARANTEE", waiting.text
    deadline = date.fromisoformat(waiting.json()["guarantee_deadline"])

    # 1. the guarantees to deposit: where, how much, by when
    await told(employer, "guarantee_required")
    (required,) = mails(stack)
    assert required["Subject"] == f"ضمانات يجب إيداعها قبل {deadline:%d/%m/%Y}"
    assert record.perception.name in body(required) and request_id[:8].upper() in body(required)
    assert f"{deadline:%d/%m/%Y}" in sms(stack, mobile)[0]["text"]

    async def in_the_validations_trace() -> bool:  # the click, requests' event, the mail and the SMS: one trace
        sends = [s for s in otlp.trace(trace_id) if (s.service, s.name) == ("notifications", "notification send")]
        return {s.attributes.get("notification.channel") for s in sends} == {"email", "sms"}

    await eventually(in_the_validations_trace, timeout=30, interval=0.5)

    # 2. a week before the deadline, the reminder; the same sweep again tells nothing more
    assert sweep(stack, deadline - timedelta(days=7)).count("2 rappels de garanties,") == 1
    assert sweep(stack, deadline - timedelta(days=7)).count("0 rappels de garanties,") == 1
    await told(employer, "guarantee_reminder")
    assert mails(stack)[-1]["Subject"] == f"تذكير: ضمانات يجب إيداعها قبل {deadline:%d/%m/%Y}"

    # 3. the deposit, by hand at the office: validated, told; no 1-day reminder for it any more
    operator_command(
        stack,
        "requests",
        "perception",
        "deposit",
        request_id,
        "--affiliate",
        NOTIFIED,
        "--perception",
        record.perception.code,
        "--bootstrap",
        stack.bootstrap,
    )
    await request_reaches(employer, request_id, "VALIDATED")
    await told(employer, "guarantees_accepted")
    assert sweep(stack, deadline - timedelta(days=1)).count("0 rappels de garanties,") == 1

    # 4. five business days before the first collection: amount, date, masked account
    plan = await plan_of(employer, request_id)
    first = plan[0]
    collection = date.fromisoformat(first["collection_date"])
    told_on = business_days_before(collection, 5, BusinessCalendar())
    url = f"{stack.urls['notifications']}/v1/affiliates/{NOTIFIED}/notifications"

    async def swept() -> bool:
        """The plan reaches notifications by Kafka, a moment after debits shows it (and the sweep of
        the day before the deadline may have found it already, when that day is in the window)."""
        sweep(stack, told_on)
        listed = (await employer.call("GET", url)).json()
        return sum(n["kind"] == "debit_coming" for n in listed) == 2

    await eventually(swept, timeout=SLOW, interval=1.0)
    for day in (told_on, told_on + timedelta(days=1)):  # not twice
        output = sweep(stack, day)
        assert "0 rappels de garanties, 0 pré-notifications" in output, (day, output)
    await told(employer, "debit_coming")
    account = (await employer.bank_account())["rib_masked"]
    assert account in body(mails(stack)[-1]) and f"{collection:%d/%m/%Y}" in body(mails(stack)[-1])
    assert account in sms(stack, mobile)[-1]["text"]
    rib = next(a.rib for a in dataset.bank_accounts if a.affiliate == NOTIFIED)
    assert all(rib not in body(m) for m in mails(stack)) and all(rib not in s["text"] for s in sms(stack, mobile))

    # 5. the bank rejects it (AM04): when it is presented again
    debit_run(stack, collection)
    rejections = await told(employer, "debit_rejected")
    assert {n["channel"] for n in rejections if n["kind"] == "debit_rejected"} == {"email", "sms"}
    rejection = next(m for m in mails(stack) if m["Subject"] == "رفض البنك للاقتطاع")
    assert "AM04" in body(rejection) and "رصيد غير كاف" in body(rejection)

    # 6. every debit paid at last: completed, the attestation attached
    await run_until_done(stack, employer, request_id)
    await request_reaches(employer, request_id, "COMPLETED")
    await told(employer, "plan_completed")
    (completed,) = [m for m in mails(stack) if m["Subject"] == "تمت تسوية المخطط: الإعفاء نهائي"]
    (pdf,) = [p for p in completed.walk() if p.get_content_type() == "application/pdf"]
    text = pypdf.PdfReader(io.BytesIO(pdf.get_payload(decode=True))).pages[0].extract_text()
    assert NOTIFIED in text and request_id[:8].upper() in text

    # 7. everything requests and debits published, delivered again: nothing told twice
    before = await told(employer, "plan_completed")
    sent_mails, sent_sms = len(mails(stack)), len(sms(stack, mobile))
    topics = [REQUESTS_EVENTS.name, DEBITS_EVENTS.name]
    published = {t: len(await read_to_end(stack.bootstrap, t, key=NOTIFIED)) for t in topics}
    for service in ("requests", "debits"):
        operator_command(stack, service, service, "replay", "--since", date.today().isoformat())

    async def caught_up() -> bool:
        """every event of ours on the topics twice, and notifications' group at their end"""
        for topic in topics:
            if len(await read_to_end(stack.bootstrap, topic, key=NOTIFIED)) < 2 * published[topic]:
                return False
        readers: set[str] = set()
        return not await lagging(stack.bootstrap, topics, readers) and "notifications" in readers

    await eventually(caught_up, timeout=SLOW, interval=1.0)
    after = await told(employer, "plan_completed")
    assert sorted(n["id"] for n in after) == sorted(n["id"] for n in before)
    kinds = sorted(n["kind"] for n in after if n["channel"] == "email")
    assert kinds[:3] == ["debit_coming", "debit_rejected", "debit_rejected"]
    assert kinds.count("guarantee_required") == kinds.count("guarantee_reminder") == kinds.count("plan_completed") == 1
    assert (len(mails(stack)), len(sms(stack, mobile))) == (sent_mails, sent_sms) == (len(after) // 2, len(after) // 2)
