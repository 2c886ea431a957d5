"""Lists page (issue 17, ``runtime/paging.py``): ``limit`` and ``cursor``, the next page in a ``Link``
header; without them, the whole list as before. On the real services: debt's periods, debits' bank
accounts, requests' list of an affiliate's requests."""

# ruff: noqa: F401, F811 (``debt``, ``client``, ``issuer``, ``settings``, ``svc``: other modules' fixtures, named here)

import re
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from services.debits.entrypoints.operations import import_bank_accounts
from services.runtime.paging import decode_cursor, encode_cursor
from services.runtime.tokens import Principal, TokenIssuer
from tests.conftest import Infra
from tests.integration.test_debits_accounts import RIB_A, RIB_B, RIB_C, client, issuer, record, settings
from tests.integration.test_debits_accounts import get_accounts as accounts_of
from tests.integration.test_debt_ingestion import Debt, charge, debt, send
from tests.integration.test_requests_lifecycle import Requests, svc
from tests.support import eventually, new_affiliate

pytestmark = pytest.mark.integration

PERIODS = ("2019-03", "2020-06", "2021-01", "2024-12", "2025-01")


def next_link(response: httpx.Response) -> str | None:
    link = response.headers.get("link")
    if link is None:
        return None
    found = re.fullmatch(r'<([^>]+)>; rel="next"', link)
    assert found, link
    return found.group(1)


async def walk(get: Any, first: str) -> list[httpx.Response]:
    """Every page from ``first``, following the Link headers."""
    pages = [await get(first)]
    while (url := next_link(pages[-1])) is not None:
        pages.append(await get(url))
        assert len(pages) < 20
    return pages


async def test_the_debts_periods_page_and_its_totals_stay_whole(debt: Debt, infra: Infra) -> None:
    a = new_affiliate()
    await send(infra, *(charge(a, period, "majorations", "100.00") for period in PERIODS))
    token = debt.token(a)
    headers = {"authorization": f"Bearer {token}"}

    async def all_in() -> dict[str, Any] | None:
        body: dict[str, Any] = (await debt.get(a, token)).json()
        return body if len(body["periods"]) == len(PERIODS) else None

    whole = await eventually(all_in)
    unpaged = await debt.get(a, token)
    assert "link" not in unpaged.headers  # no limit, no cursor: the whole document, as before

    pages = await walk(lambda url: debt.client.get(url, headers=headers), f"/v1/affiliates/{a}/debt?limit=2")
    assert [[p["period"] for p in page.json()["periods"]] for page in pages] == [
        ["2019-03", "2020-06"],
        ["2021-01", "2024-12"],
        ["2025-01"],
    ]
    for page in pages:
        assert page.json()["totals"] == whole["totals"] and page.json()["version"] == whole["version"]
    assert next_link(pages[0]) == f"/v1/affiliates/{a}/debt?limit=2&cursor={encode_cursor(['2020-06'])}"

    for bad in ("nimporte-quoi", encode_cursor(["1999-01"]), encode_cursor([])):
        refused = await debt.client.get(f"/v1/affiliates/{a}/debt?cursor={bad}", headers=headers)
        assert (refused.status_code, refused.json()["code"]) == (422, "curseur-invalide"), bad
    for limit in ("0", "201", "deux"):
        refused = await debt.client.get(f"/v1/affiliates/{a}/debt?limit={limit}", headers=headers)
        assert (refused.status_code, refused.json()["code"]) == (422, "requete-invalide"), limit


async def test_bank_accounts_page(client: httpx.AsyncClient, issuer: TokenIssuer, database: str) -> None:
    affiliate = new_affiliate()
    await import_bank_accounts(
        database,
        [
            record(affiliate, RIB_A, "Attijariwafa bank", id="a"),
            record(affiliate, RIB_B, "Banque Populaire", id="b"),
            record(affiliate, RIB_C, "BMCE", id="c"),
        ],
    )
    whole = await accounts_of(client, issuer, affiliate)
    assert len(whole.json()) == 3 and "link" not in whole.headers
    principal = Principal(str(uuid.uuid4()), "test", frozenset({affiliate}))
    headers = {"authorization": f"Bearer {issuer.issue(principal, datetime.now(UTC))[0]}"}
    pages = await walk(
        lambda url: client.get(url, headers=headers), f"/v1/affiliates/{affiliate}/bank-accounts?limit=2"
    )
    ids = [account["id"] for account in whole.json()]  # in the service's own order
    assert [[account["id"] for account in page.json()] for page in pages] == [ids[:2], ids[2:]]
    assert [account for page in pages for account in page.json()] == whole.json()


async def test_an_affiliates_requests_page_newest_first(svc: Requests) -> None:
    affiliate = new_affiliate()
    await svc.known(affiliate)
    made = []
    for _ in range(3):  # one open request at a time: each withdrawn before the next
        created = await svc.create(affiliate)
        assert created.status_code == 201, created.text
        made.append(created.json()["id"])
        withdrawn = await svc.act(affiliate, "POST", f"/v1/requests/{made[-1]}/withdrawal", {})
        assert withdrawn.status_code == 200, withdrawn.text
    headers = svc.headers(affiliate)
    whole = await svc.client.get(f"/v1/requests?affiliate={affiliate}", headers=headers)
    order = [r["id"] for r in whole.json()]  # newest first; the frozen clock gives them one instant: then by id
    assert order == sorted(made, reverse=True) and "link" not in whole.headers
    pages = await walk(lambda url: svc.client.get(url, headers=headers), f"/v1/requests?affiliate={affiliate}&limit=2")
    assert [[r["id"] for r in page.json()] for page in pages] == [order[:2], order[2:]]
    assert decode_cursor(next_link(pages[0]).rsplit("cursor=", 1)[1]) == [order[1]]  # type: ignore[union-attr]
    assert "affiliate=" in next_link(pages[0])  # type: ignore[operator]  # the other parameters carried over
