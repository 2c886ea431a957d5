"""simulation with its real database and broker: positions in, quotes out (HTTP and simulation.quotes.v1)."""

import json
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from contracts.debt import PositionChanged
from contracts.simulation import QUOTE_SEAL_KIND, Quote, QuoteIssued
from contracts.topics import DEBT_POSITIONS, SIMULATION_QUOTES
from services.runtime.clock import FrozenClock
from services.runtime.seals import SealVerifier
from services.runtime.tokens import Principal, TokenIssuer, generate_keypair
from services.simulation.adapters.repository import SimulationRepository
from services.simulation.config import SimulationSettings
from services.simulation.main import create_app
from tests.conftest import Infra
from tests.support import eventually, header, new_affiliate, publish, read_topic, running

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # business date 2026-11-02: first debit due 2026-12-10
PROGRAMME_FICTIF = Path(__file__).parents[1] / "data" / "programme-fictif.json"
PROGRAMME_LACUNES = Path(__file__).parents[1] / "data" / "programme-lacunes.json"  # no tier for 24


def line(outstanding: str) -> dict[str, str]:
    return {"due": outstanding, "paid": "0.00", "outstanding": outstanding}


def position(affiliate: str, version: int, periods: dict[str, tuple[str, str, str, str]]) -> PositionChanged:
    """``periods``: period -> outstanding (principal, majorations, astreintes, frais)."""
    return PositionChanged.build(
        {
            "affiliate": affiliate,
            "version": version,
            "periods": [
                {
                    "period": period,
                    "principal": line(p),
                    "majorations": line(m),
                    "astreintes": line(a),
                    "frais": line(f),
                }
                for period, (p, m, a, f) in periods.items()
            ],
            "arrangement": None,
        },
        producer="debt",
        occurred_at=NOW,
    )


class Simulation:
    def __init__(self, client: httpx.AsyncClient, issuer: TokenIssuer, database: str) -> None:
        self.client = client
        self.issuer = issuer
        self.database = database

    def token(self, *affiliates: str) -> str:
        principal = Principal(str(uuid.uuid4()), "test", frozenset(affiliates))
        return self.issuer.issue(principal, datetime.now(UTC))[0]

    async def simulate(self, affiliate: str, token: str | None = None, **body: Any) -> httpx.Response:
        token = token or self.token(affiliate)
        return await self.client.post(
            "/v1/simulations",
            json={"affiliate": affiliate, **body},
            headers={"authorization": f"Bearer {token}"},
        )

    async def options(self, affiliate: str, token: str | None = None, **body: Any) -> httpx.Response:
        token = token or self.token(affiliate)
        return await self.client.post(
            "/v1/simulations/options",
            json={"affiliate": affiliate, **body},
            headers={"authorization": f"Bearer {token}"},
        )

    async def count(self, query: str, *args: Any) -> int:
        conn = await asyncpg.connect(self.database)
        try:
            return int(await conn.fetchval(query, *args))
        finally:
            await conn.close()

    async def when_known(self, affiliate: str, **body: Any) -> httpx.Response:
        """Positions arrive by messages: simulate once the projection has one."""

        async def check() -> httpx.Response | None:
            response = await self.simulate(affiliate, **body)
            return None if response.status_code == 404 else response

        result: httpx.Response = await eventually(check)
        return result

    async def applied(self, event_id: uuid.UUID) -> bool:
        conn = await asyncpg.connect(self.database)
        try:
            return bool(await conn.fetchval("SELECT count(*) FROM inbox WHERE event_id = $1", event_id))
        finally:
            await conn.close()


def settings_for(infra: Infra, database: str, **extra: Any) -> SimulationSettings:
    return SimulationSettings(
        database_url=database,
        kafka_bootstrap_servers=infra.bootstrap,
        kafka_group_id=f"simulation-{uuid.uuid4().hex[:8]}",
        token_public_key_file=infra.public_key,
        **extra,
    )


@asynccontextmanager
async def started(infra: Infra, settings: SimulationSettings, database: str) -> AsyncIterator[Simulation]:
    issuer = TokenIssuer(
        infra.private_key.read_bytes(),
        issuer=settings.token_issuer,
        audience=settings.token_audience,
        ttl=timedelta(minutes=15),
    )
    async with running(create_app(settings, FrozenClock(NOW))) as client:
        yield Simulation(client, issuer, database)


@pytest.fixture
async def simulation(infra: Infra, database: str) -> AsyncIterator[Simulation]:
    async with started(infra, settings_for(infra, database), database) as running_simulation:
        yield running_simulation


async def send(infra: Infra, *messages: PositionChanged | tuple[str, bytes]) -> None:
    items: list[tuple[str, Any]] = [m if isinstance(m, tuple) else (m.payload.affiliate, m) for m in messages]
    await publish(infra.bootstrap, DEBT_POSITIONS.name, items)


DEBT = {
    # P 40000 + M 8000.25 + A 3000 + F 1000 eligible; 2025-01 is after the cut-off
    "2022-01": ("40000.00", "8000.25", "3000.00", "1000.00"),
    "2025-01": ("9999.00", "999.00", "0.00", "0.00"),
}


async def test_a_position_gives_an_exact_quote_announced_on_simulation_quotes(
    simulation: Simulation, infra: Infra
) -> None:
    a = new_affiliate()
    await send(infra, position(a, 1, DEBT))
    response = await simulation.when_known(a, modality="INSTALLMENTS", advance="5000.00", installments=12)
    assert response.status_code == 201, response.text
    quote = response.json()
    assert response.headers["location"] == f"/v1/simulations/{quote['quote_id']}"
    assert (quote["affiliate"], quote["debt_version"], quote["programme"]) == (a, 1, "DEC-05-2023")
    assert datetime.fromisoformat(quote["issued_at"]) == NOW
    assert datetime.fromisoformat(quote["expires_at"]) == NOW + timedelta(minutes=30)
    assert quote["eligible_periods"] == ["2022-01"]
    # rM = 8000.25 x 0.50 = 4000.125 -> 4000.13 ; rF = 500.00 ; rA = 2400.00 ; to_pay = 52000.25 - 6900.13
    assert quote["remise"] == {
        "principal": "0.00",
        "majorations": "4000.13",
        "frais": "500.00",
        "astreintes": "2400.00",
        "total": "6900.13",
    }
    assert quote["to_pay"] == "45100.12"
    assert quote["validation_date"] == "2026-11-02"
    # rest 40100.12 / 12 -> 3341.67 x 11 + 3341.75
    assert quote["schedule"][0] == {
        "sequence": 1,
        "kind": "ADVANCE",
        "due_date": "2026-12-10",
        "collection_date": "2026-12-10",
        "amount": "5000.00",
    }
    assert quote["schedule"][1]["due_date"] == "2027-01-10"
    assert quote["schedule"][1]["collection_date"] == "2027-01-12"  # Sunday, then a holiday
    assert [d["amount"] for d in quote["schedule"][1:]] == ["3341.67"] * 11 + ["3341.75"]

    def has_quote(records: list[Any]) -> bool:
        return any(json.loads(r.value)["payload"]["quote_id"] == quote["quote_id"] for r in records)

    records = await read_topic(infra.bootstrap, SIMULATION_QUOTES.name, has_quote, key=a)
    issued = QuoteIssued.model_validate_json(records[-1].value)
    assert str(issued.payload.quote_id) == quote["quote_id"]
    assert issued.payload.model_dump(mode="json") == quote

    again = await simulation.client.get(
        f"/v1/simulations/{quote['quote_id']}", headers={"authorization": f"Bearer {simulation.token(a)}"}
    )
    assert again.status_code == 200
    assert again.json() == quote
    someone_else = await simulation.client.get(
        f"/v1/simulations/{quote['quote_id']}", headers={"authorization": f"Bearer {simulation.token('1000000')}"}
    )
    assert (someone_else.status_code, someone_else.json()["code"]) == (404, "devis-introuvable")


async def test_full_payment_quote(simulation: Simulation, infra: Infra) -> None:
    a = new_affiliate()
    await send(infra, position(a, 1, DEBT))
    response = await simulation.when_known(a, modality="FULL")
    assert response.status_code == 201, response.text
    quote = response.json()
    # rM = 8000.25 x 0.60 = 4800.15 ; rF = 600.00 ; rA = 2700.00 -> 8100.15 ; to_pay = 52000.25 - 8100.15
    assert (quote["remise"]["total"], quote["to_pay"]) == ("8100.15", "43900.10")
    assert [(d["kind"], d["amount"]) for d in quote["schedule"]] == [("FULL", "43900.10")]


async def test_an_older_version_after_a_newer_one_is_ignored(simulation: Simulation, infra: Infra) -> None:
    a = new_affiliate()
    newer = position(a, 2, {"2022-01": ("1000.00", "100.00", "0.00", "0.00")})
    older = position(a, 1, {"2022-01": ("9000.00", "900.00", "0.00", "0.00")})
    await send(infra, newer, older)
    await eventually(lambda: simulation.applied(older.event_id))
    response = await simulation.simulate(a, modality="FULL")
    assert response.status_code == 201, response.text
    # version 2: 1000 + 100 - 60 = 1040.00
    assert (response.json()["debt_version"], response.json()["to_pay"]) == (2, "1040.00")

    await send(infra, position(a, 3, {"2022-01": ("2000.00", "100.00", "0.00", "0.00")}))

    async def at_version_3() -> dict[str, Any] | None:
        body: dict[str, Any] = (await simulation.simulate(a, modality="FULL")).json()
        return body if body["debt_version"] == 3 else None

    assert (await eventually(at_version_3))["to_pay"] == "2040.00"


async def test_a_malformed_position_is_dead_lettered_and_the_next_applied(simulation: Simulation, infra: Infra) -> None:
    a = new_affiliate()
    poison = json.dumps({"type": "debt.position_changed", "payload": {"affiliate": a}}).encode()
    await send(infra, (a, poison), position(a, 1, DEBT))
    dead = await read_topic(infra.bootstrap, DEBT_POSITIONS.dlq, lambda r: any(d.value == poison for d in r), key=a)
    assert header(dead[-1], "x-dlq-original-topic") == DEBT_POSITIONS.name
    assert (await simulation.when_known(a, modality="FULL")).status_code == 201


@pytest.mark.parametrize(
    ("body", "code", "check"),
    [
        (
            {"modality": "INSTALLMENTS", "installments": 61},
            "echeances-hors-limites",
            lambda p: (
                p["max_installments"] == 60
                and p["allowed"] == [{"min": 1, "max": 60}]
                and "permet de 1 à 60 échéances ; 61 n'en fait pas partie" in p["title"]
            ),
        ),
        (
            {"modality": "INSTALLMENTS", "installments": 24},
            "echeance-sous-minimum",
            # 1..24: to_pay = 45100.12 -> / 24 = 1879.17 ; floor(45100.12 / 3000) = 15
            # 25+: rM 3200.10 + rF 400 + rA 2100 -> to_pay 46300.15 -> / 25 = 1852.00: none
            lambda p: (
                p["max_installments_allowed"] == 15
                and p["allowed"] == [{"min": 1, "max": 15}]
                and "au plus 15" in p["title"]
            ),
        ),
        (
            {"modality": "INSTALLMENTS", "installments": 2, "advance": "45100.12"},
            "avance-hors-limites",
            lambda p: p["advance_max"] == "45100.11" and "45\u00a0100,11\u00a0MAD" in p["title"],
        ),
        (
            {"modality": "FULL", "installments": 3},
            "parametres-incoherents",
            lambda p: p["installments"] == 3,
        ),
    ],
    ids=["too-many", "under-minimum", "advance-too-large", "full-with-installments"],
)
async def test_refusals_are_422_with_a_stable_code_and_the_allowed_range(
    simulation: Simulation, infra: Infra, body: dict[str, Any], code: str, check: Callable[[dict[str, Any]], bool]
) -> None:
    a = new_affiliate()
    await send(infra, position(a, 1, DEBT))
    await simulation.when_known(a, modality="FULL")
    response = await simulation.simulate(a, **body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == code
    assert check(problem), problem


async def test_nothing_to_remit_is_a_422(simulation: Simulation, infra: Infra) -> None:
    a = new_affiliate()
    await send(infra, position(a, 1, {"2022-01": ("500.00", "0.00", "0.00", "0.00")}))
    response = await simulation.when_known(a, modality="FULL")
    assert (response.status_code, response.json()["code"]) == (422, "rien-a-remettre")


async def test_unknown_position_and_affiliates_not_held(simulation: Simulation) -> None:
    a = new_affiliate()
    unknown = await simulation.simulate(a, modality="FULL")
    assert (unknown.status_code, unknown.json()) == (
        404,
        unknown.json() | {"code": "creance-introuvable", "title": "Aucune créance connue pour cet affilié."},
    )
    not_mine = await simulation.simulate(a, token=simulation.token("1000000"), modality="FULL")
    assert (not_mine.status_code, not_mine.json()["code"]) == (404, "affilie-introuvable")
    anonymous = await simulation.client.post("/v1/simulations", json={"affiliate": a, "modality": "FULL"})
    assert anonymous.status_code == 401
    bad = await simulation.simulate(a, modality="FULL", advance=10.5)
    assert (bad.status_code, bad.json()["code"]) == (422, "requete-invalide")


async def test_the_programme_in_force_is_public(simulation: Simulation) -> None:
    response = await simulation.client.get("/v1/programme")
    assert response.status_code == 200
    body = response.json()
    assert (body["code"], body["max_installments"], body["minimum_installment"], body["debit_day"]) == (
        "DEC-05-2023",
        60,
        "3000.00",
        10,
    )
    assert body["tiers"][0]["rates"] == {"majorations": "0.60", "frais": "0.60", "astreintes": "0.90"}
    assert body["installments_allowed"] == [{"min": 1, "max": 60}]  # the portal offers these when it must


async def test_another_programme_file_changes_the_rates(infra: Infra, database: str) -> None:
    settings = settings_for(infra, database, programme_file=PROGRAMME_FICTIF)
    async with started(infra, settings, database) as simulation:
        a = new_affiliate()
        # 2025-03 is eligible under FICTIF-TEST-2099 (cut-off 2025-06), not under DEC-05-2023
        await send(infra, position(a, 1, {"2025-03": ("100000.00", "10000.00", "4000.00", "2000.00")}))
        response = await simulation.when_known(a, modality="INSTALLMENTS", installments=36)
        assert response.status_code == 201, response.text
        quote = response.json()
        # rM = 3000 ; rF = 500 ; rA = 2400 -> 5900 ; to_pay 110100.00 ; 35 x 3058.33 + 3058.45 ; debit day 5
        assert (quote["programme"], quote["tier"], quote["to_pay"]) == (
            "FICTIF-TEST-2099",
            "ACOMPTES_13_36",
            "110100.00",
        )
        assert quote["rates"] == {"majorations": "0.30", "frais": "0.25", "astreintes": "0.60"}
        assert quote["schedule"][0]["due_date"] == "2026-12-05"
        assert datetime.fromisoformat(quote["expires_at"]) == NOW + timedelta(minutes=10)


async def test_a_position_projected_under_another_cut_off_is_quoted_as_of_one_instant(
    infra: Infra, database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A position stored under DEC-05-2023's cut-off, quoted under FICTIF-TEST-2099's after a
    restart: its periods are read again. Before the fix a new version landing between the two reads
    was quoted under the old version's number."""
    a = new_affiliate()
    async with started(infra, settings_for(infra, database), database) as simulation:
        await send(infra, position(a, 1, {"2025-03": ("100000.00", "10000.00", "4000.00", "2000.00")}))
        await simulation.when_known(a, modality="FULL")
    newer = position(a, 2, {"2025-03": ("200000.00", "10000.00", "4000.00", "2000.00")})
    read_periods = SimulationRepository.outstanding_of

    async def after_a_new_version(self: SimulationRepository, affiliate: str) -> Any:
        if affiliate == a and not await simulation.applied(newer.event_id):
            await send(infra, newer)
            await eventually(lambda: simulation.applied(newer.event_id))
        return await read_periods(self, affiliate)

    monkeypatch.setattr(SimulationRepository, "outstanding_of", after_a_new_version)
    async with started(infra, settings_for(infra, database, programme_file=PROGRAMME_FICTIF), database) as simulation:
        response = await simulation.simulate(a, modality="INSTALLMENTS", installments=36)
        assert response.status_code == 201, response.text
        assert await simulation.applied(newer.event_id)
        quote = response.json()
        assert (quote["debt_version"], quote["to_pay"]) == (1, "110100.00")  # as test_another_programme_file_...
        again = (await simulation.simulate(a, modality="INSTALLMENTS", installments=36)).json()
        assert again["debt_version"] == 2 and Decimal(again["to_pay"]) > Decimal("200000.00")


async def test_a_programme_with_a_gap_refuses_the_count_in_it_and_names_the_allowed_ranges(
    infra: Infra, database: str
) -> None:
    settings = settings_for(infra, database, programme_file=PROGRAMME_LACUNES)
    async with started(infra, settings, database) as simulation:
        a = new_affiliate()
        await send(infra, position(a, 1, {"2025-03": ("100000.00", "10000.00", "0.00", "0.00")}))
        # 1..23: rM 5000 -> to_pay 105000.00 ; 25+: rM 4000 -> 106000.00 (/ 60 = 1766.66 >= 1000)
        below = await simulation.when_known(a, modality="INSTALLMENTS", installments=23)
        assert (below.status_code, below.json()["tier"], below.json()["to_pay"]) == (201, "ACOMPTES_1_23", "105000.00")
        above = await simulation.simulate(a, modality="INSTALLMENTS", installments=25)
        assert (above.status_code, above.json()["tier"], above.json()["to_pay"]) == (
            201,
            "ACOMPTES_25_PLUS",
            "106000.00",
        )

        gap = await simulation.simulate(a, modality="INSTALLMENTS", installments=24)
        assert gap.status_code == 422, gap.text
        assert gap.headers["content-type"] == "application/problem+json"
        problem = gap.json()
        assert (problem["code"], problem["title"]) == (
            "echeances-hors-limites",
            "Le programme permet de 1 à 23 ou de 25 à 60 échéances ; 24 n'en fait pas partie.",
        )
        assert (problem["installments"], problem["min_installments"], problem["max_installments"]) == (24, 1, 60)
        assert problem["allowed"] == [{"min": 1, "max": 23}, {"min": 25, "max": 60}]

        options = await simulation.options(a)
        assert options.status_code == 200, options.text
        assert options.json()["installments_allowed"] == [{"min": 1, "max": 23}, {"min": 25, "max": 60}]


async def test_a_gap_the_minimum_installment_leaves_between_the_tiers_is_named(
    simulation: Simulation, infra: Infra
) -> None:
    a = new_affiliate()
    # M 130000 only. 1..24: to_pay 65000 -> 21 x 3095.23 ok, / 22 = 2954.54 ; 25+: to_pay 78000 -> 25, 26 ok
    await send(infra, position(a, 1, {"2022-01": ("0.00", "130000.00", "0.00", "0.00")}))
    await simulation.when_known(a, modality="FULL")
    response = await simulation.simulate(a, modality="INSTALLMENTS", installments=24)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert (problem["code"], problem["max_installments_allowed"]) == ("echeance-sous-minimum", 26)
    assert problem["allowed"] == [{"min": 1, "max": 21}, {"min": 25, "max": 26}]
    assert problem["title"].endswith("Avec cette avance, choisissez de 1 à 21 ou de 25 à 26 échéances.")
    options = await simulation.options(a)
    assert options.json()["installments_allowed"] == [{"min": 1, "max": 21}, {"min": 25, "max": 26}]


async def test_options_compare_the_tiers_and_suggest_a_plan_without_issuing_a_quote(
    simulation: Simulation, infra: Infra
) -> None:
    a = new_affiliate()
    await send(infra, position(a, 1, DEBT))

    async def known() -> httpx.Response | None:
        response = await simulation.options(a, monthly_budget="3100.00")
        return None if response.status_code == 404 else response

    response = await eventually(known)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["affiliate"], body["debt_version"], body["suggestion_refusal"]) == (a, 1, None)
    assert body["installments_allowed"] == [{"min": 1, "max": 15}]  # 25+ allows none for this debt
    assert body["options"] == [
        {
            # rM 8000.25 x 0.60 = 4800.15 ; rF 600.00 ; rA 2700.00 -> 8100.15 ; 52000.25 - 8100.15
            "tier": "FULL",
            "modality": "FULL",
            "rates": {"majorations": "0.60", "frais": "0.60", "astreintes": "0.90"},
            "remise": {
                "principal": "0.00",
                "majorations": "4800.15",
                "frais": "600.00",
                "astreintes": "2700.00",
                "total": "8100.15",
            },
            "to_pay": "43900.10",
            "available": True,
            "min_installments": None,
            "max_installments": None,
            "installment_at_min": None,
            "installment_at_max": None,
        },
        {
            # to_pay 45100.12 ; / 15 = 3006.67 >= 3000 ; / 16 = 2818.75 < 3000
            "tier": "INSTALLMENTS_1_24",
            "modality": "INSTALLMENTS",
            "rates": {"majorations": "0.50", "frais": "0.50", "astreintes": "0.80"},
            "remise": {
                "principal": "0.00",
                "majorations": "4000.13",
                "frais": "500.00",
                "astreintes": "2400.00",
                "total": "6900.13",
            },
            "to_pay": "45100.12",
            "available": True,
            "min_installments": 1,
            "max_installments": 15,
            "installment_at_min": "45100.12",
            "installment_at_max": "3006.67",
        },
        {
            # to_pay 46300.15 ; / 25 = 1852.00 < 3000: no count allowed
            "tier": "INSTALLMENTS_25_PLUS",
            "modality": "INSTALLMENTS",
            "rates": {"majorations": "0.40", "frais": "0.40", "astreintes": "0.70"},
            "remise": {
                "principal": "0.00",
                "majorations": "3200.10",
                "frais": "400.00",
                "astreintes": "2100.00",
                "total": "5700.10",
            },
            "to_pay": "46300.15",
            "available": False,
            "min_installments": None,
            "max_installments": None,
            "installment_at_min": None,
            "installment_at_max": None,
        },
    ]
    # 15 x: 3006.67 x 14 = 42093.38 ; last = 45100.12 - 42093.38 = 3006.74 <= 3100 (14 would end on 3221.53)
    assert body["suggestion"] == {
        "modality": "INSTALLMENTS",
        "tier": "INSTALLMENTS_1_24",
        "installments": 15,
        "to_pay": "45100.12",
        "remise": {
            "principal": "0.00",
            "majorations": "4000.13",
            "frais": "500.00",
            "astreintes": "2400.00",
            "total": "6900.13",
        },
        "installment_amount": "3006.67",
        "last_installment_amount": "3006.74",
    }

    short = await simulation.options(a, monthly_budget="500.00")
    assert short.status_code == 200, short.text
    assert short.json()["suggestion"] is None
    assert short.json()["suggestion_refusal"] == {
        "code": "budget-insuffisant",
        "message": "Avec 500,00\u00a0MAD par mois, aucun plan n'est possible : "
        "il faut au moins 3\u00a0006,74\u00a0MAD par mois (15 échéances).",
        "details": {
            "monthly_budget": "500.00",
            "minimum_monthly_budget": "3006.74",
            "modality": "INSTALLMENTS",
            "tier": "INSTALLMENTS_1_24",
            "installments": 15,
        },
    }
    without_budget = (await simulation.options(a)).json()
    assert (without_budget["suggestion"], without_budget["suggestion_refusal"]) == (None, None)
    assert without_budget["options"] == body["options"]
    not_positive = (await simulation.options(a, monthly_budget="0.00")).json()
    assert not_positive["suggestion_refusal"]["code"] == "parametres-incoherents"

    # Read-only: no quote stored, nothing in the outbox, so the affiliate's last simulation stays its own.
    assert await simulation.count("SELECT count(*) FROM quotes WHERE affiliate = $1", a) == 0
    assert await simulation.count("SELECT count(*) FROM outbox WHERE key = $1", a) == 0
    real = await simulation.simulate(a, modality="FULL")
    assert real.status_code == 201, real.text
    quote_id = real.json()["quote_id"]
    records = await read_topic(
        infra.bootstrap,
        SIMULATION_QUOTES.name,
        lambda r: any(json.loads(x.value)["payload"]["quote_id"] == quote_id for x in r),
        key=a,
    )
    # The relay deletes what it sent: the topic shows that the only quote ever announced is the real one.
    assert [json.loads(r.value)["payload"]["quote_id"] for r in records] == [quote_id]
    assert await simulation.count("SELECT count(*) FROM quotes WHERE affiliate = $1", a) == 1


async def test_options_refusals(simulation: Simulation, infra: Infra) -> None:
    a = new_affiliate()
    unknown = await simulation.options(a, monthly_budget="1000.00")
    assert (unknown.status_code, unknown.json()["code"]) == (404, "creance-introuvable")
    await send(infra, position(a, 1, DEBT))
    await simulation.when_known(a, modality="FULL")
    foreign = await simulation.options(a, token=simulation.token("1000000"), monthly_budget="1000.00")
    assert (foreign.status_code, foreign.json()["code"]) == (404, "affilie-introuvable")
    anonymous = await simulation.client.post("/v1/simulations/options", json={"affiliate": a})
    assert anonymous.status_code == 401
    extra = await simulation.options(a, modality="FULL")
    assert (extra.status_code, extra.json()["code"]) == (422, "requete-invalide")
    as_float = await simulation.options(a, monthly_budget=3100.5)
    assert (as_float.status_code, as_float.json()["code"]) == (422, "requete-invalide")

    b = new_affiliate()
    await send(infra, position(b, 1, {"2022-01": ("500.00", "0.00", "0.00", "0.00")}))

    async def known() -> httpx.Response | None:
        response = await simulation.options(b)
        return None if response.status_code == 404 else response

    nothing = await eventually(known)
    assert (nothing.status_code, nothing.json()["code"]) == (422, "rien-a-remettre")


async def test_each_quote_is_sealed_and_its_seal_opens_to_the_quote_itself(
    infra: Infra, database: str, tmp_path: Path
) -> None:
    generate_keypair(tmp_path / "quote.pem", tmp_path / "quote.pub.pem")
    settings = settings_for(infra, database, quote_signing_key_file=tmp_path / "quote.pem")
    opener = SealVerifier.from_files([tmp_path / "quote.pub.pem"], kind=QUOTE_SEAL_KIND)
    async with started(infra, settings, database) as simulation:
        a = new_affiliate()
        await send(infra, position(a, 1, DEBT))
        issued = await simulation.when_known(a, modality="INSTALLMENTS", advance="5000.00", installments=12)
        assert issued.status_code == 201, issued.text
        answer = issued.json()
        auth = {"authorization": f"Bearer {simulation.token(a)}"}
        reread = (await simulation.client.get(f"/v1/simulations/{answer['quote_id']}", headers=auth)).json()
    # The seal carries the quote exactly as answered, every amount and date, and nothing else.
    sealed = json.loads(opener.open(answer.pop("seal")))
    assert sealed == answer
    assert json.loads(opener.open(reread.pop("seal"))) == reread == answer
    assert Quote.model_validate(sealed).to_pay == Decimal(answer["to_pay"])
