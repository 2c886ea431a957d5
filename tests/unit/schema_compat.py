"""A small compatibility checker for the committed JSON Schemas of the topics (consumer's view).

``incompatibilities(old, new)`` walks the two schemas side by side from the root, following local
``$ref`` pointers into each document's ``$defs`` (so every definition a message can reach is compared,
and a renamed definition with the same content is not a change), and through ``properties``,
``items``/``prefixItems``, ``additionalProperties``, ``allOf`` and ``anyOf``/``oneOf``. It returns
one readable line per incompatible change; an empty list means "compatible".

The rules, for a message written by a producer built on ``new`` and read by a consumer built on
``old`` (and the reverse: topics are replayed, compacted topics keep old messages for ever):

- a property removed: incompatible;
- a property that becomes required, or a new required property: incompatible;
- a required property that becomes optional: incompatible (an old consumer requires it);
- any change of a validation keyword (``type``, ``enum``, ``const``, ``pattern``, ``format``,
  ``minLength``, ``maximum``..., ``additionalProperties``): incompatible, whether it tightens or
  loosens: tightening rejects old messages, loosening lets through values old consumers reject;
- a union (``anyOf``/``oneOf``) losing or gaining a member: incompatible (``str`` becoming
  ``str | None`` is a type change), EXCEPT a new member of a union of messages discriminated by their
  ``type`` const: a new message type on an existing topic is an addition;
- a new optional property: compatible, the one additive change;
- annotations (``title``, ``description``, ``default``, ``examples``...) are ignored.

It is deliberately conservative: what it cannot prove compatible (a changed regular expression, a
renamed union member of unknown kind) it reports.
"""

import json
from typing import Any

ANNOTATIONS = frozenset(
    {"title", "description", "default", "examples", "deprecated", "readOnly", "writeOnly", "$comment", "$schema", "$id"}
)
"""Keywords that document and do not constrain."""

STRUCTURAL = frozenset(
    {
        "$ref",
        "$defs",
        "properties",
        "required",
        "items",
        "prefixItems",
        "additionalProperties",
        "allOf",
        "anyOf",
        "oneOf",
        "discriminator",
    }
)
"""Keywords compared by walking into them; every other keyword must be equal on both sides."""

_UNORDERED = frozenset({"enum", "type"})
_MISSING = object()


def _show(value: Any) -> str:
    return "(absent)" if value is _MISSING else json.dumps(value, ensure_ascii=False, sort_keys=True)


def _normalised(keyword: str, value: Any) -> Any:
    if keyword in _UNORDERED and isinstance(value, list):
        return sorted(json.dumps(item, sort_keys=True) for item in value)
    return value


class _Comparison:
    def __init__(self, old_root: dict[str, Any], new_root: dict[str, Any]) -> None:
        self.old_root = old_root
        self.new_root = new_root
        self.problems: list[str] = []
        self._seen: set[tuple[str | None, str | None]] = set()

    @staticmethod
    def resolve(root: dict[str, Any], node: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
        """Follow ``$ref`` (local pointers only); keywords beside a ``$ref`` apply as well."""
        ref: str | None = None
        hops = 0
        while "$ref" in node:
            ref = str(node["$ref"])
            if not ref.startswith("#/"):
                raise ValueError(f"only local references are supported: {ref}")
            target: Any = root
            for part in ref[2:].split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            siblings = {key: value for key, value in node.items() if key != "$ref"}
            node = {**target, **siblings}
            hops += 1
            if hops > 64:
                raise ValueError(f"reference cycle through {ref}")
        return ref, node

    def report(self, path: str, message: str) -> None:
        self.problems.append(f"{path or '/'}: {message}")

    def compare(self, old: Any, new: Any, path: str) -> None:
        if isinstance(old, bool) or isinstance(new, bool):
            if old != new:
                self.report(path, f"schema changed from {_show(old)} to {_show(new)}")
            return
        old_ref, old = self.resolve(self.old_root, old)
        new_ref, new = self.resolve(self.new_root, new)
        if old_ref is not None or new_ref is not None:
            if (old_ref, new_ref) in self._seen:  # recursive models: compared once is enough
                return
            self._seen.add((old_ref, new_ref))
        self._keywords(old, new, path)
        self._properties(old, new, path)
        self._additional_properties(old, new, path)
        self._items(old, new, path)
        self._all_of(old, new, path)
        self._unions(old, new, path)
        old_tag = (old.get("discriminator") or {}).get("propertyName")
        new_tag = (new.get("discriminator") or {}).get("propertyName")
        if old_tag != new_tag:
            self.report(path, f"discriminator changed from {old_tag!r} to {new_tag!r}")

    def _keywords(self, old: dict[str, Any], new: dict[str, Any], path: str) -> None:
        for keyword in sorted((old.keys() | new.keys()) - ANNOTATIONS - STRUCTURAL):
            before, after = old.get(keyword, _MISSING), new.get(keyword, _MISSING)
            if _normalised(keyword, before) != _normalised(keyword, after):
                self.report(path, f"{keyword} changed from {_show(before)} to {_show(after)}")

    def _properties(self, old: dict[str, Any], new: dict[str, Any], path: str) -> None:
        old_properties: dict[str, Any] = old.get("properties", {})
        new_properties: dict[str, Any] = new.get("properties", {})
        old_required, new_required = set(old.get("required", ())), set(new.get("required", ()))
        for name, schema in old_properties.items():
            if name not in new_properties:
                self.report(f"{path}/{name}", "property removed")
            else:
                self.compare(schema, new_properties[name], f"{path}/{name}")
        for name in sorted(new_required - old_required):
            if name in old_properties:
                self.report(f"{path}/{name}", "property became required")
            else:
                self.report(f"{path}/{name}", "new required property (only optional properties may be added)")
        for name in sorted(old_required - new_required):
            if name in new_properties:
                self.report(f"{path}/{name}", "property is no longer required (old consumers require it)")

    def _additional_properties(self, old: dict[str, Any], new: dict[str, Any], path: str) -> None:
        if "additionalProperties" in old or "additionalProperties" in new:
            before, after = old.get("additionalProperties", True), new.get("additionalProperties", True)
            self.compare(before, after, f"{path}/(additionalProperties)")

    def _items(self, old: dict[str, Any], new: dict[str, Any], path: str) -> None:
        if "items" in old or "items" in new:
            self.compare(old.get("items", True), new.get("items", True), f"{path}/[]")
        old_prefix: list[Any] = old.get("prefixItems", [])
        new_prefix: list[Any] = new.get("prefixItems", [])
        if len(old_prefix) != len(new_prefix):
            self.report(path, f"tuple length changed from {len(old_prefix)} to {len(new_prefix)}")
        for index, (before, after) in enumerate(zip(old_prefix, new_prefix, strict=False)):
            self.compare(before, after, f"{path}/[{index}]")

    def _all_of(self, old: dict[str, Any], new: dict[str, Any], path: str) -> None:
        old_all: list[Any] = old.get("allOf", [])
        new_all: list[Any] = new.get("allOf", [])
        if len(old_all) != len(new_all):
            self.report(path, f"allOf changed from {len(old_all)} to {len(new_all)} schemas")
            return
        for index, (before, after) in enumerate(zip(old_all, new_all, strict=True)):
            self.compare(before, after, f"{path}/(allOf {index})")

    def _member_key(self, root: dict[str, Any], member: Any) -> tuple[str, bool]:
        """How a union member is recognised across versions, and whether it is a message type."""
        if isinstance(member, bool):
            return f"schema {member}", False
        ref, resolved = self.resolve(root, member)
        type_property = resolved.get("properties", {}).get("type")
        if isinstance(type_property, dict) and "const" in type_property:
            return f"type={type_property['const']}", True
        if "const" in resolved:
            return f"const={_show(resolved['const'])}", False
        if "type" in resolved:
            return f"{_show(_normalised('type', resolved['type']))}", False
        if ref is not None:
            return ref.rsplit("/", 1)[-1], False
        return _show(resolved), False

    def _unions(self, old: dict[str, Any], new: dict[str, Any], path: str) -> None:
        for keyword in ("anyOf", "oneOf"):
            if keyword not in old and keyword not in new:
                continue
            if keyword not in old or keyword not in new:
                self.report(path, f"{keyword} {'appeared' if keyword in new else 'disappeared'}")
                continue
            old_members = [(*self._member_key(self.old_root, m), m) for m in old[keyword]]
            new_members = [(*self._member_key(self.new_root, m), m) for m in new[keyword]]
            old_keys = [key for key, _, _ in old_members]
            new_keys = [key for key, _, _ in new_members]
            if len(set(old_keys)) != len(old_keys) or len(set(new_keys)) != len(new_keys):
                # Members we cannot tell apart: compare them in order, and the count must not change.
                if len(old_keys) != len(new_keys):
                    self.report(path, f"{keyword} changed from {len(old_keys)} to {len(new_keys)} members")
                for index, (before, after) in enumerate(zip(old[keyword], new[keyword], strict=False)):
                    self.compare(before, after, f"{path}/({keyword} {index})")
                continue
            old_by_key = {key: member for key, _, member in old_members}
            new_by_key = {key: member for key, _, member in new_members}
            for key, member in old_by_key.items():
                if key not in new_by_key:
                    self.report(path, f"{keyword} member {key} removed")
                else:
                    self.compare(member, new_by_key[key], f"{path}/[{key}]")
            messages_union = all(is_message for _, is_message, _ in old_members + new_members)
            for key in new_by_key.keys() - old_by_key.keys():
                if not messages_union:
                    self.report(path, f"{keyword} member {key} added (the value may now be of a new type)")


def incompatibilities(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Every change from ``old`` to ``new`` that breaks a v1 consumer or producer; empty when compatible."""
    comparison = _Comparison(old, new)
    comparison.compare(old, new, "")
    return comparison.problems


def incompatibilities_within(
    old_root: dict[str, Any], new_root: dict[str, Any], old: Any, new: Any, path: str
) -> list[str]:
    """The same comparison for two schemas inside larger documents (an OpenAPI document's request
    and response bodies), their ``$ref`` pointers resolved against those documents."""
    comparison = _Comparison(old_root, new_root)
    comparison.compare(old, new, path)
    return comparison.problems
