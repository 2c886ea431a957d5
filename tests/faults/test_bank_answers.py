"""A careless bank repeats its answers; a bank that deduplicates answers AM05. Neither moves money.

Through the public door: raw records on ``banks.debit-results.v1`` with aiokafka, for a real order
of the faults stack that the reference bank has already executed.
"""

from datetime import UTC, date, datetime
from typing import Any

import pytest

from contracts.debits import DebitExecuted, DebitRejected
from contracts.topics import BANK_RESULTS
from tests.e2e.conftest import RunningStack
from tests.e2e.test_debits_flow import answered, debit_run, events_until, plan_of, remission_reaches
from tests.e2e.test_requests_flow import Employer
from tests.support import eventually, header, publish, read_to_end

pytestmark = [pytest.mark.faults]


def executed_again(e2e: str, bank: str, amount: str, on: date) -> DebitExecuted:
    """The execution again, under a new event id (a careless bank)."""
    payload = {"end_to_end_id": e2e, "bank_code": bank, "amount": amount, "settled_on": on}
    return DebitExecuted.build(payload, producer="bank", occurred_at=datetime.now(UTC))


def rejected(e2e: str, bank: str, code: str, on: date) -> DebitRejected:
    payload = {"end_to_end_id": e2e, "bank_code": bank, "reason_code": code, "rejected_on": on}
    return DebitRejected.build(payload, producer="bank", occurred_at=datetime.now(UTC))


async def test_repeated_and_duplicate_answers_change_nothing_and_a_contrary_one_is_dead_lettered(
    faults_stack: RunningStack,
) -> None:
    employer = Employer(faults_stack, "demo.affilie.018", "1000117")
    request_id = await employer.draft("FULL")
    quote = (await employer.simulate("FULL")).json()
    validated = await employer.validate(request_id, quote["quote_id"])
    assert validated.status_code == 200, validated.text
    [debit] = await plan_of(employer, request_id)
    collection = date.fromisoformat(debit["collection_date"])
    debit_run(faults_stack, collection)
    events = await events_until(faults_stack, employer.affiliate, request_id, "debits.plan_completed")
    e2e = next(e["payload"]["end_to_end_id"] for e in events if e["payload"].get("end_to_end_id"))
    bank = (await employer.bank_account())["bank_code"]

    careless = [executed_again(e2e, bank, debit["amount"], collection), rejected(e2e, bank, "AM05", collection)]
    contrary = rejected(e2e, bank, "AM04", collection)
    await publish(faults_stack.bootstrap, BANK_RESULTS.name, [(employer.affiliate, m) for m in [*careless, contrary]])

    async def contrary_dead_lettered() -> list[Any] | None:
        found = await read_to_end(faults_stack.bootstrap, BANK_RESULTS.dlq, key=employer.affiliate)
        return found if any(str(contrary.event_id).encode() in r.value for r in found) else None

    # The contrary answer is dead-lettered (a human must look); the repeats are not: harmless.
    letters = await eventually(contrary_dead_lettered, timeout=60, interval=0.5)
    assert len(letters) == 1
    assert "déjà un résultat" in (header(letters[0], "x-dlq-reason") or "")
    # Nothing moved: one debit, settled once; the plan completed; the remission definitive.
    [after] = await answered(employer, request_id)
    assert (after["state"], after["attempts"]) == ("SETTLED", 1)
    await remission_reaches(employer, request_id, "DEFINITIVE")
