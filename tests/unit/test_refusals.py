"""One refusal type, one mapping: every kind answers its own status, figures stay structured, and a
refusal that says how long to wait says it as ``Retry-After`` too."""

import json

import pytest

from contracts.refusals import Refusal, RefusalKind
from services.runtime.problems import problem_of


@pytest.mark.parametrize(
    ("kind", "status"),
    [
        ("conflict", 409),
        ("invalid", 422),
        ("not-found", 404),
        ("unauthenticated", 401),
        ("locked", 423),
        ("throttled", 429),
    ],
)
def test_each_kind_answers_its_status(kind: RefusalKind, status: int) -> None:
    response = problem_of(Refusal("un-code", "Une phrase.", kind=kind, minimum="100.00")).response("/v1/x")
    assert response.status_code == status
    assert response.media_type == "application/problem+json"
    assert json.loads(response.body) == {
        "type": "https://recouvrement.cnss.ma/problemes/un-code",
        "status": status,
        "code": "un-code",
        "title": "Une phrase.",
        "instance": "/v1/x",
        "minimum": "100.00",
    }
    assert "retry-after" not in response.headers


def test_a_refusal_that_says_how_long_to_wait_says_it_as_a_header() -> None:
    response = problem_of(Refusal("trop-de-tentatives", "Trop.", kind="throttled", retry_after=7)).response()
    assert response.headers["retry-after"] == "7"
    assert json.loads(response.body)["retry_after"] == 7
