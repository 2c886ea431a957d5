"""debt with its real database and broker: the ledger in, the consolidated debt out."""

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from contracts.debt import ArrangementClosed, ArrangementOpened, ChargeBooked, PaymentReceived
from contracts.envelope import Envelope
from contracts.topics import AUTH_AFFILIATES, DEBT_LEDGER, DEBT_POSITIONS
from services.debt.config import DebtSettings
from services.debt.main import create_app
from services.runtime.clock import FrozenClock
from services.runtime.tokens import Principal, TokenIssuer
from tests import messages
from tests.conftest import Infra
from tests.support import eventually, header, new_affiliate, publish, read_to_end, read_topic, running

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def charge(affiliate: str, period: str, category: str, amount: str, entry_id: str | None = None) -> ChargeBooked:
    return messages.charge(affiliate, period, category=category, amount=amount, entry_id=entry_id, at=NOW)


def payment(affiliate: str, period: str, category: str, amount: str) -> PaymentReceived:
    return messages.payment(affiliate, period, category=category, amount=amount, at=NOW)


class Debt:
    def __init__(self, client: httpx.AsyncClient, issuer: TokenIssuer) -> None:
        self.client = client
        self.issuer = issuer

    def token(self, *affiliates: str, now: datetime | None = None) -> str:
        principal = Principal(str(uuid.uuid4()), "test", frozenset(affiliates))
        return self.issuer.issue(principal, now or datetime.now(UTC))[0]

    async def get(self, affiliate: str, token: str | None = None) -> httpx.Response:
        token = token or self.token(affiliate)
        return await self.client.get(f"/v1/affiliates/{affiliate}/debt", headers={"authorization": f"Bearer {token}"})

    async def at_version(self, affiliate: str, version: int) -> dict[str, Any]:
        async def check() -> dict[str, Any] | None:
            body: dict[str, Any] = (await self.get(affiliate)).json()
            return body if body["version"] >= version else None

        result: dict[str, Any] = await eventually(check)
        return result


@pytest.fixture
async def debt(infra: Infra, database: str) -> AsyncIterator[Debt]:
    settings = DebtSettings(
        database_url=database,
        kafka_bootstrap_servers=infra.bootstrap,
        kafka_group_id=f"debt-{uuid.uuid4().hex[:8]}",
        token_public_key_file=infra.public_key,
    )
    issuer = TokenIssuer(
        infra.private_key.read_bytes(),
        issuer=settings.token_issuer,
        audience=settings.token_audience,
        ttl=timedelta(minutes=15),
    )
    async with running(create_app(settings, FrozenClock(NOW))) as client:
        yield Debt(client, issuer)


async def send(infra: Infra, *messages: Envelope | tuple[str, bytes]) -> None:
    items: list[tuple[str, Envelope | bytes]] = []
    for message in messages:
        if isinstance(message, tuple):
            items.append(message)
        else:
            items.append((message.payload.affiliate, message))  # type: ignore[attr-defined]
    await publish(infra.bootstrap, DEBT_LEDGER.name, items)


async def test_consolidated_debt_splits_eligible_periods_and_totals_outstanding(debt: Debt, infra: Infra) -> None:
    a = new_affiliate()
    await send(
        infra,
        charge(a, "2019-03", "principal", "10000.00"),
        charge(a, "2019-03", "majorations", "300.00"),
        charge(a, "2019-03", "astreintes", "500.00"),
        charge(a, "2019-03", "frais", "150.55"),
        payment(a, "2019-03", "principal", "4000.00"),
        payment(a, "2019-03", "majorations", "100.00"),
        charge(a, "2024-12", "principal", "2000.00"),
        charge(a, "2025-01", "principal", "2500.00"),
        charge(a, "2025-01", "majorations", "75.00"),
    )

    async def all_applied() -> dict[str, Any] | None:
        body: dict[str, Any] = (await debt.get(a)).json()
        return body if len(body["periods"]) == 3 and body["periods"][2]["majorations"]["due"] == "75.00" else None

    body = await eventually(all_applied)
    assert body["affiliate"] == a
    assert body["version"] >= 1
    assert [(p["period"], p["eligible"]) for p in body["periods"]] == [
        ("2019-03", True),
        ("2024-12", True),
        ("2025-01", False),
    ]
    march = body["periods"][0]
    assert march["principal"] == {"due": "10000.00", "paid": "4000.00", "outstanding": "6000.00"}
    assert march["majorations"] == {"due": "300.00", "paid": "100.00", "outstanding": "200.00"}
    assert march["frais"] == {"due": "150.55", "paid": "0.00", "outstanding": "150.55"}
    assert body["totals"]["eligible"] == {
        "principal": "8000.00",
        "majorations": "200.00",
        "astreintes": "500.00",
        "frais": "150.55",
        "total": "8850.55",
    }
    assert body["totals"]["non_eligible"] == {
        "principal": "2500.00",
        "majorations": "75.00",
        "astreintes": "0.00",
        "frais": "0.00",
        "total": "2575.00",
    }
    assert body["arrangement"] is None


async def test_the_same_entry_delivered_twice_is_applied_once(debt: Debt, infra: Infra) -> None:
    a = new_affiliate()
    entry = charge(a, "2020-06", "majorations", "99.99", entry_id=f"DUP-{a}")
    redelivered = charge(a, "2020-06", "majorations", "99.99", entry_id=f"DUP-{a}")  # same id, new event id
    await send(infra, entry)
    await debt.at_version(a, 1)
    await send(infra, entry, redelivered, charge(a, "2020-07", "frais", "1.00"))

    async def july_seen() -> dict[str, Any] | None:
        body: dict[str, Any] = (await debt.get(a)).json()
        return body if len(body["periods"]) == 2 else None

    body = await eventually(july_seen)
    assert body["periods"][0]["majorations"]["due"] == "99.99"


async def test_a_bad_entry_goes_to_the_dead_letter_topic_and_the_next_one_is_applied(debt: Debt, infra: Infra) -> None:
    a = new_affiliate()
    good = json.loads(charge(a, "2021-01", "principal", "100.00").model_dump_json())
    bad_period = json.loads(
        json.dumps(good).replace('"2021-01"', '"2024-13"').replace(good["payload"]["entry_id"], "BAD-1")
    )
    negative = json.loads(json.dumps(good).replace('"100.00"', '"-5.00"').replace(good["payload"]["entry_id"], "BAD-2"))
    short = json.loads(json.dumps(good).replace(a, "123456").replace(good["payload"]["entry_id"], "BAD-3"))
    for poison in (bad_period, negative, short):
        poison["event_id"] = str(uuid.uuid4())
    # Two valid entries in ONE record: must not pass for two records of a batch.
    smuggled = (
        charge(a, "2021-02", "frais", "1.00").model_dump_json()
        + ","
        + charge(a, "2021-03", "frais", "2.00").model_dump_json()
    ).encode()
    await send(
        infra,
        (a, b"{not json"),
        (a, json.dumps(bad_period).encode()),
        (a, json.dumps(negative).encode()),
        (a, json.dumps(short).encode()),
        (a, smuggled),
        (a, json.dumps(good).encode()),
    )
    body = await debt.at_version(a, 1)
    assert [p["period"] for p in body["periods"]] == ["2021-01"]  # neither half of the smuggled pair
    assert body["periods"][0]["principal"]["due"] == "100.00"

    dead = await read_topic(infra.bootstrap, DEBT_LEDGER.dlq, lambda r: len(r) >= 5, key=a)
    reasons = [header(r, "x-dlq-reason") or "" for r in dead]
    assert "Invalid JSON" in reasons[0]
    assert "payload.period" in reasons[1] and "0[1-9]|1[0-2]" in reasons[1]  # the field, the months allowed
    assert "amount" in reasons[2]
    assert "affiliate" in reasons[3]
    assert dead[4].value == smuggled
    assert {header(r, "x-dlq-original-topic") for r in dead} == {DEBT_LEDGER.name}
    assert dead[0].value == b"{not json"  # the original bytes, for replay


async def test_an_entry_the_database_refuses_is_dead_lettered_and_the_others_applied(debt: Debt, infra: Infra) -> None:
    a = new_affiliate()
    largest = "99999999999999.99"  # each fits NUMERIC(16,2); their sum does not
    first = charge(a, "2022-01", "frais", largest)
    overflow = charge(a, "2022-01", "frais", largest)
    await send(infra, first, overflow, charge(a, "2022-02", "frais", "7.00"))

    async def both_periods() -> dict[str, Any] | None:
        body: dict[str, Any] = (await debt.get(a)).json()
        return body if len(body["periods"]) == 2 else None

    body = await eventually(both_periods)
    assert body["periods"][0]["frais"]["due"] == largest
    assert body["periods"][1]["frais"]["due"] == "7.00"
    [dead] = await read_topic(infra.bootstrap, DEBT_LEDGER.dlq, lambda r: len(r) >= 1, key=a)
    assert json.loads(dead.value)["payload"]["entry_id"] == overflow.payload.entry_id
    assert "NumericValueOutOfRange" in (header(dead, "x-dlq-reason") or "")


async def test_an_entry_dated_in_the_future_is_dead_lettered_and_its_batch_applied(debt: Debt, infra: Infra) -> None:
    """Today is 2026-11-02 (the fixture's clock) and LEDGER_DAYS_AHEAD is 1: a payment received on
    2026-11-03 is applied, one on 2026-11-04 is a typo. Applied, it would have set the period's
    principal_paid_on two days ahead: paid "later than it was", a plan could be defaulted for it."""
    a = new_affiliate()
    tomorrow = messages.payment(
        a, "2026-10", category="principal", amount="100.00", at=NOW, received_on=date(2026, 11, 3)
    )
    typo = messages.payment(a, "2026-10", category="principal", amount="900.00", at=NOW, received_on=date(2026, 11, 4))
    await send(infra, charge(a, "2026-10", "principal", "1000.00"), tomorrow, typo)
    [dead] = await read_topic(infra.bootstrap, DEBT_LEDGER.dlq, lambda r: len(r) >= 1, key=a)
    assert json.loads(dead.value)["payload"]["entry_id"] == typo.payload.entry_id
    assert "datée du 2026-11-04 : dans le futur" in (header(dead, "x-dlq-reason") or "")

    async def applied() -> dict[str, Any] | None:
        body: dict[str, Any] = (await debt.get(a)).json()
        return body if body["periods"] and body["periods"][0]["principal"]["paid"] == "100.00" else None

    body = await eventually(applied)
    assert body["periods"][0]["principal"]["outstanding"] == "900.00"


async def test_each_batch_announces_one_whole_position_per_affiliate(debt: Debt, infra: Infra) -> None:
    a, b = new_affiliate(), new_affiliate()
    await send(
        infra,
        *[charge(a, f"2018-{m:02d}", "principal", "10.00") for m in range(1, 13)],
        charge(b, "2018-01", "frais", "5.00"),
    )
    await debt.at_version(b, 1)
    body = await eventually(lambda: _periods_at_least(debt, a, 12))
    records = await read_topic(
        infra.bootstrap,
        DEBT_POSITIONS.name,
        lambda rs: any(len(json.loads(r.value)["payload"]["periods"]) == 12 for r in rs),
        key=a,
    )
    events = [json.loads(r.value) for r in records]
    assert all(e["type"] == "debt.position_changed" for e in events)
    # Fewer events than entries: positions are announced per batch, not per entry.
    assert len(events) < 12
    assert [e["payload"]["version"] for e in events] == list(range(1, len(events) + 1))
    last = events[-1]["payload"]
    assert last["version"] == body["version"]
    assert sum(Decimal(p["principal"]["outstanding"]) for p in last["periods"]) == Decimal("120.00")


async def _periods_at_least(debt: Debt, affiliate: str, count: int) -> dict[str, Any] | None:
    body: dict[str, Any] = (await debt.get(affiliate)).json()
    return body if len(body["periods"]) >= count else None


async def test_arrangements_open_and_close(debt: Debt, infra: Infra) -> None:
    a = new_affiliate()
    opened = ArrangementOpened.build(
        {
            "entry_id": f"ARR-O-{a}",
            "affiliate": a,
            "arrangement_id": "ARR-1",
            "perception": {"code": "RAB-02", "name": "Perception Rabat Agdal"},
            "opened_on": date(2024, 3, 1),
        },
        producer="test",
        occurred_at=NOW,
    )
    await send(infra, opened)
    body = await debt.at_version(a, 1)
    assert body["arrangement"] == {
        "arrangement_id": "ARR-1",
        "perception": {"code": "RAB-02", "name": "Perception Rabat Agdal"},
        "opened_on": "2024-03-01",
    }
    closed = ArrangementClosed.build(
        {"entry_id": f"ARR-C-{a}", "affiliate": a, "arrangement_id": "ARR-1", "closed_on": date(2025, 3, 1)},
        producer="test",
        occurred_at=NOW,
    )
    await send(infra, closed)
    assert (await debt.at_version(a, 2))["arrangement"] is None


async def test_an_affiliate_the_token_does_not_hold_learns_nothing(debt: Debt, infra: Infra) -> None:
    mine, theirs = new_affiliate(), new_affiliate()
    await send(infra, charge(theirs, "2019-01", "principal", "1.00"))
    await debt.at_version(theirs, 1)
    token = debt.token(mine)
    existing = await debt.get(theirs, token)
    missing = await debt.get(new_affiliate(), token)
    assert existing.status_code == missing.status_code == 404
    assert existing.json()["code"] == "affilie-introuvable"
    # Word for word the same answer as for a number that does not exist (the path aside).
    strip = lambda r: {k: v for k, v in r.json().items() if k != "instance"}  # noqa: E731
    assert strip(existing) == strip(missing)


async def test_no_bad_or_expired_token_is_401(debt: Debt) -> None:
    a = new_affiliate()
    none = await debt.client.get(f"/v1/affiliates/{a}/debt")
    forged = await debt.get(a, debt.token(a)[:-4] + "AAAA")
    expired = await debt.get(a, debt.token(a, now=datetime.now(UTC) - timedelta(hours=1)))
    assert [r.status_code for r in (none, forged, expired)] == [401, 401, 401]
    assert [r.json()["code"] for r in (none, forged, expired)] == [
        "non-authentifie",
        "jeton-invalide",
        "jeton-invalide",
    ]


async def test_a_six_digit_affiliate_number_is_a_clear_422(debt: Debt) -> None:
    response = await debt.get("123456", debt.token("123456"))
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == "path.numero"


@pytest.mark.parametrize("typed", ["١٠٠٠٠٠١", "۱۰۰۰۰۰۱", "１０００００１"])  # Arabic-Indic, Persian, full-width
async def test_an_affiliate_number_in_digits_of_another_script_is_a_clear_422(debt: Debt, typed: str) -> None:
    """Before: `^\\d{7}$` took these for seven digits (and a token holding them would have matched)."""
    response = await debt.get(typed, debt.token(typed))
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "path.numero"


async def test_an_affiliate_registered_without_any_ledger_entry_owes_nothing_and_is_told_so(
    debt: Debt, infra: Infra
) -> None:
    """auth registers two affiliates: one the ledger never mentioned gets an empty position (version
    1), which requests reads as "nothing to remit"; one the ledger knows is not announced again."""
    nothing, known = new_affiliate(), new_affiliate()
    await send(infra, charge(known, "2018-01", "majorations", "30.00"))
    await debt.at_version(known, 1)
    await publish(infra.bootstrap, AUTH_AFFILIATES.name, [(a, messages.profile(a)) for a in (nothing, known, nothing)])

    body = await debt.at_version(nothing, 1)
    assert (body["version"], body["periods"]) == (1, [])
    (announced,) = [
        json.loads(r.value)["payload"]
        for r in await read_topic(infra.bootstrap, DEBT_POSITIONS.name, bool, key=nothing)
    ]
    assert (announced["version"], announced["periods"], announced["arrangement"]) == (1, [], None)
    # The ledger reaches it later: its next version, whole.
    await send(infra, charge(nothing, "2018-02", "frais", "5.00"))
    assert (await debt.at_version(nothing, 2))["version"] == 2
    assert len(await read_to_end(infra.bootstrap, DEBT_POSITIONS.name, key=known)) == 1  # never announced again
