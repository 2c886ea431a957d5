"""Each perception office hears of its own affiliates only, on its own topic, to the end (issue 16).

requests with its real database and broker. A guarantee request goes to
``requests.guarantees.<office>.v1`` (the office auth names for the affiliate, from the registry
``contracts/perceptions.csv``) and to no other office's topic; an office without a topic makes the
installment plan wait (409 ``perception-inconnue``). When the plan ends, the office holding the
guarantees is told on the same topic: release them (COMPLETED) or enforce them for the validated
plan's remise, owed again (DEFAULTED). A full payment involves no office.
"""

# ruff: noqa: F401, F811 (``svc``, the requests service, is test_requests_lifecycle's fixture: the tests name it)

import json
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest

from contracts.debits import PlanCompleted, PlanDefaulted
from contracts.debt import Perception
from contracts.requests import GuaranteeEnforced, GuaranteeReleased
from contracts.topics import (
    AUTH_AFFILIATES,
    DEBITS_EVENTS,
    GUARANTEE_REQUESTS,
    PERCEPTION_GUARANTEES,
    SIMULATION_QUOTES,
    guarantee_requests,
)
from tests import messages
from tests.integration.test_guarantee_answers import awaiting, deposit, draft_without_office, state_of
from tests.integration.test_requests_lifecycle import (  # the requests service and its fixture
    Requests,
    debit_changed,
    quote,
    svc,
)
from tests.support import eventually, new_affiliate, publish, read_to_end, read_topic

pytestmark = pytest.mark.integration

ANFA = guarantee_requests("CAS-01")
AGDAL = Perception(code="RAB-02", name="Perception Rabat Agdal")


async def nowhere_else(svc: Requests, affiliate: str, office_topic: str) -> None:
    """No record of ``affiliate`` on any office's topic but ``office_topic``."""
    for topic in GUARANTEE_REQUESTS:
        if topic.name != office_topic:
            assert await read_to_end(svc.infra.bootstrap, topic.name, key=affiliate) == [], topic.name


async def of_office(svc: Requests, affiliate: str, office: Perception) -> str:
    """An installment draft of ``affiliate``, whose office auth names ``office``."""
    await svc.send(AUTH_AFFILIATES.name, affiliate, messages.profile(affiliate, perception=office))
    request_id = await draft_without_office(svc, affiliate)

    async def office_known() -> bool:
        conn = await asyncpg.connect(svc.database)
        try:
            found = await conn.fetchval("SELECT perception_code FROM affiliate_profile WHERE affiliate = $1", affiliate)
            return bool(found == office.code)
        finally:
            await conn.close()

    await eventually(office_known)
    return request_id


async def test_a_request_of_an_office_lands_on_its_topic_and_on_no_other(svc: Requests) -> None:
    anfa, agdal = new_affiliate(), new_affiliate()
    anfa_id = await awaiting(svc, anfa)  # office CAS-01
    agdal_id = await of_office(svc, agdal, AGDAL)
    issued = quote(agdal, modality="INSTALLMENTS")
    await svc.send(SIMULATION_QUOTES.name, agdal, issued)
    assert (await svc.validate(agdal, agdal_id, issued.payload.quote_id)).json()["state"] == "AWAITING_GUARANTEE"

    records = await read_topic(svc.infra.bootstrap, ANFA.name, bool, key=anfa)
    [required] = [json.loads(r.value) for r in records]
    assert (required["type"], required["payload"]["request_id"]) == ("requests.guarantee_required", anfa_id)
    assert required["payload"]["perception"] == {"code": "CAS-01", "name": "Perception Casablanca Anfa"}
    await nowhere_else(svc, anfa, ANFA.name)
    agdal_topic = guarantee_requests("RAB-02").name
    records = await read_topic(svc.infra.bootstrap, agdal_topic, bool, key=agdal)
    assert json.loads(records[-1].value)["payload"]["perception"]["code"] == "RAB-02"
    await nowhere_else(svc, agdal, agdal_topic)

    # what becomes of it goes the same way: the withdrawal to CAS-01 alone
    withdrawn = await svc.act(anfa, "POST", f"/v1/requests/{anfa_id}/withdrawal")
    assert withdrawn.json()["state"] == "CANCELLED", withdrawn.text
    records = await read_topic(
        svc.infra.bootstrap, ANFA.name, lambda r: any(b"guarantee_withdrawn" in x.value for x in r), key=anfa
    )
    assert [json.loads(r.value)["type"] for r in records] == [
        "requests.guarantee_required",
        "requests.guarantee_withdrawn",
    ]
    await nowhere_else(svc, anfa, ANFA.name)


async def test_an_office_outside_the_registry_is_never_asked(svc: Requests) -> None:
    affiliate = new_affiliate()
    outside = Perception(code="ZZZ", name="Perception hors registre")
    request_id = await of_office(svc, affiliate, outside)
    issued = quote(affiliate, modality="INSTALLMENTS")
    await svc.send(SIMULATION_QUOTES.name, affiliate, issued)
    refused = await svc.validate(affiliate, request_id, issued.payload.quote_id)
    assert (refused.status_code, refused.json()["code"], refused.json()["perception"]) == (
        409,
        "perception-inconnue",
        "ZZZ",
    )
    assert "La perception ZZZ (Perception hors registre)" in refused.json()["title"]
    assert (await state_of(svc, affiliate, request_id))["state"] == "DRAFT"
    await nowhere_else(svc, affiliate, "")
    # a full payment asks no office: the affiliate may still pay in full
    full = await svc.act(
        affiliate,
        "PUT",
        f"/v1/requests/{request_id}/modality",
        {"modality": "FULL", "guarantee_obligation_accepted": False},
    )
    assert full.status_code == 200, full.text
    issued = quote(affiliate)
    await svc.send(SIMULATION_QUOTES.name, affiliate, issued)
    assert (await svc.validate(affiliate, request_id, issued.payload.quote_id)).json()["state"] == "VALIDATED"


async def validated_by_deposit(svc: Requests, affiliate: str) -> str:
    request_id = await awaiting(svc, affiliate)
    now = svc.clock.now()
    await publish(
        svc.infra.bootstrap, PERCEPTION_GUARANTEES.name, [(affiliate, deposit(request_id, affiliate, now, ref="GAR-7"))]
    )

    async def validated() -> dict[str, Any] | None:
        found = await state_of(svc, affiliate, request_id)
        return found if found["state"] == "VALIDATED" else None

    await eventually(validated)
    return request_id


async def test_completed_releases_and_defaulted_enforces_the_guarantees_with_the_remise_owed_again(
    svc: Requests,
) -> None:
    paid, broken, in_full = new_affiliate(), new_affiliate(), new_affiliate()
    ids = {paid: await validated_by_deposit(svc, paid), broken: await validated_by_deposit(svc, broken)}
    ids[in_full] = await svc.draft_ready(in_full)  # FULL: no office involved
    issued = quote(in_full)
    await svc.send(SIMULATION_QUOTES.name, in_full, issued)
    assert (await svc.validate(in_full, ids[in_full], issued.payload.quote_id)).json()["state"] == "VALIDATED"

    today = datetime.now(UTC).date()
    for affiliate in (paid, in_full):
        completed = PlanCompleted.build(
            {"request_id": ids[affiliate], "affiliate": affiliate, "total_paid": "10150.00", "completed_on": today},
            producer="debits",
            occurred_at=datetime.now(UTC),
        )
        await svc.send(DEBITS_EVENTS.name, affiliate, debit_changed(affiliate, ids[affiliate], 1, "SETTLED"), completed)
    defaulted = PlanDefaulted.build(
        {
            "request_id": ids[broken],
            "affiliate": broken,
            "reason": "prélèvement 2 rejeté (AC04)",
            "paid_so_far": "4150.00",
            "cancelled_sequences": [3],
            "defaulted_on": today,
        },
        producer="debits",
        occurred_at=datetime.now(UTC),
    )
    await svc.send(DEBITS_EVENTS.name, broken, debit_changed(broken, ids[broken], 1, "SETTLED"), defaulted)

    async def in_state(affiliate: str, wanted: str) -> dict[str, Any] | None:
        found = await state_of(svc, affiliate, ids[affiliate])
        return found if found["state"] == wanted else None

    await eventually(lambda: in_state(paid, "COMPLETED"))
    await eventually(lambda: in_state(broken, "DEFAULTED"))
    await eventually(lambda: in_state(in_full, "COMPLETED"))
    adapter = ANFA.adapter()

    records = await read_topic(
        svc.infra.bootstrap, ANFA.name, lambda r: any(b"guarantee_released" in x.value for x in r), key=paid
    )
    [released] = [m for m in (adapter.validate_json(r.value) for r in records) if isinstance(m, GuaranteeReleased)]
    assert (str(released.payload.request_id), released.payload.perception.code) == (ids[paid], "CAS-01")
    assert (released.payload.guarantee.reference, released.payload.guarantee.perception) == ("GAR-7", "CAS-01")
    assert released.payload.reason == "tous les prélèvements sont payés : la remise est définitive"

    records = await read_topic(
        svc.infra.bootstrap, ANFA.name, lambda r: any(b"guarantee_enforced" in x.value for x in r), key=broken
    )
    [enforced] = [m for m in (adapter.validate_json(r.value) for r in records) if isinstance(m, GuaranteeEnforced)]
    assert (str(enforced.payload.request_id), enforced.payload.perception.code) == (ids[broken], "CAS-01")
    assert enforced.payload.guarantee.reference == "GAR-7"
    # the remise of the validated plan (quote(..., "INSTALLMENTS")), owed again per category and in total
    assert enforced.payload.reinstated.model_dump(mode="json") == {
        "principal": "0.00",
        "majorations": "150.00",
        "frais": "0.00",
        "astreintes": "0.00",
        "total": "150.00",
    }
    assert enforced.payload.reason == "déchéance : prélèvement 2 rejeté (AC04)"
    # nothing released for the defaulted plan nor enforced for the paid one; no other office told
    of_paid = await read_to_end(svc.infra.bootstrap, ANFA.name, key=paid)
    of_broken = await read_to_end(svc.infra.bootstrap, ANFA.name, key=broken)
    assert not any(b"guarantee_enforced" in r.value for r in of_paid)
    assert not any(b"guarantee_released" in r.value for r in of_broken)
    for affiliate in (paid, broken):
        await nowhere_else(svc, affiliate, ANFA.name)
    # a full payment: no office ever heard of it
    await nowhere_else(svc, in_full, "")
