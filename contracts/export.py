"""Generate the committed JSON Schemas and the AsyncAPI document from the topics catalogue.

``python -m contracts.export`` (``make schemas``) writes:

- ``contracts/schemas/<topic>.json``: the JSON Schema of the message union of each topic;
- ``docs/asyncapi.json``: one AsyncAPI 3.0 document describing every topic of the platform and its
  dead-letter topic.

``python -m contracts.export --check`` writes nothing and exits 1 listing the files that differ from
what the models produce (CI, and ``tests/unit/test_contracts.py``, use the same :func:`render`).

Pure like the rest of ``contracts``: standard library, pydantic and ``contracts.*`` only.
"""

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter
from pydantic.json_schema import DEFAULT_REF_TEMPLATE, JsonSchemaMode

from contracts.identifiers import AffiliateNumber
from contracts.topics import CATALOGUE, RETIRED, Topic

ROOT = Path(__file__).resolve().parent.parent
"""The repository root: every path :func:`render` returns is relative to it."""

SCHEMAS_DIR = "contracts/schemas"
ASYNCAPI_PATH = "docs/asyncapi.json"

# The schemas describe the JSON *on the wire*, i.e. what producers write with ``model_dump_json()`` and
# what a consumer (a partner in another language included) reads. That is pydantic's "serialization"
# mode. The "validation" mode describes what our Python models *accept*, which is more lenient than
# what they emit (e.g. Money accepts the integer 5 and "1.5" but always writes "5.00" / "1.50"), so it
# would tell partners the wrong thing. One mode everywhere: the compatibility test compares like with like.
SCHEMA_MODE: JsonSchemaMode = "serialization"

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"  # what pydantic generates
SCHEMA_ID_PREFIX = "urn:cnss:espace-recouvrement:schemas:"
ASYNCAPI_REF_TEMPLATE = "#/components/schemas/{model}"
KAFKA_BINDING_VERSION = "0.4.0"  # the Kafka bindings version every AsyncAPI 3.0.0 validator knows

# A Kafka key is the UTF-8 text of a business identifier; where the catalogue names a known one, the
# AsyncAPI document gives its exact shape rather than a free string.
_KEY_TYPES: dict[str, Any] = {"affiliate": AffiliateNumber}

_DLQ_HEADERS: dict[str, tuple[str, str | None]] = {
    "x-dlq-reason": ("pourquoi le consommateur n'a pas pu appliquer le message (tronqué à 4000 caractères)", None),
    "x-dlq-consumer": ("le consommateur (service) qui a écarté le message", None),
    "x-dlq-original-topic": ("le topic d'origine", None),
    "x-dlq-original-partition": ("la partition d'origine, en décimal", r"^\d+$"),
    "x-dlq-original-offset": ("l'offset d'origine, en décimal", r"^\d+$"),
}


def dump(document: dict[str, Any]) -> str:
    """Stable text: sorted keys, two-space indent, UTF-8 kept readable, trailing newline."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def topic_schema(topic: Topic[Any], *, ref_template: str = DEFAULT_REF_TEMPLATE) -> dict[str, Any]:
    """The JSON Schema of everything that may travel on ``topic`` (the union of its message types)."""
    return topic.adapter().json_schema(mode=SCHEMA_MODE, ref_template=ref_template)


def schema_document(topic: Topic[Any]) -> dict[str, Any]:
    """The committed, self-contained schema file of one topic."""
    schema = topic_schema(topic)
    return {
        **schema,
        "$schema": JSON_SCHEMA_DIALECT,
        "$id": SCHEMA_ID_PREFIX + topic.name,
        "title": topic.name,
        "description": topic.description,
    }


def _members(schema: dict[str, Any], defs: dict[str, Any]) -> list[str]:
    """Names (keys of ``defs``) of the message types of a topic schema; adds a bare model to ``defs``."""
    prefix = ASYNCAPI_REF_TEMPLATE.format(model="")
    if "oneOf" in schema or "anyOf" in schema:
        refs = [member["$ref"] for member in schema.get("oneOf", schema.get("anyOf", []))]
    elif "$ref" in schema:
        refs = [schema["$ref"]]
    else:  # a topic carrying a single model with no union: pydantic puts the model at the top level
        name = str(schema["title"])
        defs[name] = schema
        return [name]
    if not all(ref.startswith(prefix) for ref in refs):
        raise ValueError(f"unexpected message schema: {refs}")
    return [ref.removeprefix(prefix) for ref in refs]


def _asyncapi_schema(node: Any) -> Any:
    """Adapt pydantic's output to the AsyncAPI Schema Object (draft-07 based, ``discriminator`` is a string)."""
    if isinstance(node, list):
        return [_asyncapi_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    adapted = {key: _asyncapi_schema(value) for key, value in node.items()}
    discriminator = adapted.get("discriminator")
    if isinstance(discriminator, dict):
        adapted["discriminator"] = discriminator["propertyName"]
    return adapted


def _add_schema(schemas: dict[str, Any], name: str, schema: dict[str, Any]) -> None:
    """Shared models (``Perception``...) appear in several topics: they must be the same model."""
    if name in schemas and schemas[name] != schema:
        raise ValueError(f"two different models are both named {name!r}: rename one so partners can tell them apart")
    schemas[name] = schema


def _key_schema(topic: Topic[Any]) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    what = topic.key
    if topic.key in _KEY_TYPES:
        schema.update(TypeAdapter(_KEY_TYPES[topic.key]).json_schema(mode=SCHEMA_MODE))
        what = str(schema.get("description", what))
    schema["description"] = (
        f"Clé Kafka (texte UTF-8) : {what}. Tous les messages d'une même clé vont dans la même "
        "partition, et sont donc lus dans l'ordre où ils ont été écrits."
    )
    return schema


def _operation(channel_id: str, action: str, applications: Sequence[str], messages: Sequence[str]) -> dict[str, Any]:
    role = "Émis" if action == "send" else "Lu"
    return {
        "action": action,
        "channel": {"$ref": f"#/channels/{channel_id}"},
        "messages": [{"$ref": f"#/channels/{channel_id}/messages/{message}"} for message in messages],
        "summary": f"{role} par : {', '.join(applications)}.",
        "x-applications": list(applications),
    }


def _dead_letter_channel(topic: Topic[Any]) -> dict[str, Any]:
    return {
        "address": topic.dlq,
        "title": topic.dlq,
        "description": (
            f"Lettres mortes de `{topic.name}` : un message qu'un consommateur ne pourra jamais appliquer "
            "(schéma invalide, type inconnu) y est recopié avec la raison, puis la partition d'origine avance. "
            "Rien n'est perdu en silence ; le message peut être rejoué après correction."
        ),
        "messages": {
            "DeadLetter": {
                "name": "dead_letter",
                "title": "Lettre morte",
                "summary": "Le message d'origine, octet pour octet, avec sa clé et ses en-têtes d'origine.",
                "contentType": "application/octet-stream",
                "headers": {
                    "type": "object",
                    "description": "Les en-têtes d'origine sont conservés ; s'y ajoutent les en-têtes x-dlq-*.",
                    "properties": {
                        name: {"type": "string", "description": text} | ({"pattern": pattern} if pattern else {})
                        for name, (text, pattern) in _DLQ_HEADERS.items()
                    },
                    "required": list(_DLQ_HEADERS),
                    "additionalProperties": True,
                },
                "payload": {
                    "type": "string",
                    "format": "binary",
                    "description": f"Les octets d'origine, tels que lus sur `{topic.name}` (pas forcément du JSON).",
                },
                "bindings": {
                    "kafka": {
                        "key": {"type": "string", "description": "La clé d'origine, inchangée."},
                        "bindingVersion": KAFKA_BINDING_VERSION,
                    }
                },
            }
        },
        "bindings": {"kafka": {"topic": topic.dlq, "bindingVersion": KAFKA_BINDING_VERSION}},
    }


def asyncapi_document() -> dict[str, Any]:
    """One AsyncAPI 3.0 document for the whole platform: every topic, its dead letters, who sends, who reads.

    Operations are from each application's point of view (AsyncAPI 3): a producer ``send``s on the
    channel, a consumer ``receive``s from it; ``x-applications`` names them.
    """
    schemas: dict[str, Any] = {}
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for topic in CATALOGUE:
        schema = _asyncapi_schema(topic_schema(topic, ref_template=ASYNCAPI_REF_TEMPLATE))
        defs: dict[str, Any] = schema.pop("$defs", {})
        members = _members(schema, defs)
        for name, definition in defs.items():
            _add_schema(schemas, name, definition)
        messages: dict[str, Any] = {}
        for name in members:
            definition = schemas[name]
            type_value = definition.get("properties", {}).get("type", {}).get("const", name)
            message: dict[str, Any] = {
                "name": type_value,
                "title": name,
                "contentType": "application/json",
                "payload": {"$ref": ASYNCAPI_REF_TEMPLATE.format(model=name)},
                "bindings": {"kafka": {"key": _key_schema(topic), "bindingVersion": KAFKA_BINDING_VERSION}},
            }
            if "description" in definition:
                message["summary"] = definition["description"]
            messages[name] = message
        channels[topic.name] = {
            "address": topic.name,
            "title": topic.name,
            "description": topic.description,
            "messages": messages,
            "bindings": {
                "kafka": {
                    "topic": topic.name,
                    "partitions": topic.partitions,
                    "topicConfiguration": {"cleanup.policy": [topic.cleanup_policy]},
                    "bindingVersion": KAFKA_BINDING_VERSION,
                }
            },
        }
        operations[f"{topic.name}.send"] = _operation(topic.name, "send", topic.producers, list(messages))
        operations[f"{topic.name}.receive"] = _operation(topic.name, "receive", topic.consumers, list(messages))
        channels[topic.dlq] = _dead_letter_channel(topic)
        operations[f"{topic.dlq}.send"] = _operation(topic.dlq, "send", topic.consumers, ["DeadLetter"])
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "CNSS Espace Recouvrement — événements",
            "version": "1.0.0",
            "description": (
                "Les topics Kafka par lesquels les services de l'Espace Recouvrement, les systèmes centraux "
                "de la CNSS, les banques et les perceptions échangent leurs événements. Chaque message est "
                "une enveloppe JSON (`event_id`, `type`, `occurred_at`, `producer`, `correlation_id`, "
                "`payload`) ; les montants sont des chaînes décimales à deux décimales, les dates en ISO 8601. "
                "Dans une version (`.v1`), les contrats n'évoluent que par ajout de champs facultatifs : les "
                "consommateurs, qui refusent les champs inconnus, se mettent à jour avant les producteurs. "
                "Document généré par `python -m contracts.export` : ne pas l'éditer à la main."
            ),
        },
        "defaultContentType": "application/json",
        "servers": {
            "embedded": {
                "host": "127.0.0.1:19092",
                "protocol": "kafka",
                "description": "Broker Kafka-protocol embarqué (Tansu) que lance `recouvrement run` : poste de "
                "développement et CI, sans authentification.",
            },
            "production": {
                "host": "kafka:9092",
                "protocol": "kafka-secure",
                "description": "Apache Kafka de production (adresse indicative : `KAFKA_BOOTSTRAP_SERVERS`). "
                "Connexions chiffrées en TLS et authentifiées par SASL (`KAFKA_SECURITY_PROTOCOL=SASL_SSL`, "
                "`KAFKA_SASL_MECHANISM`) ; des ACL limitent chaque partenaire à ses topics, par exemple une "
                "banque à `debits.orders.<code banque>.v1`.",
            },
        },
        "channels": channels,
        "operations": operations,
        "components": {"schemas": schemas},
    }


def render() -> dict[str, str]:
    """Every generated file: path relative to the repository root -> exact content."""
    files = {f"{SCHEMAS_DIR}/{topic.name}.json": dump(schema_document(topic)) for topic in CATALOGUE}
    files[ASYNCAPI_PATH] = dump(asyncapi_document())
    return files


def retired_schemas() -> set[str]:
    """The committed schemas of the retired topics (``contracts.topics.RETIRED``): kept as they were,
    never regenerated, never stale."""
    return {f"{SCHEMAS_DIR}/{topic.name}.json" for topic in RETIRED}


def stale_schemas(root: Path = ROOT, rendered: dict[str, str] | None = None) -> list[str]:
    """Schema files on disk that no catalogue topic produces any more (a renamed topic, or a topic
    removed without being declared retired in ``contracts.topics.RETIRED``)."""
    expected = set(rendered if rendered is not None else render()) | retired_schemas()
    return sorted(
        path
        for path in (p.relative_to(root).as_posix() for p in (root / SCHEMAS_DIR).glob("*.json"))
        if path not in expected
    )


def differences(root: Path = ROOT) -> list[str]:
    """Generated files that are missing or out of date on disk, then stale schema files."""
    rendered = render()
    changed = [
        path
        for path, content in rendered.items()
        if not (root / path).is_file() or (root / path).read_text(encoding="utf-8") != content
    ]
    return changed + stale_schemas(root, rendered)


def write(root: Path = ROOT) -> list[str]:
    """Write the files that changed; returns their paths."""
    written = []
    for path, content in render().items():
        target = root / path
        if target.is_file() and target.read_text(encoding="utf-8") == content:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8", newline="\n")
        written.append(path)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m contracts.export", description="Generate the committed JSON Schemas and AsyncAPI document."
    )
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a file is out of date")
    parser.add_argument("--root", type=Path, default=ROOT, help="repository root (default: %(default)s)")
    args = parser.parse_args(argv)
    root: Path = args.root
    if args.check:
        stale = set(stale_schemas(root))
        outdated = differences(root)
        for path in outdated:
            print(f"{path}: {'stale (no topic produces it)' if path in stale else 'out of date'}", file=sys.stderr)
        if outdated:
            print("run `make schemas` (python -m contracts.export) and commit the result", file=sys.stderr)
            return 1
        return 0
    for path in write(root):
        print(f"wrote {path}")
    for path in stale_schemas(root):
        # Not deleted automatically: retiring a v1 topic is a decision, to be made in review (RETIRED).
        print(
            f"warning: {path} matches no topic of the catalogue; declare the topic in contracts.topics.RETIRED",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
