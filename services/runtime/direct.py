"""Reads served without FastAPI's per-call solving of their dependencies, when the call is the common
one; by FastAPI otherwise. One handler, the same answers.

Why: FastAPI solves a route's dependencies anew on every call, walking the tree of its dependencies,
building a cache key and running a validation for each parameter. For the debt read (the bearer
token, a pooled connection, the service's settings, the paging) that was about a quarter of the
service's CPU per call: 93 of the 128 µs its route took in a loop of ASGI calls
(``bench.http_dependencies``), and 1,947 → 2,679 req/s served (``bench.debt_http``, 2026-12-08).

A route of class ``DirectRoute`` is declared as any other: its signature documents it (OpenAPI) and
tells FastAPI what to check. When the route is built, its dependencies are compiled into a plan, if
every one of them is of a kind this module resolves as FastAPI does (below). A call with no query
string, whose path parameters FastAPI would accept, is then served by the plan: the same dependency
functions, called in the same order with the same arguments, the same endpoint, and what it returns
written as FastAPI writes it. Any other call (a query, a path parameter FastAPI refuses with its 422,
an app with dependency overrides) is served by FastAPI, whose answers are the reference.

What a plan resolves: the request and the response; ``async def`` dependencies, objects whose
``__call__`` is ``async`` (FastAPI's ``HTTPBearer``) and ``yield`` dependencies of
``scope="function"`` (entered in the call's own stack, their exit shielded from cancellation, and
left once the answer is made, before it is written, as FastAPI does); query parameters that have a
plain default (a call without a query string gets the defaults); path parameters, checked by
FastAPI's own field for each. What an endpoint returns: a ``Response`` as it is; anything else
through the route's response model, by FastAPI's own ``serialize_response``, with the route's status
and the sub-response's status and headers (a page's ``Link``). Not: headers, cookies, bodies,
security scopes, background tasks, plain ``def`` dependencies or endpoints (FastAPI runs those on a
thread), ``yield`` dependencies of the request's scope, an endpoint without a response model that
returns something else than a ``Response``, a response class of its own: a route with any of them is
served by FastAPI on every call, and ``compile_route`` says why (``tests/unit/test_direct_routes.py``
holds each service's reads to a plan).

FastAPI is pinned (``pyproject.toml``): the plan reads its ``Dependant`` and, for a route included in
a router, the route as that inclusion made it (a private context variable, read as FastAPI's own
``get_route_handler`` reads it); the tests compare the two paths' answers call by call, so an
upgrade that changes either shows there.
"""

import functools
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

from anyio import CancelScope
from fastapi._compat import ModelField
from fastapi.datastructures import DefaultPlaceholder
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, _effective_route_context_var, serialize_response
from fastapi.utils import is_body_allowed_for_status_code
from starlette.requests import Request
from starlette.responses import Response


class NotDirect(Exception):
    """What keeps a route from a plan (the reason is the message)."""


@dataclass(frozen=True, slots=True)
class _Step:
    """One dependency: its callable, the arguments it takes, and the dependencies those come from."""

    name: str | None
    call: Callable[..., Any]
    yields: bool
    defaults: tuple[tuple[str, Any], ...]
    request_names: tuple[str, ...]
    """the parameters given the request (declared as a ``Request`` or an ``HTTPConnection``)"""
    response_name: str | None
    steps: "tuple[_Step, ...]"
    use_cache: bool

    async def arguments(
        self, request: Request, response: Response, stack: AsyncExitStack, cache: dict[Any, Any]
    ) -> dict[str, Any]:
        """What this dependency (or the endpoint) is called with: its query defaults, the request and the
        response where it asks for them, and its own dependencies' values, each in its order. One
        declared in ``dependencies=[...]`` has no name: it is called for what it checks, and gives none."""
        arguments = dict(self.defaults)
        for name in self.request_names:
            arguments[name] = request
        if self.response_name is not None:
            arguments[self.response_name] = response
        for step in self.steps:
            value = await step.value(request, response, stack, cache)
            if step.name is not None:
                arguments[step.name] = value
        return arguments

    async def value(self, request: Request, response: Response, stack: AsyncExitStack, cache: dict[Any, Any]) -> Any:
        key = id(self.call)  # the dependency itself, by identity (the plan holds it: its id stays its own)
        if self.use_cache and key in cache:  # as FastAPI: one value per dependency and call
            return cache[key]
        arguments = await self.arguments(request, response, stack, cache)
        if self.yields:
            found = await stack.enter_async_context(_exit_shielded(asynccontextmanager(self.call)(**arguments)))
        else:
            found = await self.call(**arguments)
        if self.use_cache:
            cache[key] = found
        return found


@dataclass(frozen=True, slots=True)
class Serializer:
    """What FastAPI makes of an endpoint's return that is not a ``Response``: validated against the
    route's response model and written as JSON by FastAPI's own ``serialize_response`` (``write``, the
    route's options bound), with the route's status unless the sub-response set one, and the headers
    the endpoint set on its sub-response."""

    write: Callable[[Any], Awaitable[Any]]
    status_code: int | None

    async def answer(self, returned: Any, response: Response) -> Response:
        answer = Response(await self.write(returned), media_type="application/json")
        status = response.status_code or self.status_code  # as FastAPI: the sub-response's, if set, wins
        if status is not None:
            answer.status_code = status
        if not is_body_allowed_for_status_code(answer.status_code):
            answer.body = b""
        answer.headers.raw.extend(response.headers.raw)
        return answer


def sub_response() -> Response:
    """The response a handler may set headers or a status on, as FastAPI gives it: no length, no status."""
    response = Response()
    del response.headers["content-length"]
    response.status_code = None  # type: ignore[assignment]
    return response


@dataclass(frozen=True, slots=True)
class Plan:
    """A route's dependencies, compiled: what its endpoint is given on a direct call, and how what it
    returns becomes the answer (``serializer``; None: it returns a ``Response``)."""

    endpoint: _Step
    paths: tuple[ModelField, ...]
    serializer: Serializer | None

    def path_values(self, request: Request) -> dict[str, Any] | None:
        """The path parameters as FastAPI validates them (its own field, the same check), or None when
        the call is not one for the plan: a query string, or a path parameter FastAPI would refuse."""
        if request.scope["query_string"]:
            return None
        values = {}
        for field in self.paths:
            value, errors = field.validate(request.path_params[field.alias], {}, loc=("path", field.alias))
            if errors:
                return None
            values[field.name] = value
        return values

    async def arguments(
        self, request: Request, paths: dict[str, Any], response: Response, stack: AsyncExitStack
    ) -> dict[str, Any]:
        return paths | await self.endpoint.arguments(request, response, stack, cache={})


@asynccontextmanager
async def _exit_shielded(dependency: AbstractAsyncContextManager[Any]) -> AsyncIterator[Any]:
    """A ``yield`` dependency whose exit no cancellation interrupts, as FastAPI shields it: a pooled
    connection is given back even when the call is cancelled (a server stopping, an anyio scope)."""
    value = await dependency.__aenter__()
    try:
        yield value
    except BaseException as exc:
        with CancelScope(shield=True):
            if not await dependency.__aexit__(type(exc), exc, exc.__traceback__):
                raise
    else:
        with CancelScope(shield=True):
            await dependency.__aexit__(None, None, None)


IMMUTABLE = (type(None), bool, int, float, str, bytes)
"""defaults given as they are: FastAPI gives a copy of a default, the same thing for these"""


def compile_route(route: Any) -> Plan:
    """The plan of ``route`` (an ``APIRoute``, or the route as a router included it: FastAPI's
    ``_EffectiveRouteContext``, whose dependant has the inclusion's dependencies too), or
    ``NotDirect`` saying which of its parts FastAPI must solve."""
    if not inspect.iscoroutinefunction(route.endpoint):
        raise NotDirect(f"{route.name} is not an async def (FastAPI runs it on a thread, or streams it)")
    serializer = None
    if inspect.signature(route.endpoint).return_annotation is not Response:
        if route.response_field is None or not isinstance(route.response_class, DefaultPlaceholder):
            raise NotDirect(f"{route.name} returns neither a Response nor a response model FastAPI writes as JSON")
        write = functools.partial(
            serialize_response,
            field=route.response_field,
            include=route.response_model_include,
            exclude=route.response_model_exclude,
            by_alias=route.response_model_by_alias,
            exclude_unset=route.response_model_exclude_unset,
            exclude_defaults=route.response_model_exclude_defaults,
            exclude_none=route.response_model_exclude_none,
            is_coroutine=True,
            dump_json=True,
        )
        serializer = Serializer(lambda returned: write(response_content=returned), route.status_code)
    dependant = route.dependant
    if dependant.query_params:
        raise NotDirect(f"{route.name} takes query parameters itself (declare them in a dependency, with defaults)")
    return Plan(_step(dependant, route.name, top=True), tuple(dependant.path_params), serializer)


def _step(dependant: Dependant, where: str, *, top: bool = False) -> _Step:
    call = dependant.call
    label = f"{where}: {dependant.name or getattr(call, '__name__', call)}"
    if call is None:
        raise NotDirect(f"{label} has nothing to call")
    unsupported = {
        "header parameters": dependant.header_params,
        "cookie parameters": dependant.cookie_params,
        "a body": dependant.body_params,
        "security scopes": dependant.security_scopes_param_name,
        "background tasks": dependant.background_tasks_param_name,
        "a websocket": dependant.websocket_param_name,
        "path parameters": None if top else dependant.path_params,
    }
    for what, found in unsupported.items():
        if found:
            raise NotDirect(f"{label} takes {what}")
    yields = inspect.isasyncgenfunction(call)
    if yields and dependant.scope != "function":
        raise NotDirect(f"{label} yields in the request's scope (it would be left after the answer is written)")
    if not (top or yields or inspect.iscoroutinefunction(call) or inspect.iscoroutinefunction(type(call).__call__)):
        raise NotDirect(f"{label} is not async (FastAPI runs it on a thread)")
    defaults = []
    for field in dependant.query_params:
        default = field.get_default()
        if field.field_info.is_required() or field.field_info.validate_default or not isinstance(default, IMMUTABLE):
            raise NotDirect(f"{label}: query parameter {field.alias} has no plain default")
        defaults.append((field.name, default))
    return _Step(
        name=dependant.name,
        call=call,
        yields=yields,
        defaults=tuple(defaults),
        request_names=tuple(
            name for name in (dependant.request_param_name, dependant.http_connection_param_name) if name is not None
        ),
        response_name=dependant.response_param_name,
        steps=tuple(_step(sub, where) for sub in dependant.dependencies),
        use_cache=dependant.use_cache,
    )


Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class DirectRoute(APIRoute):
    """A route served by its plan when the call fits it, by FastAPI otherwise (see the module)."""

    plan: Plan | None = None

    def get_route_handler(self) -> Handler:
        by_fastapi = super().get_route_handler()
        # FastAPI builds a route's handler again for each router that includes it, with that
        # inclusion's prefix, dependencies and overrides provider (the app): the plan must be the
        # route's as included, as FastAPI's handler is, or an inclusion's check would be skipped.
        included = _effective_route_context_var.get()
        route: Any = included if included is not None and included.original_route is self else self
        try:
            plan = compile_route(route)
        except NotDirect:
            return by_fastapi
        self.plan = plan
        endpoint = plan.endpoint.call
        overrides = route.dependency_overrides_provider

        async def handler(request: Request) -> Response:
            paths = plan.path_values(request)
            if paths is None or getattr(overrides, "dependency_overrides", None):
                return await by_fastapi(request)
            response = sub_response()
            # The call's yield dependencies are left once the answer is made, before it is written.
            async with AsyncExitStack() as stack:
                returned = await endpoint(**await plan.arguments(request, paths, response, stack))
                if isinstance(returned, Response) or plan.serializer is None:
                    answer: Response = returned
                else:
                    answer = await plan.serializer.answer(returned, response)
            return answer

        return handler
