"""The services' HTTP APIs as the portal calls them: one client, the caller's token, one span per call.

Nothing here decides anything: answers come back as the services' JSON, refusals as ``ServiceRefusal``
with the service's stable code and French message, and anything else (a service down, a 5xx, a
timeout) as ``ServiceUnavailable``, which pages turn into a readable message instead of a 5xx of ours.
"""

import time
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import httpx
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from services.portal.config import PortalSettings

tracer = trace.get_tracer("services.portal.api")

PUBLIC_CACHE_SECONDS = 60.0


@dataclass
class ServiceRefusal(Exception):
    """A 4xx problem+json from a service: a user's situation, not a failure."""

    status: int
    code: str
    message: str
    extra: dict[str, Any] = field(default_factory=dict)


class ServiceUnavailable(Exception):
    """The service did not answer usefully (down, timeout, 5xx)."""

    def __init__(self, service: str, reason: str) -> None:
        super().__init__(f"{service}: {reason}")
        self.service = service


class SessionExpired(Exception):
    """A service refused the token (401): the session is over, the user logs in again."""


def _refusal(response: httpx.Response) -> ServiceRefusal:
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    known = {"type", "title", "status", "detail", "code", "instance"}
    message = " ".join(part for part in (body.get("title"), body.get("detail")) if part) or response.reason_phrase
    return ServiceRefusal(
        status=response.status_code,
        code=str(body.get("code") or f"http-{response.status_code}"),
        message=message,
        extra={k: v for k, v in body.items() if k not in known},
    )


class Services:
    """The six services behind the portal, reached over one pooled ``httpx.AsyncClient``."""

    def __init__(self, settings: PortalSettings, client: httpx.AsyncClient) -> None:
        self.client = client
        self.urls = {
            "auth": settings.auth_url.rstrip("/"),
            "debt": settings.debt_url.rstrip("/"),
            "simulation": settings.simulation_url.rstrip("/"),
            "requests": settings.requests_url.rstrip("/"),
            "debits": settings.debits_url.rstrip("/"),
            "notifications": settings.notifications_url.rstrip("/"),
        }
        self._public: dict[str, tuple[float, Any]] = {}

    async def _public_cached(self, service: str, path: str) -> Any:
        """The programme and the CG change only with a deployment: one call a minute is enough."""
        key = service + path
        cached = self._public.get(key)
        if cached is not None and time.monotonic() - cached[0] < PUBLIC_CACHE_SECONDS:
            return cached[1]
        answer = await self.call(service, "GET", path)
        self._public[key] = (time.monotonic(), answer)
        return answer

    @classmethod
    def client_for(cls, settings: PortalSettings) -> httpx.AsyncClient:
        limits = httpx.Limits(
            max_connections=settings.upstream_connections, max_keepalive_connections=settings.upstream_connections
        )
        return httpx.AsyncClient(timeout=settings.upstream_timeout_seconds, limits=limits)

    async def call(
        self,
        service: str,
        method: str,
        path: str,
        token: str | None = None,
        json: Any = None,
        forwarded_for: str | None = None,
        **params: str,
    ) -> Any:
        headers: dict[str, str] = {"accept": "application/json"}
        if forwarded_for is not None:
            headers["x-forwarded-for"] = forwarded_for
        if token is not None:
            headers["authorization"] = f"Bearer {token}"
        with tracer.start_as_current_span(
            f"{method} {service}", kind=SpanKind.CLIENT, attributes={"http.method": method, "peer.service": service}
        ) as span:
            propagate.inject(headers)  # the service's spans join the page's trace
            try:
                response = await self.client.request(
                    method, self.urls[service] + path, headers=headers, json=json, params=params or None
                )
            except httpx.HTTPError as error:
                span.set_status(Status(StatusCode.ERROR, type(error).__name__))
                raise ServiceUnavailable(service, type(error).__name__) from error
            span.set_attribute("http.status_code", response.status_code)
            if response.status_code >= 500:
                span.set_status(Status(StatusCode.ERROR))
                raise ServiceUnavailable(service, f"HTTP {response.status_code}")
            if response.status_code == 401 and token is not None:
                raise SessionExpired
            if response.status_code >= 400:
                raise _refusal(response)
            return response.json() if response.content else None  # a 204 (logout) has no body

    # auth
    async def login(self, login: str, password: str, address: str) -> Any:
        """``address``: the user's, for auth's limits and lockout (auth believes it from the portal only)."""
        body = {"login": login, "password": password}
        return await self.call("auth", "POST", "/v1/sessions", json=body, forwarded_for=address)

    async def refresh(self, refresh_token: str) -> Any:
        """The next access and refresh tokens; a ServiceRefusal (401 session-invalide) when the session is over."""
        return await self.call("auth", "POST", "/v1/sessions/refresh", json={"refresh_token": refresh_token})

    async def logout(self, token: str) -> None:
        """Ends the session at auth (its refresh tokens no longer serve)."""
        await self.call("auth", "DELETE", "/v1/sessions/current", token)

    # debt
    async def debt(self, token: str, affiliate: str) -> Any:
        return await self.call("debt", "GET", f"/v1/affiliates/{affiliate}/debt", token)

    # requests
    async def eligibility(self, token: str, affiliate: str) -> Any:
        return await self.call("requests", "GET", f"/v1/affiliates/{affiliate}/eligibility", token)

    async def conditions(self) -> Any:
        return await self._public_cached("requests", "/v1/conditions")

    async def requests_of(self, token: str, affiliate: str) -> Any:
        return await self.call("requests", "GET", "/v1/requests", token, affiliate=affiliate)

    async def request(self, token: str, request_id: UUID) -> Any:
        return await self.call("requests", "GET", f"/v1/requests/{request_id}", token)

    async def create_request(self, token: str, affiliate: str) -> Any:
        return await self.call("requests", "POST", "/v1/requests", token, json={"affiliate": affiliate})

    async def choose_modality(self, token: str, request_id: UUID, modality: str, guarantees_accepted: bool) -> Any:
        body = {"modality": modality, "guarantee_obligation_accepted": guarantees_accepted}
        return await self.call("requests", "PUT", f"/v1/requests/{request_id}/modality", token, json=body)

    async def choose_bank_account(self, token: str, request_id: UUID, account_id: str) -> Any:
        body = {"bank_account_id": account_id}
        return await self.call("requests", "PUT", f"/v1/requests/{request_id}/bank-account", token, json=body)

    async def validate(
        self, token: str, request_id: UUID, quote_id: UUID, cg_version: str, seal: str | None = None
    ) -> Any:
        body = {"quote_id": str(quote_id), "cg_version": cg_version, "cg_accepted": True, "quote_seal": seal}
        return await self.call("requests", "POST", f"/v1/requests/{request_id}/validation", token, json=body)

    async def withdraw(self, token: str, request_id: UUID) -> Any:
        return await self.call("requests", "POST", f"/v1/requests/{request_id}/withdrawal", token)

    # simulation
    async def programme(self) -> Any:
        return await self._public_cached("simulation", "/v1/programme")

    async def simulate(
        self, token: str, affiliate: str, modality: str, advance: str | None, installments: int | None
    ) -> Any:
        body: dict[str, Any] = {"affiliate": affiliate, "modality": modality}
        if modality == "INSTALLMENTS":
            body |= {"advance": advance or "0.00", "installments": installments}
        return await self.call("simulation", "POST", "/v1/simulations", token, json=body)

    async def quote(self, token: str, quote_id: UUID) -> Any:
        return await self.call("simulation", "GET", f"/v1/simulations/{quote_id}", token)

    async def options(self, token: str, affiliate: str, monthly_budget: str | None) -> Any:
        body: dict[str, Any] = {"affiliate": affiliate, "monthly_budget": monthly_budget}
        return await self.call("simulation", "POST", "/v1/simulations/options", token, json=body)

    # debits
    async def bank_accounts(self, token: str, affiliate: str) -> Any:
        return await self.call("debits", "GET", f"/v1/affiliates/{affiliate}/bank-accounts", token)

    async def contributions_of(self, token: str, request_id: UUID) -> Any:
        """The plan's current contributions (article 2) as requests judges them today."""
        return await self.call("requests", "GET", f"/v1/requests/{request_id}/contributions", token)

    async def notifications_of(self, token: str, affiliate: str) -> Any:
        """What the affiliate was told, newest first (one page: the latest 100)."""
        return await self.call("notifications", "GET", f"/v1/affiliates/{affiliate}/notifications?limit=100", token)

    async def debits_of(self, token: str, request_id: UUID) -> Any:
        return await self.call("debits", "GET", f"/v1/requests/{request_id}/debits", token)
