"""A validation that hands back the quote's seal is not refused for the broker's lag.

simulation seals each quote; requests opens the seal when its projection of simulation.quotes.v1
has not caught up. These tests never publish the quote's event before validating: what the
validation knows of the quote comes from the seal alone.
"""

import base64
import json
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
import pytest

from contracts.simulation import QUOTE_SEAL_KIND, QuoteIssued
from contracts.topics import SIMULATION_QUOTES
from services.requests.config import RequestsSettings
from services.requests.main import create_app
from services.runtime.clock import FrozenClock
from services.runtime.seals import Sealer
from services.runtime.tokens import TokenIssuer, generate_keypair
from tests.conftest import Infra
from tests.integration.test_requests_lifecycle import CG, Requests, Seen, connections, observe, quote
from tests.support import eventually, new_affiliate, running

pytestmark = pytest.mark.integration


@pytest.fixture
def sealer(tmp_path: Path) -> Sealer:
    generate_keypair(tmp_path / "quote.pem", tmp_path / "quote.pub.pem")
    return Sealer.from_file(tmp_path / "quote.pem", kind=QUOTE_SEAL_KIND)


@pytest.fixture
async def svc(infra: Infra, database: str, tmp_path: Path, sealer: Sealer) -> AsyncIterator[Requests]:
    settings = RequestsSettings(
        database_url=database,
        kafka_bootstrap_servers=infra.bootstrap,
        kafka_group_id=f"requests-{uuid.uuid4().hex[:8]}",
        token_public_key_file=infra.public_key,
        sweep_interval_seconds=0,
        quote_wait_seconds=8,  # what a validation without a seal would wait, at most
        quote_public_key_files=[tmp_path / "quote.pub.pem"],
    )
    issuer = TokenIssuer(
        infra.private_key.read_bytes(),
        issuer=settings.token_issuer,
        audience=settings.token_audience,
        ttl=timedelta(minutes=15),
    )
    app = create_app(settings, FrozenClock(datetime.now(UTC)))
    async with running(app) as client:
        yield Requests(
            client, issuer, infra, database, FrozenClock(datetime.now(UTC)), app.state.dependencies.context, 8
        )


def sealed(sealer: Sealer, issued: QuoteIssued) -> str:
    """As simulation seals it: the quote's JSON, the very bytes of its HTTP answer."""
    return sealer.seal(issued.payload.model_dump_json().encode())


async def validate(svc: Requests, affiliate: str, request_id: str, issued: QuoteIssued, seal: str) -> httpx.Response:
    return await svc.act(
        affiliate,
        "POST",
        f"/v1/requests/{request_id}/validation",
        {"quote_id": str(issued.payload.quote_id), "cg_version": CG, "cg_accepted": True, "quote_seal": seal},
    )


async def quotes_known(database: str, quote_id: uuid.UUID) -> int:
    conn = await asyncpg.connect(database)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM quote WHERE quote_id = $1", quote_id))
    finally:
        await conn.close()


async def test_a_sealed_quote_validates_at_once_though_its_event_has_not_come(
    svc: Requests, sealer: Sealer, monkeypatch: pytest.MonkeyPatch
) -> None:
    affiliate = new_affiliate()
    request_id = await svc.draft_ready(affiliate)
    issued = quote(affiliate)
    seen: Seen = []
    observe(monkeypatch, seen, "execute", "fetchval", "fetchrow", "fetch")

    started = time.monotonic()
    validated = await validate(svc, affiliate, request_id, issued, sealed(sealer, issued))
    took = time.monotonic() - started
    monkeypatch.undo()

    assert validated.status_code == 200, validated.text
    body = validated.json()
    assert body["state"] == "VALIDATED"
    assert body["quote"]["quote_id"] == str(issued.payload.quote_id)
    assert body["quote"]["to_pay"] == "10120.00"
    assert took < 4, f"the seal spares the wait for the event ({svc.quote_wait}s): {took:.2f}s"
    # The quote kept in one statement (looked up, then inserted, before), and the request not read
    # before the validation locks it.
    [validating] = connections(seen, "FOR UPDATE", uuid.UUID(request_id))
    mine = [q for c, q, _ in seen if c == validating]
    assert len([q for q in mine if "quote (" in q or "FROM quote WHERE" in q]) == 1, mine
    assert "FOR UPDATE" in next(q for q in mine if "FROM request" in q)
    # The event, when it comes, finds the quote already there: one row, nothing else changes.
    await svc.send(SIMULATION_QUOTES.name, affiliate, issued)
    assert await quotes_known(svc.database, issued.payload.quote_id) == 1
    again = await svc.act(affiliate, "GET", f"/v1/requests/{request_id}")
    assert again.json()["state"] == "VALIDATED"


def tampered(seal: str, **changes: str) -> str:
    header, payload, signature = seal.split(".")
    document = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    document.update(changes)
    forged = base64.urlsafe_b64encode(json.dumps(document).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


async def test_a_seal_that_is_not_simulations_or_not_this_quotes_is_refused(
    svc: Requests, sealer: Sealer, tmp_path: Path
) -> None:
    affiliate = new_affiliate()
    request_id = await svc.draft_ready(affiliate)
    issued, other = quote(affiliate), quote(affiliate)
    generate_keypair(tmp_path / "stranger.pem", tmp_path / "stranger.pub.pem")
    stranger = Sealer.from_file(tmp_path / "stranger.pem", kind=QUOTE_SEAL_KIND)
    wrong_kind = Sealer.from_file(tmp_path / "quote.pem", kind="auth.token")
    attempts = {
        "a lower amount to pay": tampered(sealed(sealer, issued), to_pay="1.00"),
        "sealed by another key": sealed(stranger, issued),
        "another quote's seal": sealed(sealer, other),
        "another kind of seal": sealed(wrong_kind, issued),
        "not a seal": "abc.def.ghi",
    }
    for what, seal in attempts.items():
        refused = await validate(svc, affiliate, request_id, issued, seal)
        assert refused.status_code == 422, (what, refused.text)
        assert refused.json()["code"] == "sceau-invalide", what
    assert (await svc.act(affiliate, "GET", f"/v1/requests/{request_id}")).json()["state"] == "DRAFT"
    assert await quotes_known(svc.database, issued.payload.quote_id) == 0


async def test_a_sealed_quote_of_another_affiliate_is_as_unknown(svc: Requests, sealer: Sealer) -> None:
    affiliate, stranger = new_affiliate(), new_affiliate()
    request_id = await svc.draft_ready(affiliate)
    theirs = quote(stranger)  # simulation did seal it, for its own affiliate
    refused = await validate(svc, affiliate, request_id, theirs, sealed(sealer, theirs))
    assert (refused.status_code, refused.json()["code"]) == (409, "devis-introuvable")


async def test_a_sealed_quote_is_checked_like_one_that_came_by_kafka(svc: Requests, sealer: Sealer) -> None:
    """Owner, debt version, modality, expiry: the seal proves who issued it, not that it still holds."""
    affiliate = new_affiliate()
    request_id = await svc.draft_ready(affiliate)
    stale = quote(affiliate, issued=datetime.now(UTC) - timedelta(hours=2))
    refused = await validate(svc, affiliate, request_id, stale, sealed(sealer, stale))
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] != "sceau-invalide"

    async def still_draft() -> bool:
        return bool((await svc.act(affiliate, "GET", f"/v1/requests/{request_id}")).json()["state"] == "DRAFT")

    await eventually(still_draft)
