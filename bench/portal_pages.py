"""The portal's main pages, one at a time, against the very service calls each page makes.

The five services, the reference perception and the portal run as processes (one uvicorn worker
each), on embedded Postgres and broker. Setup (not timed), through the real paths of ``recouvrement
demo seed`` (``services.stack.seed``): one group account holding five affiliates (auth's import), one
bank account each (debits' import), 140 periods of debt each with penalties to remit (the ledger of
``bench.debt_http`` on ``debt.ledger.v1``); then wait until debt, requests and simulation agree on
every affiliate's ``debt_version`` (as ``tests/e2e/portal_browser.py`` ``Api.settled``). Through the
portal's own forms: log in (``/connexion``), choose the affiliate (``/affilies``), open a request,
choose INSTALLMENTS and the bank account, simulate 60 installments with an advance; on a second session
and a second affiliate, the same and the validation, until the perception's deposit makes it VALIDATED
and debits holds the plan's debits (the advance and the 60 installments).

Measured, for each page, ``N`` sequential GETs with the logged-in session (``N`` = 200 ×
``BENCH_SCALE``, at least 20, after a warm-up), and alternating with them, in the same run, the same
service calls the page handler makes (``services.portal.api.Services``, the portal's own client code,
in this process: same URLs, headers and JSON decoding, the same asyncio.gather where the page
gathers, the same one-minute cache of the programme), so the ratio page / calls is what the portal
adds: one more HTTP hop, the session lookup in its Postgres, FastAPI and its middlewares, the templates.
The portal's and a service's bare round trips (``/health/live``) and the session query are printed
beside, for reference. Both sides use httpx.AsyncClient with the portal's own settings
(``Services.client_for``). Aim: ratio ≤ 1.5 at p50.

    BENCH_SCALE=0.1 python -m bench.portal_pages
    BENCH_PROFILE=1 BENCH_ONLY=portal_pages python -m bench     # the portal under cProfile
"""

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any
from uuid import UUID

import asyncpg
import httpx

from bench.common import (
    child_env,
    infrastructure,
    machine,
    percentile,
    report_profile,
    say,
    scale,
    scaled,
    service_command,
    spawn,
    table,
    wait_http,
    write_result,
)
from bench.debt_http import AFFILIATE as TEMPLATE_AFFILIATE
from bench.debt_http import PERIODS
from bench.debt_http import ledger as template_ledger
from bench.flows import _DROPPED, SERVICES, Stack, _uvloop_run, bank_accounts, export, wait_known
from contracts.topics import DEBT_LEDGER
from services.auth.entrypoints.operations import import_export
from services.auth.service.import_accounts import AccountRecord, DamancomExport
from services.auth.service.passwords import Passwords
from services.debits.entrypoints.operations import import_bank_accounts
from services.portal.api import ServiceRefusal, Services
from services.portal.config import PortalSettings
from services.portal.sessions import SessionStore
from services.runtime.tokens import generate_keypair
from services.stack.demo_data import BankAccount, DemoDataset, LedgerMessage
from services.stack.embedded import free_ports
from services.stack.seed import publish_ledger

NAME = "portal_pages"
AFFILIATES = 5
FIRST_AFFILIATE = 4_000_000
LOGIN = "bench.groupe"
PASSWORD = "Bench-portail-2024!"  # noqa: S105 - a throwaway account of a throwaway stack
INSTALLMENTS = 60
ADVANCE = "10000.00"
AIM = 1.5
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def request_count() -> int:
    return int(scaled(200, 20))


def warmup_count() -> int:
    return int(scaled(20, 5))


# --- data -------------------------------------------------------------------------------------------


def affiliates() -> list[str]:
    return [str(FIRST_AFFILIATE + i) for i in range(AFFILIATES)]


def ledger(numbers: list[str]) -> list[tuple[str, LedgerMessage]]:
    """``bench.debt_http``'s 140-period ledger (a seed of its own per affiliate), for each affiliate."""
    out: list[tuple[str, LedgerMessage]] = []
    for index, numero in enumerate(numbers):
        for entry in template_ledger(seed=140 + index):
            payload = entry.payload.model_dump() | {
                "affiliate": numero,
                "entry_id": entry.payload.entry_id.replace(TEMPLATE_AFFILIATE, numero),
            }
            out.append((numero, type(entry).build(payload, producer=entry.producer, occurred_at=entry.occurred_at)))
    return out


def dataset(numbers: list[str]) -> DemoDataset:
    """The affiliates' records and bank accounts of ``bench.flows``, but one group account holding them all."""
    password_hash = Passwords().hash(PASSWORD)
    records = export(numbers, password_hash).affiliates
    group = AccountRecord(
        login=LOGIN, display_name="Bench Groupe Holding", password_hash=password_hash, affiliates=numbers
    )
    return DemoDataset(
        export=DamancomExport(affiliates=records, accounts=[group]),
        ledger=ledger(numbers),
        bank_accounts=[BankAccount(**account) for account in bank_accounts(numbers)],
        logins=[(LOGIN, PASSWORD, f"{len(numbers)} affiliates, {PERIODS} periods each")],
    )


async def load(stack: Stack, data: DemoDataset) -> None:
    """What ``services.stack.seed.seed_demo`` does with its generated dataset, with this one."""
    await import_export(stack.dsn["auth"], data.export)
    await import_bank_accounts(stack.dsn["debits"], [asdict(b) for b in data.bank_accounts])
    await publish_ledger(stack.infra.bootstrap, data)


# --- the stack: flows' five services and perception, and the portal -----------------------------------


class PortalStack(Stack):
    def portal_env(self) -> dict[str, str]:
        """The portal's variables, as ``services.stack.launcher`` sets them; the bench's client reads them too."""
        urls = {f"{name.upper()}_URL": f"http://127.0.0.1:{self.ports[name]}" for name in SERVICES}
        return urls | {
            "DATABASE_URL": self.dsn["portal"],
            "HTTP_PORT": str(self.ports["portal"]),
            "COOKIE_SECURE": "false",
        }

    def env(self, name: str) -> dict[str, str]:
        if name == "portal":
            return child_env(self.portal_env(), drop=_DROPPED)
        return super().env(name)

    def start(self) -> None:
        for name in (*SERVICES, "portal"):
            self.dsn[name] = asyncio.run(self.infra.new_database(f"bench_portal_{name}"))
        names = (*SERVICES, "perception", "portal")
        self.ports |= dict(zip(names, free_ports(len(names)), strict=True))
        self.own |= self.ports  # one process each: each answers alone on its service's port
        for name in (*SERVICES, "perception", "portal"):
            if name == "perception":
                command = ["-m", "services.cli", "perception", "serve"]
            else:
                command = service_command(name, f"{NAME}-{name}")
            self.processes[name] = spawn(command, self.env(name), self.log(name))
        for name, process in self.processes.items():
            wait_http(self.ports[name], "/health/ready", process, 120, self.log(name))

    def settings(self) -> PortalSettings:
        values: dict[str, Any] = self.portal_env()  # the same variables the portal process reads
        return PortalSettings(**values)


async def settled(api: Services, token: str, numbers: list[str], timeout: float = 120) -> dict[str, int]:
    """Until debt, requests (eligibility) and simulation (options) answer the same debt version for each
    affiliate (a quote on an older version would be refused): ``Api.settled`` of the browser tests."""
    deadline = time.monotonic() + timeout
    versions: dict[str, int] = {}
    for numero in numbers:
        while True:
            debt, eligibility, options = await asyncio.gather(
                api.debt(token, numero), api.eligibility(token, numero), api.options(token, numero, None)
            )
            seen = {debt.get("version"), eligibility.get("debt_version"), options.get("debt_version")}
            if len(seen) == 1 and None not in seen and len(debt["periods"]) == PERIODS:
                versions[numero] = int(debt["version"])
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"{numero}: the versions never agreed {seen}")
            await asyncio.sleep(0.3)
    return versions


# --- a portal session, through its forms --------------------------------------------------------------


class PortalError(Exception):
    pass


@dataclass
class Visitor:
    """One browser: its cookies, the session's CSRF token."""

    client: httpx.AsyncClient
    base: str
    csrf: str = ""

    async def post(self, path: str, form: dict[str, str], expect: str) -> str:
        """A form posted; the 303 it must answer, and where to."""
        answer = await self.client.post(self.base + path, data=form)
        location = str(answer.headers.get("location", ""))
        if answer.status_code != 303 or not re.match(expect, location):
            raise PortalError(
                f"POST {path}: {answer.status_code} to {location!r}, expected {expect}: {answer.text[:500]}"
            )
        return location

    async def login(self, numero: str) -> None:
        form = await self.client.get(self.base + "/connexion")
        found = _CSRF.search(form.text)
        if form.status_code != 200 or found is None or "er_csrf" not in self.client.cookies:
            raise PortalError(f"GET /connexion: {form.status_code}, csrf cookie {dict(self.client.cookies)}")
        login = {"identifiant": LOGIN, "mot_de_passe": PASSWORD, "csrf": found.group(1), "suite": "/creance"}
        await self.post("/connexion", login, "/affilies$")
        choice = await self.client.get(self.base + "/affilies")
        found = _CSRF.search(choice.text)
        if choice.status_code != 200 or found is None:
            raise PortalError(f"GET /affilies: {choice.status_code}")
        self.csrf = found.group(1)
        await self.post("/affilies", {"numero": numero, "csrf": self.csrf}, "/creance$")

    async def simulated_request(self, bank_account: str) -> tuple[str, str]:
        """A new request, INSTALLMENTS, guarantees accepted, the bank account, simulated: (request, quote)."""
        location = await self.post("/demandes", {"csrf": self.csrf}, r"/demandes/[0-9a-f-]{36}/modalite$")
        request_id = location.split("/")[2]
        base = f"/demandes/{request_id}"
        choice = {"csrf": self.csrf, "modalite": "INSTALLMENTS", "garanties": "oui", "compte": bank_account}
        await self.post(f"{base}/modalite", choice, f"{base}/simulation$")
        terms = {"csrf": self.csrf, "avance": ADVANCE, "echeances": str(INSTALLMENTS), "action": "simuler"}
        location = await self.post(f"{base}/simulation", terms, rf"{base}/simulation\?devis=[0-9a-f-]{{36}}$")
        return request_id, location.rsplit("=", 1)[1]

    async def validate(self, request_id: str, quote_id: str, cg_version: str) -> None:
        base = f"/demandes/{request_id}"
        form = {"csrf": self.csrf, "devis": quote_id, "version": cg_version, "acceptation": "oui"}
        await self.post(f"{base}/validation", form, f"{base}/prise-en-charge$")


async def scheduled(api: Services, token: str, request_id: str, timeout: float = 120) -> int:
    """Until the perception deposited the guarantee and debits holds the plan's debits."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            debits = await api.debits_of(token, UUID(request_id))
            if debits:
                return len(debits)
        except ServiceRefusal:
            pass
        if time.monotonic() > deadline:
            state = (await api.request(token, UUID(request_id)))["state"]
            raise TimeoutError(f"request {request_id} ({state}): debits has no debit after {timeout} s")
        await asyncio.sleep(0.3)


# --- the measure --------------------------------------------------------------------------------------


@dataclass
class Page:
    label: str
    path: str
    calls: str
    """the service calls the page handler makes, as it makes them"""
    baseline: Callable[[], Awaitable[object]]
    visitor: Visitor
    must_show: list[str]
    """texts the page must contain (what it was asked to show)"""


def stats(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "p50_ms": percentile(values, 50) * 1000,
        "p95_ms": percentile(values, 95) * 1000,
        "mean_ms": sum(values) / len(values) * 1000 if values else float("nan"),
    }


async def measure_page(page: Page, n: int, warmup: int) -> dict[str, Any]:
    """``warmup + n`` rounds of one page GET and one run of its calls, in alternating order."""
    page_times: list[float] = []
    api_times: list[float] = []
    size = 0

    async def get_page() -> float:
        nonlocal size
        started = time.perf_counter()
        answer = await page.visitor.client.get(page.visitor.base + page.path)
        elapsed = time.perf_counter() - started
        if answer.status_code != 200:
            raise PortalError(
                f"GET {page.path}: {answer.status_code} {answer.headers.get('location')} {answer.text[:300]}"
            )
        size = len(answer.content)
        return elapsed

    async def calls() -> float:
        started = time.perf_counter()
        await page.baseline()
        return time.perf_counter() - started

    first = await page.visitor.client.get(page.visitor.base + page.path)
    missing = [text for text in page.must_show if text not in first.text]
    if first.status_code != 200 or missing:
        raise PortalError(f"GET {page.path}: {first.status_code}, missing {missing}: {first.text[:500]}")
    for index in range(warmup + n):
        if index % 2:
            api_time, page_time = await calls(), await get_page()
        else:
            page_time, api_time = await get_page(), await calls()
        if index >= warmup:
            page_times.append(page_time)
            api_times.append(api_time)
    page_stats, api_stats = stats(page_times), stats(api_times)
    result = {
        "label": page.label,
        "path": page.path,
        "calls": page.calls,
        "bytes": size,
        "page": page_stats,
        "api": api_stats,
        "ratio_p50": page_stats["p50_ms"] / api_stats["p50_ms"],
        "ratio_p95": page_stats["p95_ms"] / api_stats["p95_ms"],
    }
    say(
        f"  {page.label}: page p50 {page_stats['p50_ms']:.1f} / p95 {page_stats['p95_ms']:.1f} ms, its calls p50 "
        f"{api_stats['p50_ms']:.1f} / p95 {api_stats['p95_ms']:.1f} ms: ×{result['ratio_p50']:.2f} "
        f"(×{result['ratio_p95']:.2f} at p95), {size:,} bytes"
    )
    return result


async def reference_times(stack: PortalStack, visitor: Visitor, n: int) -> dict[str, Any]:
    """What part of a page no service call explains: the portal's bare HTTP round trip (``/health/live``,
    same client; a service's beside it) and its session lookup (``SessionStore.find`` on the portal's
    database, from here)."""
    live: list[float] = []
    for _ in range(n):
        started = time.perf_counter()
        answer = await visitor.client.get(visitor.base + "/health/live")
        live.append(time.perf_counter() - started)
        if answer.status_code != 200:
            raise PortalError(f"/health/live: {answer.status_code}")
    requests_live: list[float] = []
    for _ in range(n):
        started = time.perf_counter()
        answer = await visitor.client.get(f"http://127.0.0.1:{stack.ports['requests']}/health/live")
        requests_live.append(time.perf_counter() - started)
        if answer.status_code != 200:
            raise PortalError(f"requests /health/live: {answer.status_code}")
    cookie = visitor.client.cookies["er_session"]
    lookups: list[float] = []
    conn = await asyncpg.connect(stack.dsn["portal"])
    try:
        store = SessionStore(conn)
        for _ in range(n):
            started = time.perf_counter()
            if await store.find(cookie) is None:
                raise PortalError("the session is not in the portal's database")
            lookups.append(time.perf_counter() - started)
    finally:
        await conn.close()
    return {
        "portal GET /health/live": stats(live),
        "requests GET /health/live (a service's bare round trip)": stats(requests_live),
        "session lookup (SessionStore.find, one connection, from the bench)": stats(lookups),
    }


async def run(stack: PortalStack, numbers: list[str], data: DemoDataset) -> dict[str, Any]:
    settings = stack.settings()
    api = Services(settings, Services.client_for(settings))
    base = f"http://127.0.0.1:{stack.ports['portal']}"
    draft_visitor = Visitor(Services.client_for(settings), base)
    validated_visitor = Visitor(Services.client_for(settings), base)
    try:
        token = (await api.login(LOGIN, PASSWORD, "127.0.0.1"))["access_token"]
        versions = await settled(api, token, numbers)
        say(f"debt, requests and simulation agree on every affiliate's debt version: {versions}")
        accounts = {b.affiliate: b.id for b in data.bank_accounts}
        draft_of, validated_of = numbers[0], numbers[1]

        started = time.monotonic()
        await validated_visitor.login(validated_of)
        validated_id, validated_quote = await validated_visitor.simulated_request(accounts[validated_of])
        cg_version = str((await api.conditions())["version"])
        await validated_visitor.validate(validated_id, validated_quote, cg_version)
        debits = await scheduled(api, token, validated_id)
        await draft_visitor.login(draft_of)
        request_id, quote_id = await draft_visitor.simulated_request(accounts[draft_of])
        say(
            f"through the portal's forms in {time.monotonic() - started:.1f} s: {draft_of}'s request {request_id} "
            f"(DRAFT, quote {quote_id}); {validated_of}'s request {validated_id} validated, {debits} debits in debits"
        )
        rid, vid, qid = UUID(request_id), UUID(validated_id), UUID(quote_id)

        async def creance() -> object:
            return await asyncio.gather(api.debt(token, draft_of), api.eligibility(token, draft_of))

        async def demandes() -> object:
            return await api.requests_of(token, draft_of)

        async def modalite() -> object:
            found = await api.request(token, rid)
            return await asyncio.gather(api.bank_accounts(token, found["affiliate"]), api.programme())

        async def simulation() -> object:
            found = await api.request(token, rid)
            await api.quote(token, qid)
            return await asyncio.gather(api.programme(), api.options(token, found["affiliate"], None))

        async def demande() -> object:
            return await api.request(token, rid)

        async def demande_validee() -> object:
            await api.request(token, vid)
            return await api.debits_of(token, vid)

        d, v = draft_visitor, validated_visitor
        pages = [
            Page("GET /creance", "/creance", "gather(debt, eligibility)", creance, d, [draft_of, f"({PERIODS - 20})"]),
            Page("GET /demandes", "/demandes", "requests list", demandes, d, [request_id]),
            Page(
                "GET /demandes/{id}/modalite",
                f"/demandes/{request_id}/modalite",
                "request; gather(bank accounts, programme [cached 60 s])",
                modalite,
                d,
                [accounts[draft_of]],
            ),
            Page(
                "GET /demandes/{id}/simulation?devis=",
                f"/demandes/{request_id}/simulation?devis={quote_id}",
                "request; quote; gather(programme [cached 60 s], options)",
                simulation,
                d,
                [quote_id],
            ),
            Page("GET /demandes/{id} (draft)", f"/demandes/{request_id}", "request", demande, d, [request_id]),
            Page(
                f"GET /demandes/{{id}} (validated, {debits} debits)",
                f"/demandes/{validated_id}",
                "request; debits of the request",
                demande_validee,
                v,
                [validated_id],
            ),
        ]
        n, warmup = request_count(), warmup_count()
        say(f"each page: {warmup} warm-up rounds, then {n} rounds of one page GET and its calls, alternating")
        measured = [await measure_page(page, n, warmup) for page in pages]
        references = await reference_times(stack, draft_visitor, n)
    finally:
        for client in (api.client, draft_visitor.client, validated_visitor.client):
            await client.aclose()
    return {"pages": measured, "references": references, "debt_versions": versions, "debits": debits}


def main() -> dict[str, Any]:
    numbers = affiliates()
    data = dataset(numbers)
    with infrastructure(NAME) as infra:
        keys = infra.root / "keys"
        generate_keypair(keys / "signing.pem", keys / "signing.pub.pem")
        generate_keypair(keys / "quote.pem", keys / "quote.pub.pem")  # simulation seals its quotes
        stack = PortalStack(infra, keys)
        try:
            started = time.monotonic()
            stack.start()
            say(f"five services, the reference perception and the portal ready in {time.monotonic() - started:.1f} s")
            started = time.monotonic()
            asyncio.run(load(stack, data))
            known = asyncio.run(wait_known(stack, numbers, len(data.ledger)))
            setup_s = time.monotonic() - started
            say(
                f"setup: 1 group account of {len(numbers)} affiliates (auth import), {len(data.bank_accounts)} bank "
                f"accounts (debits import), {len(data.ledger):,} ledger entries on {DEBT_LEDGER.name} "
                f"({PERIODS} periods each); known everywhere after {setup_s:.1f} s"
            )
            measured = _uvloop_run(lambda: run(stack, numbers, data))
        finally:
            stack.stop()
        report_profile(f"{NAME}-portal")
    result = {
        "bench": NAME,
        "scale": scale(),
        "machine": machine(),
        "affiliates": len(numbers),
        "periods": PERIODS,
        "ledger_entries": len(data.ledger),
        "setup_s": setup_s,
        "setup_counts": known,
        "requests_per_page": request_count(),
        "warmup_per_page": warmup_count(),
        "aim_ratio": AIM,
        **measured,
    }
    print_report(result)
    write_result(NAME, result)
    return result


def rows_for(result: dict[str, Any]) -> list[list[str]]:
    return [
        [
            f"portal {page['label']}",
            f"p95 {page['page']['p95_ms']:.1f} / {page['api']['p95_ms']:.1f} ms (×{page['ratio_p95']:.2f})",
            f"p50 {page['page']['p50_ms']:.1f} ms",
            f"p50 {page['api']['p50_ms']:.1f} ms ({page['calls']})",
            f"×{page['ratio_p50']:.2f}",
            f"≤ ×{AIM}",
        ]
        for page in result["pages"]
    ]


def print_report(result: dict[str, Any]) -> None:
    print()
    print(
        f"Portal pages, one at a time, logged in (group account, {result['affiliates']} affiliates × "
        f"{result['periods']} periods), {result['requests_per_page']} GETs per page alternating with the page's own "
        f"service calls (BENCH_SCALE={result['scale']})"
    )
    rows = [
        [
            page["label"],
            f"{page['bytes']:,}",
            f"{page['page']['p50_ms']:.1f}",
            f"{page['page']['p95_ms']:.1f}",
            f"{page['api']['p50_ms']:.1f}",
            f"{page['api']['p95_ms']:.1f}",
            f"{page['ratio_p50']:.2f}",
            f"{page['ratio_p95']:.2f}",
            page["calls"],
        ]
        for page in result["pages"]
    ]
    headers = ["page", "bytes", "page p50", "page p95", "calls p50", "calls p95", "ratio p50", "ratio p95", "calls"]
    print(table(headers, rows))
    over = [page["label"] for page in result["pages"] if page["ratio_p50"] > AIM]
    print(f"  aim: page / its calls ≤ {AIM} at p50; over it: {', '.join(over) if over else 'none'}")
    for label, r in result["references"].items():
        print(f"  reference: {label} p50 {r['p50_ms']:.2f} ms, p95 {r['p95_ms']:.2f} ms")


if __name__ == "__main__":
    main()
