"""The HTTP contract gateways build on (issue 17): each service's OpenAPI document is committed in
``contracts/openapi/`` and checked, like the topics' schemas.

- up to date: a change of an endpoint fails here until ``make schemas`` rewrites its document, so the
  change shows in review as a diff of the contract;
- compatible: the committed documents against a baseline (``CONTRACTS_BASELINE_REF``, e.g.
  ``origin/main`` in a merge request's pipeline; without it, the documents on disk): a breaking change
  within ``/v1`` fails with one line per break (``openapi_compat``);
- the checker itself, failing on each kind of break made on purpose in a real document.
"""

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.unit.openapi_compat import breaking_changes, operations

ROOT = Path(__file__).resolve().parents[2]
OPENAPI_DIR = "contracts/openapi"
SERVICES = ("auth", "debt", "simulation", "requests", "debits")


def committed(name: str) -> dict[str, Any]:
    return json.loads((ROOT / OPENAPI_DIR / f"{name}.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def test_committed_documents_are_those_the_apps_generate() -> None:
    """In a process of its own: building the apps sets up their logging and tracing."""
    result = subprocess.run(
        [sys.executable, "-m", "services.stack.openapi", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"{result.stderr[-2000:]}\nRun `make schemas` and commit contracts/openapi/."


def test_every_service_commits_its_document_and_every_error_is_a_problem() -> None:
    for name in SERVICES:
        document = committed(name)
        assert document["info"]["version"] == "1"
        assert "HTTPValidationError" not in document["components"]["schemas"]  # we never answer it
        for operation_name, operation in operations(document).items():
            for status, response in operation["responses"].items():
                if status == "default" or status.startswith(("4", "5")):
                    assert list(response["content"]) == ["application/problem+json"], (name, operation_name, status)
            assert "default" in operation["responses"], (name, operation_name)


def _baseline(name: str) -> dict[str, Any]:
    revision = os.environ.get("CONTRACTS_BASELINE_REF")
    if not revision:
        return committed(name)
    shown = subprocess.run(
        ["git", "show", f"{revision}:{OPENAPI_DIR}/{name}.json"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    if shown.returncode != 0:  # the baseline predates the committed documents
        pytest.skip(f"no {OPENAPI_DIR}/{name}.json at {revision}")
    return json.loads(shown.stdout)  # type: ignore[no-any-return]


@pytest.mark.parametrize("name", SERVICES)
def test_committed_documents_stay_compatible_within_v1(name: str) -> None:
    problems = breaking_changes(_baseline(name), committed(name))
    assert not problems, "breaking change within /v1 (make it a /v2 operation instead):\n" + "\n".join(problems)


# --- the checker, on deliberate breaks of the real requests document ------------------------------

CREATE = "/v1/requests"
ONE = "/v1/requests/{request_id}"


@pytest.fixture
def document() -> dict[str, Any]:
    return committed("requests")


def broken(document: dict[str, Any], change: Any) -> list[str]:
    after = copy.deepcopy(document)
    change(after)
    return breaking_changes(document, after)


def test_the_checker_passes_the_document_against_itself(document: dict[str, Any]) -> None:
    assert breaking_changes(document, copy.deepcopy(document)) == []


def test_a_removed_operation_or_status_breaks(document: dict[str, Any]) -> None:
    assert broken(document, lambda d: d["paths"][ONE].pop("get")) == [f"GET {ONE}: operation removed"]
    assert broken(document, lambda d: d["paths"].pop(f"{ONE}/validation")) == [
        f"POST {ONE}/validation: operation removed"
    ]
    assert broken(document, lambda d: d["paths"][CREATE]["post"]["responses"].pop("201")) == [
        f"POST {CREATE}: response 201 removed"
    ]


def test_a_response_field_removed_or_retyped_breaks(document: dict[str, Any]) -> None:
    def remove_state(d: dict[str, Any]) -> None:
        d["components"]["schemas"]["RequestOut"]["properties"].pop("state")

    lines = broken(document, remove_state)
    assert f"POST {CREATE}: response 201 application/json /state: property removed" in lines
    assert f"GET {ONE}: response 200 application/json /state: property removed" in lines

    def retype_affiliate(d: dict[str, Any]) -> None:
        d["components"]["schemas"]["RequestOut"]["properties"]["affiliate"] = {"type": "integer"}

    assert any(
        line.startswith(f"GET {ONE}: response 200 application/json /affiliate: ") and "type changed" in line
        for line in broken(document, retype_affiliate)
    )


def test_a_newly_required_input_breaks(document: dict[str, Any]) -> None:
    def require_channel(d: dict[str, Any]) -> None:
        body = d["components"]["schemas"]["NewRequest"]
        body["properties"]["channel"] = {"type": "string"}
        body["required"].append("channel")

    assert broken(document, require_channel) == [
        f"POST {CREATE}: request application/json /channel: new required property (only optional properties "
        "may be added)"
    ]

    def require_query(d: dict[str, Any]) -> None:
        d["paths"][CREATE]["get"]["parameters"].append(
            {"name": "state", "in": "query", "required": True, "schema": {"type": "string"}}
        )

    assert broken(document, require_query) == [f"GET {CREATE}: new required query parameter state"]


def test_additions_do_not_break(document: dict[str, Any]) -> None:
    def add(d: dict[str, Any]) -> None:
        d["paths"]["/v1/requests/{request_id}/notes"] = copy.deepcopy(d["paths"][ONE])
        d["components"]["schemas"]["RequestOut"]["properties"]["channel"] = {"type": "string"}
        d["components"]["schemas"]["RequestOut"]["required"].append("channel")  # a new field in an answer
        d["components"]["schemas"]["NewRequest"]["properties"]["note"] = {"type": "string"}  # optional input
        d["paths"][CREATE]["get"]["parameters"].append(
            {"name": "etat", "in": "query", "required": False, "schema": {"type": "string"}}
        )
        d["paths"][CREATE]["post"]["responses"]["202"] = {"description": "accepted"}

    assert broken(document, add) == []
