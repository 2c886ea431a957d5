"""debt with its real database and broker: a plan event that arrives before its request's VALIDATED
waits in ``pending_plan_event``, is applied in order once the VALIDATED comes, and goes to the .dlq
with the reason when it waited past ``PLAN_EVENT_MAX_WAIT_SECONDS`` (issue 13)."""

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import asyncpg
import pytest

from contracts.topics import DEBITS_EVENTS, REQUESTS_EVENTS
from services.debt.config import DebtSettings
from services.debt.main import create_app
from services.runtime.clock import FrozenClock
from services.runtime.tokens import TokenIssuer
from tests.conftest import Infra
from tests.integration.test_debt_ingestion import NOW, Debt
from tests.integration.test_debt_plans import completed, defaulted, emit, period, seed, settled, state, until, validated
from tests.support import eventually, header, new_affiliate, publish, read_topic, running

pytestmark = pytest.mark.integration

MAX_WAIT = timedelta(hours=1)


@dataclass
class Stand:
    debt: Debt
    clock: FrozenClock
    database: str


@pytest.fixture
async def stand(infra: Infra, database: str) -> AsyncIterator[Stand]:
    settings = DebtSettings(
        database_url=database,
        kafka_bootstrap_servers=infra.bootstrap,
        kafka_group_id=f"debt-{uuid.uuid4().hex[:8]}",
        token_public_key_file=infra.public_key,
        plan_event_max_wait_seconds=MAX_WAIT.total_seconds(),
        pending_sweep_interval_seconds=0.2,
    )
    issuer = TokenIssuer(
        infra.private_key.read_bytes(),
        issuer=settings.token_issuer,
        audience=settings.token_audience,
        ttl=timedelta(minutes=15),
    )
    clock = FrozenClock(NOW)
    async with running(create_app(settings, clock)) as client:
        yield Stand(Debt(client, issuer), clock, database)


async def waiting_rows(database: str, request_id: uuid.UUID) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(database)
    try:
        return list(
            await conn.fetch(
                "SELECT event_id, event_type, refusal FROM pending_plan_event WHERE request_id = $1 ORDER BY seq",
                request_id,
            )
        )
    finally:
        await conn.close()


async def rows_reach(database: str, request_id: uuid.UUID, count: int) -> list[asyncpg.Record]:
    async def check() -> tuple[list[asyncpg.Record]] | None:
        found = await waiting_rows(database, request_id)
        return (found,) if len(found) == count else None  # truthy even when none is wanted

    result: tuple[list[asyncpg.Record]] = await eventually(check)
    return result[0]


async def pending_health(stand: Stand) -> dict[str, Any]:
    answer = await stand.debt.client.get("/health/pending")
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def test_events_that_come_before_the_validation_wait_and_are_applied_in_order_when_it_comes(
    stand: Stand, infra: Infra
) -> None:
    a = new_affiliate()
    seeded = await seed(stand.debt, infra, a)
    request_id = uuid.uuid4()
    # debits' whole plan, read before requests' VALIDATED: three debits paid (the third on its second
    # attempt), the same settlement announced again under another event id, then the completion.
    early = [
        settled(request_id, a, 1),
        settled(request_id, a, 1),
        settled(request_id, a, 2),
        settled(request_id, a, 3, attempts=2),
        completed(request_id, a),
    ]
    await emit(infra, DEBITS_EVENTS.name, *early)

    waiting = await rows_reach(stand.database, request_id, len(early))
    assert [r["event_id"] for r in waiting] == [e.event_id for e in early]  # arrival order
    assert all(r["refusal"] is None for r in waiting)
    health = await pending_health(stand)
    assert health["waiting"] >= len(early) and health["max_wait_seconds"] == MAX_WAIT.total_seconds()
    assert health["oldest_received_at"] is not None
    # Nothing of it shows yet: no remission, no payment.
    body = (await stand.debt.get(a)).json()
    # (Compared on what a payment would change: the seed's last ledger entries may still be arriving.)
    assert body["remission"] is None
    paid = {c: sum(Decimal(p[c]["paid"]) for p in body["periods"]) for c in ("principal", "majorations")}
    assert paid == {c: sum(Decimal(p[c]["paid"]) for p in seeded["periods"]) for c in ("principal", "majorations")}

    # Redelivered while it waits (same event id): stored once.
    await emit(infra, DEBITS_EVENTS.name, early[0])

    await emit(infra, REQUESTS_EVENTS.name, validated(request_id, a))
    done = await until(stand.debt, a, lambda b: state(b) == "DEFINITIVE")
    assert await waiting_rows(stand.database, request_id) == []
    # Exactly what the same events give in order (test_debt_plans.test_pending_then_paid_then_definitive).
    assert (done["remission"]["to_pay"], done["remission"]["paid"], done["remission"]["unapplied"]) == (
        "12450.50",
        "12450.50",
        "0.00",
    )
    for name in ("2019-03", "2020-07"):
        for category in ("principal", "majorations", "astreintes", "frais"):
            assert period(done, name)[category]["outstanding"] == "0.00", (name, category)
    assert period(done, "2019-03")["majorations"] == {"due": "300.00", "paid": "150.00", "outstanding": "0.00"}
    assert period(done, "2019-03")["principal"] == {"due": "10000.00", "paid": "10000.00", "outstanding": "0.00"}
    assert done["totals"]["eligible"]["total"] == "0.00"
    assert period(done, "2025-01") == period(seeded, "2025-01")

    # Nothing went to the dead letters: a marker sent after everything is the first dead letter of
    # this affiliate (test_debt_plans.settle_marker).
    marker = f'{{"marker": "{uuid.uuid4()}"}}'.encode()
    await publish(infra.bootstrap, DEBITS_EVENTS.name, [(a, marker)])
    dead = await read_topic(
        infra.bootstrap, DEBITS_EVENTS.dlq, lambda r: any(x.value == marker for x in r), key=a, timeout=30
    )
    assert [x.value for x in dead] == [marker]


async def test_an_event_whose_validation_never_comes_goes_to_the_dead_letters_after_the_bound(
    stand: Stand, infra: Infra
) -> None:
    a = new_affiliate()
    request_id = uuid.uuid4()
    lost = settled(request_id, a, 1)
    await emit(infra, DEBITS_EVENTS.name, lost)
    await rows_reach(stand.database, request_id, 1)

    stand.clock.advance(MAX_WAIT - timedelta(seconds=1))  # still within the bound: it waits on
    later = completed(request_id, a)  # the plan's next event, younger
    await emit(infra, DEBITS_EVENTS.name, later)
    await rows_reach(stand.database, request_id, 2)
    swept = (await pending_health(stand))["sweeps"]

    async def three_more_sweeps() -> bool:
        return bool((await pending_health(stand))["sweeps"] >= swept + 3)

    await eventually(three_more_sweeps)  # the sweeper passed over them, within the bound: they wait on
    assert len(await waiting_rows(stand.database, request_id)) == 2
    assert (await pending_health(stand))["waiting"] >= 2

    # Past the bound for the first: it goes to the dead letters, and the plan's later event with it, in
    # order (none may be applied without the first).
    stand.clock.advance(timedelta(seconds=2))
    dead = await read_topic(infra.bootstrap, DEBITS_EVENTS.dlq, lambda r: len(r) >= 2, key=a, timeout=30)
    assert [json.loads(d.value or b"{}")["event_id"] for d in dead] == [str(lost.event_id), str(later.event_id)]
    for letter in dead:
        reason = header(letter, "x-dlq-reason") or ""
        assert f"plan {request_id} inconnu de debt" in reason and "3600 s" in reason, reason
        assert header(letter, "x-dlq-consumer") == "debt"
        assert header(letter, "x-dlq-original-topic") == DEBITS_EVENTS.name
        assert header(letter, "x-debt-waited-since") is not None
    await rows_reach(stand.database, request_id, 0)

    # Replayed as the runbook says (same values, same event ids): taken again, they wait again.
    await publish(infra.bootstrap, DEBITS_EVENTS.name, [(a, d.value or b"") for d in dead])
    again = await rows_reach(stand.database, request_id, 2)
    assert [r["event_id"] for r in again] == [lost.event_id, later.event_id]


async def test_a_waiting_event_its_validation_cannot_apply_is_dead_lettered_and_the_others_applied(
    stand: Stand, infra: Infra
) -> None:
    b = new_affiliate()
    await seed(stand.debt, infra, b)
    request_id = uuid.uuid4()
    failed, late = defaulted(request_id, b), completed(request_id, b)
    await emit(infra, DEBITS_EVENTS.name, settled(request_id, b, 1), failed, late)
    await rows_reach(stand.database, request_id, 3)

    await emit(infra, REQUESTS_EVENTS.name, validated(request_id, b))
    reinstated = await until(stand.debt, b, lambda body: state(body) == "REINSTATED")
    assert reinstated["remission"]["paid"] == "2450.50"  # the advance, applied before the default
    dead = await read_topic(infra.bootstrap, DEBITS_EVENTS.dlq, lambda r: len(r) >= 1, key=b, timeout=30)
    [letter] = dead
    assert letter.value is not None and str(late.event_id).encode() in letter.value
    assert "déjà en défaut" in (header(letter, "x-dlq-reason") or "")
    await rows_reach(stand.database, request_id, 0)
