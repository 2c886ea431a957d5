"""What a service's OpenAPI document says of errors and tokens, made true.

FastAPI documents a 422 answered with its own ``HTTPValidationError``; our services answer every
error as ``application/problem+json`` with a stable ``code`` (``runtime/problems.py``). The document
gateways build on (committed in ``contracts/openapi/``) must describe what they get: each operation's
422 is a problem with its ``errors``, a 400 where a body is read (invalid JSON), a 401 where a token
is required, and ``default`` covers the others (404, 409, 429, 503…), each with its code. Our token
check is a dependency of our own, which FastAPI cannot see as a security scheme: the operations that
depend on it are marked ``bearer`` here.
"""

from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from services.runtime.problems import PROBLEM_JSON

_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": (
        "RFC 9457. `code` is stable (programs test it); `title` and `detail` are for people; the figures "
        "a refusal is about are fields of their own (amounts as decimal strings, dates ISO 8601)."
    ),
    "type": "object",
    "required": ["type", "status", "code", "title"],
    "properties": {
        "type": {"type": "string", "description": "https://recouvrement.cnss.ma/problemes/<code>"},
        "status": {"type": "integer"},
        "code": {"type": "string", "examples": ["devis-introuvable", "requete-invalide", "service-sature"]},
        "title": {"type": "string"},
        "detail": {"type": "string"},
        "instance": {"type": "string", "description": "the path called"},
        "errors": {
            "type": "array",
            "description": "with `requete-invalide`: each field in error",
            "items": {
                "type": "object",
                "required": ["field", "code", "message"],
                "properties": {
                    "field": {"type": "string"},
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                },
            },
        },
    },
    "additionalProperties": True,
}
_FASTAPI_ERRORS = ("HTTPValidationError", "ValidationError")


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM_JSON: {"schema": _PROBLEM_REF}}}


def complete_document(app: FastAPI, bearer: Callable[..., Any]) -> None:
    """Rewrites the app's generated document once, when it is first asked for; ``bearer`` is the
    dependency that reads and checks the access token."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            _rewrite(generate(), _secured(app, bearer))
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = openapi  # type: ignore[method-assign]


def _calls(dependant: Dependant) -> Iterator[Any]:
    for dependency in dependant.dependencies:
        yield dependency.call
        yield from _calls(dependency)


def _secured(app: FastAPI, bearer: Callable[..., Any]) -> set[tuple[str, str]]:
    """(path, method) of each operation that depends on the token check, however deep"""
    return {
        (route.path, method.lower())
        for route in app.routes
        if isinstance(route, APIRoute) and bearer in _calls(route.dependant)
        for method in route.methods or ()
    }


def _rewrite(document: dict[str, Any], secured: set[tuple[str, str]]) -> None:
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for name in _FASTAPI_ERRORS:
        schemas.pop(name, None)
    schemas["Problem"] = PROBLEM_SCHEMA
    if secured:
        components["securitySchemes"] = {
            "bearer": {
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "JWT",
                "description": "the access token `POST /v1/sessions` (auth) returns",
            }
        }
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            responses = operation.setdefault("responses", {})
            if (path, method) in secured:
                operation["security"] = [{"bearer": []}]
                responses["401"] = _problem("Jeton absent, invalide ou expiré (`non-authentifie`, `jeton-invalide`)")
            if "422" in responses:
                responses["422"] = _problem("Valeurs invalides (`requete-invalide`), champ par champ dans `errors`")
            if "requestBody" in operation:
                responses["400"] = _problem("Le corps n'est pas un JSON valide (`json-invalide`)")
            responses["default"] = _problem("Toute autre erreur, avec son `code` stable (docs/gateways.md)")
            for status, response in responses.items():  # those a route declares itself (423, 429…)
                if status.startswith(("4", "5")):
                    response["content"] = {PROBLEM_JSON: {"schema": _PROBLEM_REF}}
