"""Every service against its committed OpenAPI document (issue 17), by generated calls: schemathesis
draws requests from each operation's parameters and body schemas (valid ones, and edge values the
schemas allow) and sends them, with a valid token, to the running stack. For each answer:

- no 5xx, whatever was sent;
- the status is one the document declares, with its declared media type;
- the body validates against the schema the document gives that status (problem+json included);
- a request the schemas forbid (drawn on purpose) is refused with a 4xx, never served.

The affiliates and ids drawn are random, so most calls end in a 404 or a 422 of ours: that is the
point for the error paths; the documented happy paths are walked by the other e2e tests.
"""

import collections
import os
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi import checks as openapi_checks

from tests.e2e.conftest import RunningStack

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = int(os.environ.get("API_PROPERTY_EXAMPLES", "25"))
"""generated calls per operation (hypothesis' max_examples); `API_PROPERTY_EXAMPLES=200` for a longer run"""
CHECKS = [
    checks.not_a_server_error,
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.response_schema_conformance,
    openapi_checks.negative_data_rejection,
]
CALLS: collections.Counter[str] = collections.Counter()
TOKENS: dict[str, str] = {}


REJECTIONS = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429"]
"""what refusing invalid data may answer (schemathesis' list, with 413: a body over the limit)"""
CONFIG = SchemathesisConfig.from_dict({"checks": {"negative_data_rejection": {"expected-statuses": REJECTIONS}}})


def schema_of(service: str) -> Any:
    return schemathesis.openapi.from_path(ROOT / "contracts" / "openapi" / f"{service}.json", config=CONFIG)


def token(stack: RunningStack) -> str:
    """demo.groupe's: a token that holds several affiliates, as a gateway's user would."""
    if "groupe" not in TOKENS:
        session = httpx.post(f"{stack.auth}/v1/sessions", json={"login": "demo.groupe", "password": "Demo-2024!"})
        assert session.status_code == 201, session.text
        TOKENS["groupe"] = session.json()["access_token"]
    return TOKENS["groupe"]


def exercise(case: Any, stack: RunningStack, service: str) -> None:
    response = case.call(base_url=getattr(stack, service), headers={"Authorization": f"Bearer {token(stack)}"})
    CALLS[service] += 1
    case.validate_response(response, checks=CHECKS)


_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,  # the same calls every run: a failure in CI is found again at home
)

AUTH, DEBT, SIMULATION, REQUESTS, DEBITS = (schema_of(s) for s in ("auth", "debt", "simulation", "requests", "debits"))


@AUTH.parametrize()
@_SETTINGS
def test_auth(case: Any, stack: RunningStack) -> None:
    exercise(case, stack, "auth")


@DEBT.parametrize()
@_SETTINGS
def test_debt(case: Any, stack: RunningStack) -> None:
    exercise(case, stack, "debt")


@SIMULATION.parametrize()
@_SETTINGS
def test_simulation(case: Any, stack: RunningStack) -> None:
    exercise(case, stack, "simulation")


@REQUESTS.parametrize()
@_SETTINGS
def test_requests(case: Any, stack: RunningStack) -> None:
    exercise(case, stack, "requests")


@DEBITS.parametrize()
@_SETTINGS
def test_debits(case: Any, stack: RunningStack) -> None:
    exercise(case, stack, "debits")


def test_the_generated_calls_reached_every_service() -> None:
    """Runs after the generated tests (pytest keeps the file's order): they did call, and how much."""
    print(f"\nschemathesis: {sum(CALLS.values())} generated calls: {dict(CALLS)}")
    assert set(CALLS) == {"auth", "debt", "simulation", "requests", "debits"}, CALLS
