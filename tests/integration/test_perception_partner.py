"""The reference perception on the real broker: guarantee requests in, answers out, one trace; each
office reads its own topic (``requests.guarantees.<code>.v1``), and hears what becomes of the guarantees."""

import asyncio
import secrets
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

import httpx
import pytest
import typer
from typer.testing import CliRunner

from contracts.debt import Perception
from contracts.perception import GuaranteeDeposited, GuaranteeRefused, GuaranteeRequestReceived, PerceptionMessage
from contracts.requests import GuaranteeEnforced, GuaranteeReleased, GuaranteeRequired, GuaranteeWithdrawn
from contracts.topics import PERCEPTION_GUARANTEES, guarantee_requests
from partners.perception.answers import answer_id
from partners.perception.cli import deposit_command
from partners.perception.config import PerceptionSettings
from partners.perception.main import create_app
from tests import messages
from tests.conftest import Infra
from tests.support import header, new_affiliate, publish, read_to_end, read_topic, running

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
PERCEPTION = {"code": "CAS-01", "name": "Perception Casablanca Anfa"}
ANFA = guarantee_requests("CAS-01")


def required(affiliate: str) -> GuaranteeRequired:
    return messages.guarantee_required(affiliate, at=NOW)


def traceparent() -> str:
    return f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01"


async def send(
    infra: Infra,
    message: GuaranteeRequired | GuaranteeWithdrawn | GuaranteeReleased | GuaranteeEnforced | bytes,
    key: str,
    topic: str = ANFA.name,
) -> str:
    """Publishes with a W3C trace context, as the requests service's relay does; returns the traceparent."""
    parent = traceparent()
    headers = [("traceparent", parent.encode())]
    await publish(infra.bootstrap, topic, [(key, message)], headers=headers)
    return parent


async def answers(infra: Infra, affiliate: str, count: int = 1) -> list[tuple[PerceptionMessage, str | None]]:
    records = await read_topic(infra.bootstrap, PERCEPTION_GUARANTEES.name, lambda r: len(r) >= count, key=affiliate)
    adapter = PERCEPTION_GUARANTEES.adapter()
    return [(adapter.validate_json(r.value), header(r, "traceparent")) for r in records]


@pytest.fixture
async def rules() -> dict[str, str]:
    return {"deposit": new_affiliate(), "refuse": new_affiliate(), "ignore": new_affiliate()}


@pytest.fixture
async def perception(infra: Infra, rules: dict[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    settings = PerceptionSettings(
        kafka_bootstrap_servers=infra.bootstrap,
        kafka_group_id=f"perception-{uuid.uuid4().hex[:8]}",  # each test reads the topic from its start
        default_outcome="deposit",
        rules=f"{rules['refuse']}=refuse,{rules['ignore']}=ignore",
    )
    async with running(create_app(settings)) as client:
        yield client


async def test_a_deposit_answers_in_the_same_trace(
    perception: httpx.AsyncClient, infra: Infra, rules: dict[str, str]
) -> None:
    assert (await perception.get("/health/ready")).status_code == 200
    request = required(rules["deposit"])
    sent = await send(infra, request, rules["deposit"])

    (receipt, receipt_parent), (message, parent) = await answers(infra, rules["deposit"], 2)
    # First the acknowledgement (the office has the request), then the answer, both in its trace.
    assert isinstance(receipt, GuaranteeRequestReceived)
    assert (receipt.payload.request_id, receipt.payload.perception) == (request.payload.request_id, "CAS-01")
    assert receipt.event_id == answer_id(request.payload.request_id, "received")
    assert receipt_parent is not None and receipt_parent.split("-")[1] == sent.split("-")[1]
    assert isinstance(message, GuaranteeDeposited)
    assert (message.payload.request_id, message.payload.affiliate) == (request.payload.request_id, rules["deposit"])
    assert message.payload.perception == "CAS-01" and message.payload.reference.startswith("GAR-")
    assert message.event_id == answer_id(request.payload.request_id, "deposit")
    assert parent is not None
    assert parent.split("-")[1] == sent.split("-")[1]  # one trace, request → perception → answer
    assert parent.split("-")[2] != sent.split("-")[2]  # ... continued by the perception's own span


async def test_rules_refuse_or_ignore_and_bad_messages_are_dead_lettered(
    perception: httpx.AsyncClient, infra: Infra, rules: dict[str, str]
) -> None:
    ignored = required(rules["ignore"])
    await send(infra, ignored, rules["ignore"])
    poison = b'{"type": "requests.guarantee_required", "payload": {}}'
    await send(infra, poison, rules["refuse"])
    withdrawn = GuaranteeWithdrawn.build(
        {
            "request_id": uuid.uuid4(),
            "affiliate": rules["refuse"],
            "perception": PERCEPTION,
            "deadline": date(2026, 12, 2),
            "reason": "demande retirée",
        },
        producer="requests",
        occurred_at=NOW,
    )
    await send(infra, withdrawn, rules["refuse"])
    request = required(rules["refuse"])
    sent = await send(infra, request, rules["refuse"])

    # same key, same partition: the poison and the withdrawal before it did not stop the request
    (receipt, _), (message, parent) = await answers(infra, rules["refuse"], 2)
    assert isinstance(receipt, GuaranteeRequestReceived)
    assert isinstance(message, GuaranteeRefused)
    assert message.payload.request_id == request.payload.request_id and message.payload.reason
    assert parent is not None and parent.split("-")[1] == sent.split("-")[1]

    dead = await read_topic(infra.bootstrap, ANFA.dlq, lambda r: any(d.value == poison for d in r), key=rules["refuse"])
    assert header(dead[-1], "x-dlq-consumer") == "perception"
    # Left unanswered by rule: acknowledged (the office has it), and nothing more.
    ((receipt, _),) = await answers(infra, rules["ignore"])
    assert isinstance(receipt, GuaranteeRequestReceived)
    assert receipt.payload.request_id == ignored.payload.request_id
    with pytest.raises(AssertionError, match="1 records read"):
        await read_topic(
            infra.bootstrap, PERCEPTION_GUARANTEES.name, lambda r: len(r) > 1, key=rules["ignore"], timeout=1
        )


async def test_an_office_hears_release_and_enforcement_without_answering_and_only_its_own_requests(
    infra: Infra,
) -> None:
    """Issue 16: released and enforced guarantees are read (logged), neither answered nor dead-lettered;
    a request on an office's topic that names another office is dead-lettered with the reason; an
    office the perception does not play is not read at all."""
    affiliate, elsewhere = new_affiliate(), new_affiliate()
    settings = PerceptionSettings(
        kafka_bootstrap_servers=infra.bootstrap,
        kafka_group_id=f"perception-{uuid.uuid4().hex[:8]}",
        PERCEPTION_OFFICES="CAS-01",
    )
    held = {"reference": "GAR-7", "type": "NANTISSEMENT", "perception": "CAS-01", "deposited_at": NOW}
    common = {"affiliate": affiliate, "perception": PERCEPTION, "guarantee": held, "at": NOW}
    released = GuaranteeReleased.build(
        {"request_id": uuid.uuid4(), **common, "reason": "tous les prélèvements sont payés : la remise est définitive"},
        producer="requests",
        occurred_at=NOW,
    )
    enforced = GuaranteeEnforced.build(
        {
            "request_id": uuid.uuid4(),
            **common,
            "reinstated": {
                "principal": "0.00",
                "majorations": "150.00",
                "frais": "20.00",
                "astreintes": "0.00",
                "total": "170.00",
            },
            "reason": "déchéance : prélèvement 2 rejeté (AC04)",
        },
        producer="requests",
        occurred_at=NOW,
    )
    agdal = Perception(code="RAB-02", name="Perception Rabat Agdal")
    misrouted = messages.guarantee_required(affiliate, perception=agdal, at=NOW)
    not_played = messages.guarantee_required(elsewhere, perception=agdal, at=NOW)
    async with running(create_app(settings)):
        await send(infra, released, affiliate)
        await send(infra, enforced, affiliate)
        await send(infra, misrouted, affiliate)  # RAB-02's request on CAS-01's topic
        await send(infra, not_played, elsewhere, guarantee_requests("RAB-02").name)
        request = required(affiliate)
        await send(infra, request, affiliate)
        # same key, same partition: the release, the enforcement and the stray did not stop the request
        (receipt, _), (answer, _) = await answers(infra, affiliate, 2)
        assert isinstance(receipt, GuaranteeRequestReceived) and isinstance(answer, GuaranteeDeposited)
        assert receipt.payload.request_id == answer.payload.request_id == request.payload.request_id
        [dead] = await read_topic(infra.bootstrap, ANFA.dlq, bool, key=affiliate)
    assert dead.value == misrouted.model_dump_json().encode()
    assert header(dead, "x-dlq-reason") == "message pour la perception RAB-02 reçu par la perception CAS-01"
    assert await read_to_end(infra.bootstrap, PERCEPTION_GUARANTEES.name, key=elsewhere) == []


def run_deposit(args: list[str]) -> object:
    app = typer.Typer()
    app.command()(deposit_command)
    return CliRunner().invoke(app, args)


async def test_an_operator_deposits_by_hand(infra: Infra) -> None:
    affiliate, request_id = new_affiliate(), uuid.uuid4()
    args = [str(request_id), "--affiliate", affiliate, "--perception", "RAB-02", "--bootstrap", infra.bootstrap]
    result = await asyncio.to_thread(run_deposit, [*args, "--reference", "GAR-MANUEL", "--type", "NANTISSEMENT"])
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]

    ((message, _),) = await answers(infra, affiliate)
    assert isinstance(message, GuaranteeDeposited)
    assert (message.payload.reference, message.payload.guarantee_type) == ("GAR-MANUEL", "NANTISSEMENT")
    assert message.payload.request_id == request_id

    bad = await asyncio.to_thread(run_deposit, [*args, "--type", "CHEQUE"])
    assert bad.exit_code == 2  # type: ignore[attr-defined]
