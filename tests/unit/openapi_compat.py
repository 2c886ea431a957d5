"""Breaking changes between two OpenAPI documents of one service, as a gateway built on the old one
sees them (``/v1`` stays compatible; a breaking change goes to ``/v2``).

Breaking, each reported on one readable line:

- an operation (a path and a method) removed;
- a response status removed: a client handles it;
- a parameter that becomes required, a new required parameter, a parameter removed or moved (query,
  path, header), or its schema changed;
- a request body that becomes required, or appears required;
- in a request body's schema: a new required property, a property that becomes required, or any
  change of a validation keyword (``schema_compat``'s rules, conservative);
- in a response body's schema: a property removed, a property no longer required (clients read it),
  a type or any other validation keyword changed; a response's media type removed.

Compatible: a new operation, a new optional parameter or request property, a property or a status
added to a response, a request property no longer required.
"""

from typing import Any

from tests.unit.schema_compat import incompatibilities_within

METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
_RESPONSE_ADDITIONS = ("new required property",)
"""a response gaining a property breaks no client (they ignore what they do not read)"""
_REQUEST_RELAXATIONS = ("property is no longer required",)
"""a request property becoming optional breaks no client (it may go on sending it)"""


def operations(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``"POST /v1/requests"`` → its operation"""
    return {
        f"{method.upper()} {path}": operation
        for path, item in document.get("paths", {}).items()
        for method, operation in item.items()
        if method in METHODS
    }


def breaking_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Every change from ``old`` to ``new`` that breaks a client of ``old``; empty when compatible."""
    problems: list[str] = []
    new_operations = operations(new)
    for name, before in operations(old).items():
        after = new_operations.get(name)
        if after is None:
            problems.append(f"{name}: operation removed")
            continue
        problems += _parameters(old, new, name, before, after)
        problems += _request_body(old, new, name, before, after)
        problems += _responses(old, new, name, before, after)
    return problems


def _parameters(old: dict[str, Any], new: dict[str, Any], name: str, before: Any, after: Any) -> list[str]:
    problems = []
    old_params = {(p["in"], p["name"]): p for p in before.get("parameters", [])}
    new_params = {(p["in"], p["name"]): p for p in after.get("parameters", [])}
    for key, param in old_params.items():
        where = f"{name}: {key[0]} parameter {key[1]}"
        if key not in new_params:
            problems.append(f"{where} removed")
            continue
        if new_params[key].get("required", False) and not param.get("required", False):
            problems.append(f"{where} became required")
        problems += _lines(
            where, incompatibilities_within(old, new, param.get("schema", {}), new_params[key].get("schema", {}), "")
        )
    for key, param in new_params.items():
        if key not in old_params and param.get("required", False):
            problems.append(f"{name}: new required {key[0]} parameter {key[1]}")
    return problems


def _request_body(old: dict[str, Any], new: dict[str, Any], name: str, before: Any, after: Any) -> list[str]:
    old_body, new_body = before.get("requestBody"), after.get("requestBody")
    if new_body is None:
        return []  # a body no longer read: what clients send is ignored
    if old_body is None:
        return [f"{name}: a request body is now required"] if new_body.get("required", False) else []
    problems = []
    if new_body.get("required", False) and not old_body.get("required", False):
        problems.append(f"{name}: the request body became required")
    for media, content in old_body.get("content", {}).items():
        where = f"{name}: request {media}"
        if media not in new_body.get("content", {}):
            problems.append(f"{where} no longer accepted")
            continue
        found = incompatibilities_within(
            old, new, content.get("schema", {}), new_body["content"][media].get("schema", {}), ""
        )
        problems += _lines(where, [line for line in found if not any(r in line for r in _REQUEST_RELAXATIONS)])
    return problems


def _responses(old: dict[str, Any], new: dict[str, Any], name: str, before: Any, after: Any) -> list[str]:
    problems = []
    new_responses = after.get("responses", {})
    for status, response in before.get("responses", {}).items():
        if status not in new_responses:
            problems.append(f"{name}: response {status} removed")
            continue
        for media, content in response.get("content", {}).items():
            where = f"{name}: response {status} {media}"
            if media not in new_responses[status].get("content", {}):
                problems.append(f"{where} removed")
                continue
            found = incompatibilities_within(
                old, new, content.get("schema", {}), new_responses[status]["content"][media].get("schema", {}), ""
            )
            problems += _lines(where, [line for line in found if not any(a in line for a in _RESPONSE_ADDITIONS)])
    return problems


def _lines(where: str, found: list[str]) -> list[str]:
    return [f"{where} {line}" for line in found]
