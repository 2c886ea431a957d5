"""A ``DirectRoute`` answers every call exactly as FastAPI does, and solves the common one itself
(``services/runtime/direct.py``).

The same endpoint, with the runtime's own dependencies (the bearer token verified by a real
``TokenVerifier``, the pooled connection in its turn, the service's dependency object, the paging),
is mounted twice: on a ``DirectRoute`` and on FastAPI's ``APIRoute``. Each call below goes to both;
status, body and headers must be the same, and so must what happened to the pool. A stand-in pool
counts its connections: a unit test, no database."""

import importlib
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Annotated, Any

import anyio
import anyio.lowlevel
import fastapi.routing
import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, Header, Request, Response
from fastapi.exceptions import ResponseValidationError
from fastapi.routing import APIRoute
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pydantic import BaseModel

from services.debt.entrypoints.http import router as debt_router
from services.runtime.direct import DirectRoute, NotDirect, compile_route
from services.runtime.http import AffiliatePath, Connection, CurrentPrincipal, dependencies_of, require_affiliate
from services.runtime.paging import LINK_HEADER, Page, page_of
from services.runtime.problems import Problem, install_problem_handlers
from services.runtime.telemetry import server_spans
from services.runtime.tokens import Principal, TokenIssuer, TokenVerifier, generate_keypair
from services.runtime.turns import Priority

MINE = "1234567"
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
THEIRS = "7654321"


@dataclass
class Settings:
    periods: int = 5


@dataclass
class Pool:
    """Counts what a pool would: connections taken, given back, and at which priority."""

    taken: list[Priority] = field(default_factory=list)
    given_back: int = 0

    @asynccontextmanager
    async def acquire_as(self, priority: Priority) -> AsyncIterator[object]:
        self.taken.append(priority)
        try:
            yield object()
        finally:
            self.given_back += 1


Service = dependencies_of(Settings)


def _app(route_class: type[APIRoute], verifier: TokenVerifier, pool: Pool, app: FastAPI | None = None) -> FastAPI:
    router = APIRouter(prefix="/v1", route_class=route_class)

    @router.get("/affiliates/{numero}/debt")
    async def read(
        numero: AffiliatePath,
        principal: CurrentPrincipal,
        deps: Annotated[Settings, Depends(Service)],
        conn: Connection,
        page: Page,
        request: Request,
        response: Response,
    ) -> Response:
        require_affiliate(principal, numero)
        periods = [{"period": f"2026-{month:02d}"} for month in range(1, deps.periods + 1)]
        shown = page_of(periods, lambda p: [p["period"]], page, request, response)
        link = {"Link": response.headers["link"]} if "link" in response.headers else None
        body = json.dumps({"affiliate": numero, "by": principal.login, "periods": shown}).encode()
        return Response(body, media_type="application/json", headers=link)

    app = app or FastAPI()
    app.state.platform = SimpleNamespace(verifier=verifier, pool=pool)
    app.state.dependencies = Settings()
    install_problem_handlers(app)
    app.include_router(router)
    return app


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[TokenIssuer, TokenVerifier]:
    folder: Path = tmp_path_factory.mktemp("keys")
    generate_keypair(folder / "signing.pem", folder / "signing.pub.pem")
    issuer = TokenIssuer(
        (folder / "signing.pem").read_bytes(), issuer="test", audience="test", ttl=timedelta(minutes=15)
    )
    verifier = TokenVerifier((folder / "signing.pub.pem").read_bytes(), issuer="test", audience="test")
    return issuer, verifier


@pytest.fixture
def solved_by_fastapi(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The calls whose dependencies FastAPI solved: every APIRoute's, and a DirectRoute's only when its
    plan did not fit the call."""
    solved: list[Any] = []
    solve = fastapi.routing.solve_dependencies

    async def counted(**kwargs: Any) -> Any:
        solved.append(kwargs["dependant"].call)
        return await solve(**kwargs)

    monkeypatch.setattr(fastapi.routing, "solve_dependencies", counted)
    return solved


CALLS = [
    ("mine, whole", f"/v1/affiliates/{MINE}/debt", "valid", True),
    ("someone else's", f"/v1/affiliates/{THEIRS}/debt", "valid", True),
    ("no token", f"/v1/affiliates/{MINE}/debt", None, True),
    ("a token not signed by auth", f"/v1/affiliates/{MINE}/debt", "Bearer not.a.token", True),
    ("another scheme", f"/v1/affiliates/{MINE}/debt", "Basic dXNlcjpwYXNz", True),
    ("an empty bearer", f"/v1/affiliates/{MINE}/debt", "Bearer ", True),
    ("a number too short", "/v1/affiliates/123/debt", "valid", False),
    ("a number and a newline", f"/v1/affiliates/{MINE}%0A/debt", "valid", False),
    ("letters", "/v1/affiliates/12a4567/debt", "valid", False),
    ("a page", f"/v1/affiliates/{MINE}/debt?limit=2", "valid", False),
    ("a page without a token", f"/v1/affiliates/{MINE}/debt?limit=2", None, False),
    ("a limit of 0", f"/v1/affiliates/{MINE}/debt?limit=0", "valid", False),
    ("a cursor from nowhere", f"/v1/affiliates/{MINE}/debt?cursor=WyJ4Il0", "valid", False),
    ("a cursor of symbols", f"/v1/affiliates/{MINE}/debt?cursor=%21%21", "valid", False),
    ("an unknown parameter", f"/v1/affiliates/{MINE}/debt?x=1", "valid", False),
]


@pytest.mark.parametrize(("label", "path", "authorization", "direct"), CALLS, ids=[c[0] for c in CALLS])
async def test_a_call_is_answered_as_fastapi_answers_it(
    keys: tuple[TokenIssuer, TokenVerifier],
    solved_by_fastapi: list[Any],
    label: str,
    path: str,
    authorization: str | None,
    direct: bool,
) -> None:
    issuer, verifier = keys
    token, _ = issuer.issue(Principal(str(uuid.uuid4()), "a.login", frozenset({MINE})), datetime.now(UTC))
    headers = (
        {}
        if authorization is None
        else {"authorization": f"Bearer {token}" if authorization == "valid" else authorization}
    )
    answers, pools = [], []
    for route_class in (DirectRoute, APIRoute):
        pool = Pool()
        app = _app(route_class, verifier, pool)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            answers.append(await client.get(path, headers=headers))
        pools.append(pool)
    by_direct, by_fastapi = answers
    assert (by_direct.status_code, by_direct.content) == (by_fastapi.status_code, by_fastapi.content)
    for name in ("content-type", "link", "www-authenticate", "content-length"):
        assert by_direct.headers.get(name) == by_fastapi.headers.get(name), name
    assert pools[0] == pools[1]  # the same connections taken, at the same priority, all given back
    assert pools[0].given_back == len(pools[0].taken)
    # FastAPI solved the APIRoute's call, and the DirectRoute's only when the call did not fit its plan.
    assert len(solved_by_fastapi) == (1 if direct else 2)


async def test_the_whole_answers_and_their_status(keys: tuple[TokenIssuer, TokenVerifier]) -> None:
    """What the calls above compare, stated: so that two paths answering alike cannot both be wrong."""
    issuer, verifier = keys
    token, _ = issuer.issue(Principal(str(uuid.uuid4()), "a.login", frozenset({MINE})), datetime.now(UTC))
    pool = Pool()
    app = _app(DirectRoute, verifier, pool)
    bearer = {"authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        mine = await client.get(f"/v1/affiliates/{MINE}/debt", headers=bearer)
        theirs = await client.get(f"/v1/affiliates/{THEIRS}/debt", headers=bearer)
        nobody = await client.get(f"/v1/affiliates/{MINE}/debt")
        page = await client.get(f"/v1/affiliates/{MINE}/debt?limit=2", headers=bearer)
    assert mine.status_code == 200
    assert mine.json() == {
        "affiliate": MINE,
        "by": "a.login",
        "periods": [{"period": f"2026-0{m}"} for m in range(1, 6)],
    }
    assert (theirs.status_code, theirs.json()["code"]) == (404, "affilie-introuvable")
    assert (nobody.status_code, nobody.json()["code"], nobody.headers["www-authenticate"]) == (
        401,
        "non-authentifie",
        "Bearer",
    )
    assert [p["period"] for p in page.json()["periods"]] == ["2026-01", "2026-02"]
    assert 'rel="next"' in page.headers["link"]
    # A connection for each authenticated call (taken after the token is checked), each given back.
    assert pool.taken == [Priority.ORDINARY] * 3
    assert pool.given_back == 3


SERVED_BY_THEIR_PLANS = {
    "auth": {"DELETE /v1/sessions/current", "GET /v1/me/affiliates"},
    "debt": {"GET /v1/affiliates/{numero}/debt"},
    "simulation": {"GET /v1/simulations/{quote_id}", "GET /v1/programme"},
    "requests": {
        "GET /v1/conditions",
        "GET /v1/affiliates/{affiliate}/eligibility",
        "GET /v1/requests/{request_id}",
        "GET /v1/requests/{request_id}/contributions",
        "POST /v1/requests/{request_id}/withdrawal",
    },
    "debits": {"GET /v1/affiliates/{affiliate}/bank-accounts", "GET /v1/requests/{request_id}/debits"},
}
"""The routes each service serves by their plans; the others (a body, a query of their own) by FastAPI.
A parameter a plan cannot give would send a read back to FastAPI on every call, silently: this says."""


@pytest.mark.parametrize("service", sorted(SERVED_BY_THEIR_PLANS))
def test_each_services_reads_are_served_by_their_plans(service: str) -> None:
    router = importlib.import_module(f"services.{service}.entrypoints.http").router
    direct = {f"{method} {route.path}" for route in router.routes if route.plan is not None for method in route.methods}
    assert all(isinstance(route, DirectRoute) for route in router.routes)
    assert direct == SERVED_BY_THEIR_PLANS[service]


def test_the_debt_reads_plan_gives_what_its_handler_declares() -> None:
    [route] = [r for r in debt_router.routes if isinstance(r, DirectRoute)]
    assert route.plan is not None
    assert [step.name for step in route.plan.endpoint.steps] == ["principal", "deps", "conn", "page"]


def test_a_route_the_plan_cannot_serve_says_why() -> None:
    router = APIRouter(route_class=DirectRoute)

    @router.get("/query")
    async def takes_a_query(limit: int) -> dict[str, int]:
        return {"limit": limit}

    @router.get("/sync")
    def runs_on_a_thread() -> dict[str, int]:
        return {}

    @router.get("/header")
    async def reads_a_header(x_trace: Annotated[str, Header()]) -> dict[str, str]:
        return {"x": x_trace}

    reasons = {}
    for route in router.routes:
        assert isinstance(route, DirectRoute) and route.plan is None
        with pytest.raises(NotDirect) as refused:
            compile_route(route)
        reasons[route.path] = str(refused.value)
    assert "query parameters" in reasons["/query"]
    assert "not an async def" in reasons["/sync"]
    assert "header parameters" in reasons["/header"]


class Item(BaseModel):
    id: str
    amount: Decimal
    note: str | None = None


ITEMS = [{"id": f"{n:03d}", "amount": Decimal(f"{n}.50"), "secret": "never shown"} for n in range(1, 6)]


def _model_app(route_class: type[APIRoute]) -> FastAPI:
    router = APIRouter(prefix="/v1", route_class=route_class)

    @router.get("/items", response_model=list[Item], responses={200: {"headers": LINK_HEADER}})
    async def items(page: Page, request: Request, response: Response) -> list[dict[str, Any]]:
        return page_of(ITEMS, lambda i: [i["id"]], page, request, response)

    @router.get("/items/{number}", response_model=Item)
    async def item(number: int, response: Response) -> Any:
        if number == 0:
            return {"id": "zero"}  # no amount: the response model refuses it
        if number == 9:
            response.status_code = 203
            response.headers["x-from"] = "the sub-response"
        return Item(id=str(number), amount=Decimal("1.10"))

    app = FastAPI()
    install_problem_handlers(app)
    app.include_router(router)
    return app


@pytest.mark.parametrize(
    "path", ["/v1/items", "/v1/items?limit=2", "/v1/items/3", "/v1/items/9", "/v1/items/x", "/v1/items/-4"]
)
async def test_a_response_model_is_written_as_fastapi_writes_it(path: str) -> None:
    answers = []
    for route_class in (DirectRoute, APIRoute):
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=_model_app(route_class)), base_url="http://test"
        ) as client:
            answers.append(await client.get(path))
    by_direct, by_fastapi = answers
    assert (by_direct.status_code, by_direct.content) == (by_fastapi.status_code, by_fastapi.content)
    assert by_direct.headers.items() == by_fastapi.headers.items()
    assert b"never shown" not in by_direct.content


async def test_what_the_model_writes() -> None:
    """Stated, for the calls above: the list filtered by its model, the sub-response's status and header."""
    app = _model_app(DirectRoute)
    assert all(route.plan is not None for route in app.routes if isinstance(route, DirectRoute))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        listed = await client.get("/v1/items")
        nine = await client.get("/v1/items/9")
        with pytest.raises(ResponseValidationError):
            await client.get("/v1/items/0")
    assert listed.json()[0] == {"id": "001", "amount": "1.50", "note": None}
    assert (nine.status_code, nine.headers["x-from"], nine.json()["amount"]) == (203, "the sub-response", "1.10")


async def test_a_direct_call_has_the_same_server_span(keys: tuple[TokenIssuer, TokenVerifier]) -> None:
    """The SERVER span is FastAPI's, around the route: a call the plan serves is traced as before."""
    issuer, verifier = keys
    token, _ = issuer.issue(Principal(str(uuid.uuid4()), "a.login", frozenset({MINE})), datetime.now(UTC))
    spans = []
    for route_class in (DirectRoute, APIRoute):
        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        app = _app(route_class, verifier, Pool(), FastAPI(telemetry=server_spans(provider)))
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            answer = await client.get(
                f"/v1/affiliates/{MINE}/debt",
                headers={"authorization": f"Bearer {token}", "traceparent": f"00-{TRACE_ID}-00f067aa0ba902b7-01"},
            )
        assert answer.status_code == 200
        [span] = exporter.get_finished_spans()
        spans.append((span.name, f"{span.context.trace_id:032x}", dict(span.attributes or {})))
    assert spans[0] == spans[1]
    assert spans[0][:2] == ("GET /v1/affiliates/{numero}/debt", TRACE_ID)


QUOTE = "0b5e2a4c-7c1e-4d8e-9f57-2a6f3c1d9e10"


@pytest.mark.parametrize(
    ("quote_id", "direct"),
    [(QUOTE, True), (QUOTE.upper(), True), (QUOTE.replace("-", ""), True), ("not-a-quote", False), ("1" * 300, False)],
)
async def test_a_uuid_in_the_path_is_read_as_fastapi_reads_it(
    solved_by_fastapi: list[Any], quote_id: str, direct: bool
) -> None:
    answers = []
    for route_class in (DirectRoute, APIRoute):
        router = APIRouter(route_class=route_class)

        @router.get("/quotes/{quote_id}")
        async def read(quote_id: uuid.UUID) -> Response:
            return Response(json.dumps({"id": str(quote_id), "kind": type(quote_id).__name__}).encode())

        app = FastAPI()
        install_problem_handlers(app)
        app.include_router(router)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            answers.append(await client.get(f"/quotes/{quote_id}"))
    assert (answers[0].status_code, answers[0].content) == (answers[1].status_code, answers[1].content)
    assert answers[0].status_code == (200 if direct else 422)
    assert len(solved_by_fastapi) == (1 if direct else 2)


async def test_what_an_inclusion_adds_is_solved_too() -> None:
    """A router included with dependencies of its own (a check on every route), or into an app with
    overrides: the plan is the route's as included, not as declared."""
    answers = {}
    for route_class in (DirectRoute, APIRoute):
        router = APIRouter(route_class=route_class)

        @router.get("/x")
        async def read() -> Response:
            return Response(b"{}")

        async def deny() -> None:
            raise Problem(403, "interdit", "Interdit.")

        app = FastAPI()
        install_problem_handlers(app)
        app.include_router(router, prefix="/v1", dependencies=[Depends(deny)])
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            answers[route_class] = await client.get("/v1/x")
    assert answers[DirectRoute].status_code == answers[APIRoute].status_code == 403


async def test_an_apps_overrides_send_its_calls_to_fastapi() -> None:
    router = APIRouter(route_class=DirectRoute)

    async def who() -> str:
        return "declared"

    @router.get("/who")
    async def read(name: Annotated[str, Depends(who)]) -> Response:
        return Response(name.encode())

    app = FastAPI()
    app.include_router(router)

    async def overridden() -> str:
        return "overridden"

    app.dependency_overrides[who] = overridden
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        assert (await client.get("/who")).content == b"overridden"


async def _released_when_cancelled(route_class: type[APIRoute]) -> list[str]:
    released = []

    async def held() -> AsyncIterator[str]:
        try:
            yield "a connection"
        finally:
            await anyio.lowlevel.checkpoint()  # an await on the way out, as a pool's release has
            released.append("given back")

    router = APIRouter(route_class=route_class)

    @router.get("/slow")
    async def slow(conn: Annotated[str, Depends(held, scope="function")]) -> Response:
        await anyio.sleep(10)
        return Response(conn.encode())

    app = FastAPI()
    app.include_router(router)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        with anyio.move_on_after(0.05):
            await client.get("/slow")
    return released


@pytest.mark.parametrize("route_class", [DirectRoute, APIRoute])
async def test_a_cancelled_call_still_gives_its_connection_back(route_class: type[APIRoute]) -> None:
    """Cancelled from an anyio scope (every await inside it is cancelled again), a ``yield``
    dependency still runs its way out: FastAPI shields that exit, and the plan does too."""
    assert await _released_when_cancelled(route_class) == ["given back"]


@dataclass(eq=False)
class Checked:
    """A dependency that is an object with an async ``__call__``, declared without a name."""

    calls: list[str] = field(default_factory=list)

    async def __call__(self, request: Request) -> None:
        self.calls.append(request.url.path)


async def test_a_dependency_declared_without_a_name_is_called_and_gives_no_argument() -> None:
    for route_class in (DirectRoute, APIRoute):
        on_route, on_inclusion = Checked(), Checked()
        router = APIRouter(route_class=route_class)

        @router.get("/x", dependencies=[Depends(on_route)])
        async def read() -> Response:
            return Response(b"read")

        app = FastAPI()
        app.include_router(router, prefix="/v1", dependencies=[Depends(on_inclusion)])
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            answer = await client.get("/v1/x")
        assert (answer.status_code, answer.content) == (200, b"read"), route_class
        assert on_route.calls == on_inclusion.calls == ["/v1/x"], route_class
