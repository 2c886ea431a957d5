"""What a service's OpenAPI document says of errors and tokens, made true.

FastAPI documents a 422 answered with its own ``HTTPValidationError``; our services answer every
error as ``application/problem+json`` with a stable ``code`` (``runtime/problems.py``). The document
gateways build on (committed in ``contracts/openapi/``) must describe what they get: each operation's
422 is a problem with its ``errors``, a 400 where a body is read (invalid JSON), a 401 where a token
is required, and ``default`` covers the others (404, 409, 429, 503…), each with its code. Our token
check is FastAPI's bearer scheme, so it marks the operations that need one; their POSTs take the
``Idempotency-Key`` header, read by a middleware FastAPI does not see.
"""

from typing import Any

from fastapi import FastAPI

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
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": (
        "1 to 255 visible ASCII characters, chosen by the client for this request (a UUID). Sent again with the same "
        "request within IDEMPOTENCY_KEY_HOURS (24), it gets the first answer again, status and body, with "
        "`Idempotent-Replayed: true`; with another request, 422 `cle-idempotence-reutilisee`; while the first is "
        "still served, 409 `requete-en-cours` (Retry-After). Keys are the caller's own (runtime/idempotency.py)."
    ),
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"},
}
"""read by a middleware FastAPI does not see: documented on each POST that takes a token"""


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM_JSON: {"schema": _PROBLEM_REF}}}


def complete_document(app: FastAPI) -> None:
    """Rewrites the app's generated document once, when it is first asked for."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            _rewrite(generate())
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = openapi  # type: ignore[method-assign]


def _rewrite(document: dict[str, Any]) -> None:
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name in _FASTAPI_ERRORS:
        schemas.pop(name, None)
    schemas["Problem"] = PROBLEM_SCHEMA
    for item in document.get("paths", {}).values():
        for method, operation in item.items():
            responses = operation.setdefault("responses", {})
            if "security" in operation:  # depends on the token check (runtime/http.py: _BEARER)
                if method == "post":
                    operation.setdefault("parameters", []).append(IDEMPOTENCY_KEY)
                responses["401"] = _problem("Jeton absent, invalide ou expiré (`non-authentifie`, `jeton-invalide`)")
            if "422" in responses:
                responses["422"] = _problem("Valeurs invalides (`requete-invalide`), champ par champ dans `errors`")
            if "requestBody" in operation:
                responses["400"] = _problem("Le corps n'est pas un JSON valide (`json-invalide`)")
            responses["default"] = _problem("Toute autre erreur, avec son `code` stable (docs/gateways.md)")
            for status, response in responses.items():  # those a route declares itself (423, 429…)
                if status.startswith(("4", "5")):
                    response["content"] = {PROBLEM_JSON: {"schema": _PROBLEM_REF}}
