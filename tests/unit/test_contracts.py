"""The shared ``contracts`` package: purity, committed schemas, compatibility, money, identifiers, envelopes.

Compatibility within ``v1`` (see ``test_committed_schemas_stay_compatible``): contracts evolve
additively, and the only change allowed is a new OPTIONAL property (or a new message type on a
topic). Even that is not free: every model forbids unknown fields (``extra="forbid"``, so a drifting
producer is caught and its message dead-lettered), which means a consumer still running the OLD
contracts rejects a message carrying the new field. Hence the order of deployment: consumers upgrade
the contracts package first, producers emit the new optional field afterwards. Anything else (a
field removed, a field newly required, a type, enum, const or pattern changed) is a ``v2`` model.

One exception, named line by line in ``DELIBERATE_TIGHTENINGS``: a bound on what a *partner* may send
(a perception, a bank), when a value outside it was never applicable anyway. Such a message used to
fail deep in a consumer; it now fails at the door and goes to the topic's ``.dlq`` with the reason.
"""

import json
import os
import pkgutil
import re
import subprocess
import sys
import typing
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, Field, TypeAdapter, ValidationError, create_model

import contracts
from contracts import export
from contracts.auth import AccountImported, LoginFailed, LoginLocked, LoginSucceeded
from contracts.debt import (
    ArrangementClosed,
    ArrangementOpened,
    ChargeBooked,
    PaymentReceived,
    PositionChanged,
)
from contracts.envelope import Contract, Envelope
from contracts.identifiers import AffiliateNumber, Period, Rib, is_valid_rib, mask_rib, rib_key
from contracts.money import CENTIME, Money, PositiveMoney, round_down, round_half_up
from contracts.refusal_texts import FIELD_MESSAGES
from contracts.topics import CATALOGUE, DEBT_LEDGER, RETIRED, Topic
from tests.unit.schema_compat import incompatibilities

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)
FORBIDDEN_IN_CONTRACTS = ("faststream", "aiokafka", "asyncpg", "fastapi", "services")


# --- purity ------------------------------------------------------------------------------------


def test_importing_every_contracts_module_pulls_in_no_broker_database_or_web_framework() -> None:
    modules = sorted(info.name for info in pkgutil.walk_packages(contracts.__path__, "contracts."))
    assert "contracts.export" in modules
    probe = (
        "import importlib, json, sys\n"
        "for name in sys.argv[2:]:\n"
        "    importlib.import_module(name)\n"
        "forbidden = set(json.loads(sys.argv[1]))\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in forbidden)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe, json.dumps(FORBIDDEN_IN_CONTRACTS), "contracts", *modules],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [], "contracts must stay pure Pydantic"


# --- generated files -----------------------------------------------------------------------------


def test_committed_schemas_and_asyncapi_document_are_up_to_date() -> None:
    outdated = export.differences(ROOT)
    assert not outdated, (
        f"out of date with the models: {outdated}. Run `make schemas` (python -m contracts.export) and commit."
    )


def test_export_check_flag_lists_the_files_that_differ(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert export.main(["--root", str(tmp_path)]) == 0
    assert export.main(["--check", "--root", str(tmp_path)]) == 0
    schema = tmp_path / export.SCHEMAS_DIR / f"{DEBT_LEDGER.name}.json"
    schema.write_text(schema.read_text(encoding="utf-8").replace("ledger.charge_booked", "x"), encoding="utf-8")
    (tmp_path / export.SCHEMAS_DIR / "retired.v1.json").write_text("{}\n", encoding="utf-8")
    capsys.readouterr()
    assert export.main(["--check", "--root", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert f"{export.SCHEMAS_DIR}/{DEBT_LEDGER.name}.json: out of date" in err
    assert f"{export.SCHEMAS_DIR}/retired.v1.json: stale" in err
    assert "make schemas" in err


def test_render_is_deterministic_and_stable_text() -> None:
    first, second = export.render(), export.render()
    assert first == second
    assert set(first) == {f"contracts/schemas/{t.name}.json" for t in CATALOGUE} | {"docs/asyncapi.json"}
    for content in first.values():
        assert content.endswith("}\n")
        assert content == json.dumps(json.loads(content), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for item in node for ref in _refs(item)]
    return []


def _pointer(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    target: Any = document
    for part in ref[2:].split("/"):
        target = target[part.replace("~1", "/").replace("~0", "~")]
    return target


@pytest.mark.parametrize("topic", CATALOGUE, ids=lambda t: t.name)
def test_topic_schema_file_is_self_contained(topic: Topic) -> None:
    document = json.loads(export.render()[f"contracts/schemas/{topic.name}.json"])
    assert document["$id"].endswith(topic.name)
    assert document["title"] == topic.name
    for ref in _refs(document):
        _pointer(document, ref)


def test_asyncapi_document_describes_every_topic_and_its_dead_letters() -> None:
    document = json.loads(export.render()["docs/asyncapi.json"])
    assert document["asyncapi"] == "3.0.0"
    assert document["info"]["title"] == "CNSS Espace Recouvrement — événements"
    assert document["info"]["version"] == "1.0.0"
    assert document["servers"]["embedded"] | {"description": ""} == {
        "host": "127.0.0.1:19092",
        "protocol": "kafka",
        "description": "",
    }
    assert document["servers"]["production"]["protocol"] == "kafka-secure"
    assert "SASL" in document["servers"]["production"]["description"]
    for ref in _refs(document):  # every reference resolves inside the document
        _pointer(document, ref)
    channels, operations = document["channels"], document["operations"]
    for topic in CATALOGUE:
        channel = channels[topic.name]
        assert channel["address"] == topic.name
        assert channel["bindings"]["kafka"]["topicConfiguration"]["cleanup.policy"] == [topic.cleanup_policy]
        types = {message["name"] for message in channel["messages"].values()}
        assert types == {model.TYPE for model in _message_types(topic)}
        for message in channel["messages"].values():
            assert message["payload"]["$ref"].startswith("#/components/schemas/")
            assert message["bindings"]["kafka"]["key"]["type"] == "string"
        for action, applications in (("send", topic.producers), ("receive", topic.consumers)):
            operation = operations[f"{topic.name}.{action}"]
            assert operation["action"] == action
            assert operation["channel"] == {"$ref": f"#/channels/{topic.name}"}
            assert operation["x-applications"] == list(applications)
            assert len(operation["messages"]) == len(channel["messages"])
        dead_letters = channels[topic.dlq]
        assert dead_letters["address"] == topic.dlq
        headers = dead_letters["messages"]["DeadLetter"]["headers"]
        assert set(headers["required"]) == {
            "x-dlq-reason",
            "x-dlq-consumer",
            "x-dlq-original-topic",
            "x-dlq-original-partition",
            "x-dlq-original-offset",
        }
        assert dead_letters["messages"]["DeadLetter"]["payload"]["format"] == "binary"
    # AsyncAPI's Schema Object takes the discriminator as a plain property name
    assert all(isinstance(s.get("discriminator", ""), str) for s in document["components"]["schemas"].values())


# --- compatibility -------------------------------------------------------------------------------


def _baseline_schemas() -> dict[str, dict[str, Any]]:
    """The schemas as committed: on disk, or from a git revision when ``CONTRACTS_BASELINE_REF`` is set.

    On disk, ``make schemas`` overwrites the baseline, so locally this test guards an un-regenerated
    change and review guards the diff of ``contracts/schemas/``. CI should set
    ``CONTRACTS_BASELINE_REF=origin/main`` so a regenerated incompatible schema is caught too.
    """
    revision = os.environ.get("CONTRACTS_BASELINE_REF")
    if not revision:
        return {
            path.stem: json.loads(path.read_text(encoding="utf-8"))
            for path in sorted((ROOT / export.SCHEMAS_DIR).glob("*.json"))
        }
    listing = subprocess.run(
        ["git", "ls-tree", "--name-only", f"{revision}:{export.SCHEMAS_DIR}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if listing.returncode != 0:  # the baseline predates the committed schemas: nothing to be compatible with
        pytest.skip(f"no {export.SCHEMAS_DIR} at {revision}: {listing.stderr.strip()}")
    baseline = {}
    for name in listing.stdout.split():
        if name.endswith(".json"):
            shown = subprocess.run(
                ["git", "show", f"{revision}:{export.SCHEMAS_DIR}/{name}"],
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=True,
            )
            baseline[name.removesuffix(".json")] = json.loads(shown.stdout)
    return baseline


DELIBERATE_TIGHTENINGS: frozenset[str] = frozenset(
    {
        # Issue 13: a perception's dates lie in years 2000 to 2099 (contracts.dates: 9999-12-31T23:30Z
        # overflowed in Casablanca time) and a guarantee's reference is printable (Postgres refuses NUL).
        "perception.guarantees.v1: /[type=perception.guarantee_deposited]/payload/deposited_at: "
        'pattern changed from (absent) to "^20[0-9]{2}-"',
        "perception.guarantees.v1: /[type=perception.guarantee_deposited]/payload/reference: "
        r'pattern changed from (absent) to "^[^\\x00-\\x1f\\x7f]+$"',
        "perception.guarantees.v1: /[type=perception.guarantee_refused]/payload/refused_at: "
        'pattern changed from (absent) to "^20[0-9]{2}-"',
    }
)
"""Partner inputs bounded on purpose within ``v1`` (module docstring): the checker's exact lines."""


def test_committed_schemas_stay_compatible() -> None:
    """Every committed topic schema against what the current models produce (see the module docstring)."""
    baseline = _baseline_schemas()
    assert baseline, "no committed schema found: run `make schemas`"
    topics = {topic.name: topic for topic in CATALOGUE}
    retired = {topic.name: topic for topic in RETIRED}
    problems = []
    for name, committed in baseline.items():
        if name in retired:
            # Retired (nothing produces to it any more): every message it carried must read the same on
            # each topic that replaces it, so an office moves over with the same code.
            for replacement in retired[name].replaced_by:
                problems += [
                    f"{name} -> {replacement.name}: {problem}"
                    for problem in incompatibilities(committed, export.schema_document(replacement))
                ]
            continue
        if name not in topics:
            problems.append(f"{name}: topic removed from the catalogue (a v1 topic cannot disappear)")
            continue
        problems += [
            line
            for problem in incompatibilities(committed, export.schema_document(topics[name]))
            if (line := f"{name}: {problem}") not in DELIBERATE_TIGHTENINGS
        ]
    assert not problems, "incompatible change within v1 (make a v2 model/topic instead):\n" + "\n".join(problems)


def test_a_retired_topic_is_out_of_the_catalogue_and_its_schema_stays_committed() -> None:
    names = {topic.name for topic in CATALOGUE}
    for topic in RETIRED:
        assert topic.name not in names and topic.replaced_by and topic.why
        assert {t.name for t in topic.replaced_by} <= names
        assert (ROOT / export.SCHEMAS_DIR / f"{topic.name}.json").is_file(), "its schema stays, as it was"
        assert f"{export.SCHEMAS_DIR}/{topic.name}.json" not in export.stale_schemas(ROOT)
    assert "requests.guarantees.v1" in {topic.name for topic in RETIRED}


def _object(properties: dict[str, Any], required: list[str], **extra: Any) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": False, "properties": properties, "required": required, **extra}


STRING = {"type": "string"}
OLD = _object({"a": STRING, "b": {"type": "integer"}}, ["a"])


def test_checker_accepts_an_identical_schema_and_ignores_annotations() -> None:
    assert incompatibilities(OLD, OLD) == []
    annotated = _object({"a": STRING | {"description": "x", "title": "A"}, "b": {"type": "integer"}}, ["a"], title="T")
    assert incompatibilities(OLD, annotated) == []


def test_checker_accepts_a_new_optional_property() -> None:
    assert incompatibilities(OLD, _object({"a": STRING, "b": {"type": "integer"}, "c": STRING}, ["a"])) == []


def test_checker_rejects_a_removed_property() -> None:
    assert incompatibilities(OLD, _object({"a": STRING}, ["a"])) == ["/b: property removed"]


def test_checker_rejects_a_new_required_property_and_a_property_becoming_required() -> None:
    assert incompatibilities(OLD, _object({**OLD["properties"], "c": STRING}, ["a", "c"])) == [
        "/c: new required property (only optional properties may be added)"
    ]
    assert incompatibilities(OLD, _object(OLD["properties"], ["a", "b"])) == ["/b: property became required"]
    assert incompatibilities(OLD, _object(OLD["properties"], [])) == [
        "/a: property is no longer required (old consumers require it)"
    ]


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        ({"type": "integer"}, STRING, 'type changed from "integer" to "string"'),
        (STRING | {"pattern": "^\\d{7}$"}, STRING | {"pattern": "^\\d{8}$"}, "pattern changed"),
        (STRING, STRING | {"pattern": "^\\d{7}$"}, 'pattern changed from (absent) to "^\\\\d{7}$"'),
        (STRING | {"maxLength": 64}, STRING | {"maxLength": 128}, "maxLength changed from 64 to 128"),
        (STRING | {"const": "a.v1"}, STRING | {"const": "a.v2"}, "const changed"),
        (STRING | {"enum": ["x", "y"]}, STRING | {"enum": ["x", "y", "z"]}, "enum changed"),
        (STRING | {"enum": ["x", "y"]}, STRING | {"enum": ["x"]}, "enum changed"),
        (STRING | {"format": "date"}, STRING | {"format": "date-time"}, "format changed"),
    ],
)
def test_checker_rejects_a_changed_or_tightened_type(before: Any, after: Any, expected: str) -> None:
    problems = incompatibilities(_object({"a": before}, ["a"]), _object({"a": after}, ["a"]))
    assert len(problems) == 1
    assert problems[0].startswith("/a: ")
    assert expected in problems[0]


def test_checker_ignores_the_order_of_an_enum() -> None:
    before = _object({"a": STRING | {"enum": ["x", "y"]}}, ["a"])
    assert incompatibilities(before, _object({"a": STRING | {"enum": ["y", "x"]}}, ["a"])) == []


def test_checker_rejects_a_field_becoming_nullable_and_extra_fields_becoming_allowed() -> None:
    nullable = _object({"a": {"anyOf": [STRING, {"type": "null"}]}, "b": {"type": "integer"}}, ["a"])
    problems = incompatibilities(OLD, nullable)
    assert problems and all(p.startswith("/a: ") for p in problems)
    optional_old = _object({"a": {"anyOf": [STRING, {"type": "null"}]}}, ["a"])
    widened = _object({"a": {"anyOf": [STRING, {"type": "integer"}, {"type": "null"}]}}, ["a"])
    assert incompatibilities(optional_old, widened) == [
        '/a: anyOf member "integer" added (the value may now be of a new type)'
    ]
    open_object = {**OLD, "additionalProperties": True}
    assert incompatibilities(OLD, open_object) == ["/(additionalProperties): schema changed from false to true"]


def test_checker_follows_refs_into_defs_items_and_unions_by_message_type() -> None:
    def topic_schema(
        payload_properties: dict[str, Any], payload_required: list[str], types: list[str]
    ) -> dict[str, Any]:
        defs = {"Payload": _object(payload_properties, payload_required)}
        for name in types:
            defs[name] = _object(
                {"type": {"const": name.lower(), "type": "string"}, "payload": {"$ref": "#/$defs/Payload"}},
                ["payload"],
            )
        return {
            "$defs": defs,
            "oneOf": [{"$ref": f"#/$defs/{name}"} for name in types],
            "discriminator": {"propertyName": "type", "mapping": {n.lower(): f"#/$defs/{n}" for n in types}},
        }

    line = _object({"amount": STRING | {"pattern": "^\\d+\\.\\d{2}$"}}, ["amount"])

    def with_lines(types: list[str], line: dict[str, Any] = line) -> dict[str, Any]:
        schema = topic_schema({"lines": {"type": "array", "items": {"$ref": "#/$defs/Line"}}}, ["lines"], types)
        schema["$defs"]["Line"] = line
        return schema

    old = with_lines(["Booked", "Paid"])
    assert incompatibilities(old, with_lines(["Booked", "Paid"])) == []

    problems = incompatibilities(
        old, with_lines(["Booked", "Paid"], _object({"amount": {"type": "number"}}, ["amount"]))
    )
    assert problems[0].startswith("/[type=booked]/payload/lines/[]/amount: ")
    assert any("type changed" in p for p in problems)

    # a new message type is an addition; a message type that disappears is not
    assert incompatibilities(old, with_lines(["Booked", "Paid", "Refunded"])) == []
    assert incompatibilities(old, with_lines(["Booked"])) == ["/: oneOf member type=paid removed"]


def test_checker_terminates_on_recursive_models() -> None:
    tree: dict[str, Any] = {
        "$defs": {"Node": _object({"children": {"type": "array", "items": {"$ref": "#/$defs/Node"}}}, [])}
    }
    tree["$ref"] = "#/$defs/Node"
    assert incompatibilities(tree, tree) == []


class _V1Payload(Contract):
    login: str = Field(max_length=128)
    attempts: int = Field(ge=0)


_TestType = typing.Literal["test.v1"]


class _V1(Envelope):
    type: _TestType = "test.v1"
    payload: _V1Payload


def _schema_of(model: type[BaseModel]) -> dict[str, Any]:
    return TypeAdapter(model).json_schema(mode=export.SCHEMA_MODE)


def test_checker_on_real_pydantic_models() -> None:
    """The same verdicts on what pydantic actually generates from our Contract/Envelope bases."""

    class AddedOptional(Contract):
        login: str = Field(max_length=128)
        attempts: int = Field(ge=0)
        channel: str | None = None

    class AddedRequired(Contract):
        login: str = Field(max_length=128)
        attempts: int = Field(ge=0)
        channel: str

    class Removed(Contract):
        login: str = Field(max_length=128)

    class Tightened(Contract):
        login: str = Field(max_length=64)
        attempts: int = Field(ge=0)

    def envelope(payload: type[Contract]) -> dict[str, Any]:
        message = create_model("_V1", __base__=Envelope, type=(_TestType, "test.v1"), payload=(payload, ...))
        return _schema_of(message)

    old = _schema_of(_V1)
    assert incompatibilities(old, envelope(AddedOptional)) == []
    assert incompatibilities(old, envelope(AddedRequired)) == [
        "/payload/channel: new required property (only optional properties may be added)"
    ]
    assert incompatibilities(old, envelope(Removed)) == ["/payload/attempts: property removed"]
    assert incompatibilities(old, envelope(Tightened)) == ["/payload/login: maxLength changed from 128 to 64"]


# --- money ---------------------------------------------------------------------------------------


class Amounts(BaseModel):
    amount: Money
    positive: PositiveMoney = Decimal("1.00")


TWO_PLACES = re.compile(r"^-?\d+\.\d{2}$")
# NUMERIC(16,2) in Postgres: 14 digits before the point, the bound Money enforces.
amounts = st.decimals(
    min_value=Decimal("-99999999999999.99"), max_value=Decimal("99999999999999.99"), places=2, allow_nan=False
)


@given(amounts)
def test_money_round_trips_through_json_as_a_string_with_two_decimals(value: Decimal) -> None:
    wire = Amounts(amount=value).model_dump_json()
    written = json.loads(wire)["amount"]
    assert isinstance(written, str)
    assert TWO_PLACES.match(written)
    assert Decimal(written) == value
    assert Amounts.model_validate_json(wire).amount == value


@given(st.integers(min_value=-(10**12), max_value=10**12), st.sampled_from(["", ".0", ".5", ".50"]))
def test_money_with_fewer_places_is_written_with_two(units: int, fraction: str) -> None:
    written = json.loads(Amounts(amount=f"{units}{fraction}").model_dump_json())["amount"]
    assert TWO_PLACES.match(written)
    assert Decimal(written) == Decimal(f"{units}{fraction}")


@given(st.floats())
def test_money_refuses_floats(value: float) -> None:
    with pytest.raises(ValidationError, match="flottant"):
        Amounts(amount=value)


def test_money_refuses_a_json_number_with_a_fraction() -> None:
    with pytest.raises(ValidationError, match="flottant"):
        Amounts.model_validate_json('{"amount": 12.5}')


@given(st.decimals(min_value=-(10**9), max_value=10**9, places=3, allow_nan=False).filter(lambda d: d % CENTIME != 0))
def test_money_refuses_a_third_decimal(value: Decimal) -> None:
    with pytest.raises(ValidationError, match="deux décimales"):
        Amounts(amount=f"{value:f}")


@pytest.mark.parametrize(
    "value", ["NaN", "nan", "sNaN", "Infinity", "-Infinity", "inf", Decimal("NaN"), Decimal("-Inf")]
)
def test_money_refuses_nan_and_infinity(value: object) -> None:
    with pytest.raises(ValidationError, match="illisible"):
        Amounts(amount=value)


@pytest.mark.parametrize("value", ["", "abc", "1,50", "12.3.4", True, None, [1]])
def test_money_refuses_what_is_not_an_amount(value: object) -> None:
    with pytest.raises(ValidationError):
        Amounts(amount=value)


@pytest.mark.parametrize("value", ["0.00", "0", "-0.01", "-12.00"])
def test_positive_money_refuses_zero_and_negatives(value: str) -> None:
    with pytest.raises(ValidationError):
        Amounts(amount="1.00", positive=value)


@pytest.mark.parametrize("value", ["1E+30", "1" * 30, "100000000000000.00", "-100000000000000.00"])
def test_money_reports_a_huge_amount_as_a_validation_error(value: str) -> None:
    with pytest.raises(ValidationError):
        Amounts(amount=value)


@pytest.mark.parametrize(
    ("value", "half_up", "down"),
    [
        ("0.005", "0.01", "0.00"),
        ("0.004", "0.00", "0.00"),
        ("-0.005", "-0.01", "0.00"),
        ("1.239", "1.24", "1.23"),
        ("-1.239", "-1.24", "-1.23"),
        ("1.235", "1.24", "1.23"),
        ("2.5", "2.50", "2.50"),
        ("1000000.999", "1000001.00", "1000000.99"),
    ],
)
def test_rounding_rules(value: str, half_up: str, down: str) -> None:
    up, down_ = round_half_up(Decimal(value)), round_down(Decimal(value))
    assert (up, up.as_tuple().exponent) == (Decimal(half_up), -2)
    assert (down_, down_.as_tuple().exponent) == (Decimal(down), -2)  # -0.005 gives -0.00, equal to 0.00


exact = st.decimals(min_value=Decimal("-1e9"), max_value=Decimal("1e9"), places=6, allow_nan=False)


@given(exact)
def test_rounding_properties(value: Decimal) -> None:
    up, down = round_half_up(value), round_down(value)
    assert up.as_tuple().exponent == down.as_tuple().exponent == -2
    assert abs(value - up) <= Decimal("0.005")
    assert abs(down) <= abs(value) < abs(down) + CENTIME
    assert down == 0 or (down > 0) == (value > 0)  # towards zero, never across it
    assert round_half_up(-value) == -up  # half AWAY from zero: symmetric


# --- identifiers ---------------------------------------------------------------------------------

digits22 = st.text(alphabet="0123456789", min_size=22, max_size=22)
RIBS = TypeAdapter(Rib)


@given(digits22)
def test_rib_key_makes_a_valid_rib(first22: str) -> None:
    rib = first22 + rib_key(first22)
    assert len(rib) == 24
    assert is_valid_rib(rib)
    assert RIBS.validate_python(rib) == rib


@given(digits22, st.integers(min_value=0, max_value=23), st.integers(min_value=1, max_value=9))
def test_changing_any_single_digit_of_a_rib_makes_it_invalid(first22: str, position: int, delta: int) -> None:
    rib = first22 + rib_key(first22)
    altered = rib[:position] + str((int(rib[position]) + delta) % 10) + rib[position + 1 :]
    assert not is_valid_rib(altered)
    with pytest.raises(ValidationError):
        RIBS.validate_python(altered)


@pytest.mark.parametrize("length", [23, 25])
def test_rib_type_rejects_a_wrong_length(length: int) -> None:
    with pytest.raises(ValidationError):
        RIBS.validate_python("1" * length)


def test_rib_type_rejects_a_wrong_key_in_french() -> None:
    first22 = "0117800000012345678901"
    key = rib_key(first22)
    wrong = f"{(int(key) % 97) + 1:02d}"
    with pytest.raises(ValidationError, match="RIB invalide : 24 chiffres dont la clé"):
        RIBS.validate_python(first22 + wrong)


@given(digits22)
def test_mask_rib_keeps_only_the_last_four_digits(first22: str) -> None:
    rib = first22 + rib_key(first22)
    masked = mask_rib(rib)
    assert masked == "*" * 20 + rib[-4:]


PERIODS = TypeAdapter(Period)


@given(st.integers(min_value=1000, max_value=9999), st.integers(min_value=1, max_value=12))
def test_period_accepts_every_month(year: int, month: int) -> None:
    assert PERIODS.validate_python(f"{year}-{month:02d}") == f"{year}-{month:02d}"


@pytest.mark.parametrize("value", ["2024-13", "2024-00", "24-12", "2024-1", "2024/12", "2024-12-01", " 2024-12"])
def test_period_rejects(value: str) -> None:
    with pytest.raises(ValidationError):
        PERIODS.validate_python(value)


@pytest.mark.parametrize("value", ["2024-13", "2024-00", "2024-19", "2024-20", "2024-99"])
def test_period_rejects_a_month_out_of_range_as_a_format_error(value: str) -> None:
    """The month is in the pattern (no Python check per period): the HTTP layer words its error type
    ("format invalide", ``contracts/refusal_texts.FIELD_MESSAGES``)."""
    with pytest.raises(ValidationError) as refused:
        PERIODS.validate_python(value)
    assert [e["type"] for e in refused.value.errors()] == ["string_pattern_mismatch"]
    assert "string_pattern_mismatch" in FIELD_MESSAGES


AFFILIATES = TypeAdapter(AffiliateNumber)


@pytest.mark.parametrize("value", ["123456", "12345678", "12345a7", "", " 1234567"])
def test_affiliate_number_rejects(value: str) -> None:
    with pytest.raises(ValidationError):
        AFFILIATES.validate_python(value)


def test_affiliate_number_accepts_seven_digits() -> None:
    assert AFFILIATES.validate_python("0012345") == "0012345"


@pytest.mark.parametrize(
    ("adapter", "value"),
    [
        (AFFILIATES, "١٢٣٤٥٦٧"),  # Arabic-Indic digits
        (PERIODS, "٢٠٢٤-١٢"),
        (RIBS, "١" * 22 + rib_key("1" * 22)),
    ],
)
def test_identifiers_accept_only_ascii_digits(adapter: TypeAdapter[str], value: str) -> None:
    with pytest.raises(ValidationError):
        adapter.validate_python(value)


# --- envelopes -----------------------------------------------------------------------------------


def _charge(amount: str = "150.00") -> dict[str, Any]:
    return {
        "entry_id": "E-2024-12:1",
        "affiliate": "1234567",
        "period": "2024-12",
        "category": "principal",
        "amount": amount,
        "booked_on": date(2025, 1, 10),
    }


def test_build_sets_type_event_id_and_envelope_fields() -> None:
    message = ChargeBooked.build(_charge(), producer="seeder", occurred_at=NOW, correlation_id="req-1")
    assert message.type == ChargeBooked.TYPE == "ledger.charge_booked"
    assert isinstance(message.event_id, UUID)
    assert message.producer == "seeder"
    assert message.occurred_at == NOW
    assert message.correlation_id == "req-1"
    assert message.payload.amount == Decimal("150.00")
    other = ChargeBooked.build(_charge(), producer="seeder", occurred_at=NOW)
    assert other.event_id != message.event_id
    given_id = uuid4()
    assert ChargeBooked.build(_charge(), producer="seeder", occurred_at=NOW, event_id=given_id).event_id == given_id


def test_messages_are_frozen() -> None:
    message = ChargeBooked.build(_charge(), producer="seeder", occurred_at=NOW)
    with pytest.raises(ValidationError):
        message.producer = "someone else"  # type: ignore[misc]


def test_unknown_fields_are_rejected_in_the_envelope_and_in_the_payload() -> None:
    wire = json.loads(ChargeBooked.build(_charge(), producer="seeder", occurred_at=NOW).model_dump_json())
    with pytest.raises(ValidationError, match=r"extra_forbidden|Extra inputs"):
        ChargeBooked.model_validate({**wire, "surprise": 1})
    with pytest.raises(ValidationError, match=r"extra_forbidden|Extra inputs"):
        ChargeBooked.model_validate({**wire, "payload": {**wire["payload"], "surprise": 1}})
    with pytest.raises(ValidationError):
        DEBT_LEDGER.adapter().validate_python({**wire, "surprise": 1})


def test_occurred_at_must_carry_a_timezone() -> None:
    with pytest.raises(ValidationError):
        ChargeBooked.build(_charge(), producer="seeder", occurred_at=datetime(2025, 3, 14, 9, 30))


def _payment(amount: str = "150.00") -> dict[str, Any]:
    payload = _charge(amount)
    payload["received_on"] = payload.pop("booked_on")
    return payload


@pytest.mark.parametrize(("model", "payload"), [(ChargeBooked, _charge), (PaymentReceived, _payment)])
@pytest.mark.parametrize("amount", ["0.00", "-0.01", "-150.00"])
def test_a_ledger_entry_amount_must_be_positive(model: type[Envelope], payload: Any, amount: str) -> None:
    model.build(payload("0.01"), producer="seeder", occurred_at=NOW)  # the smallest amount is fine
    with pytest.raises(ValidationError, match="greater than 0"):
        model.build(payload(amount), producer="seeder", occurred_at=NOW)


def _message_types(topic: Topic) -> list[type[Envelope]]:
    message = topic.message
    if typing.get_origin(message) is typing.Annotated:
        message = typing.get_args(message)[0]
    members = typing.get_args(message) or (message,)
    return [member for member in members if isinstance(member, type) and issubclass(member, Envelope)]


SAMPLES: list[Envelope] = [
    LoginSucceeded.build({"login": "ali", "account_id": "A1"}, producer="auth", occurred_at=NOW),
    LoginFailed.build(
        {"login": "ali", "consecutive_failures": 2, "reason": "bad_credentials"}, producer="auth", occurred_at=NOW
    ),
    LoginLocked.build({"login": "ali", "account_id": "A1", "locked_until": NOW}, producer="auth", occurred_at=NOW),
    AccountImported.build(
        {"account_id": "A1", "login": "ali", "affiliates": ["1234567", "7654321"]}, producer="auth", occurred_at=NOW
    ),
    ChargeBooked.build(_charge(), producer="seeder", occurred_at=NOW),
    PaymentReceived.build(_payment(), producer="cnss-core", occurred_at=NOW),
    ArrangementOpened.build(
        {
            "entry_id": "AR-1",
            "affiliate": "1234567",
            "arrangement_id": "AR-1",
            "perception": {"code": "CAS-01", "name": "Casablanca Anfa"},
            "opened_on": date(2025, 1, 2),
        },
        producer="cnss-core",
        occurred_at=NOW,
    ),
    ArrangementClosed.build(
        {"entry_id": "AR-1-close", "affiliate": "1234567", "arrangement_id": "AR-1", "closed_on": date(2025, 6, 2)},
        producer="cnss-core",
        occurred_at=NOW,
    ),
    PositionChanged.build(
        {
            "affiliate": "1234567",
            "version": 3,
            "periods": [
                {
                    "period": "2024-12",
                    **{
                        category: {"due": "100.00", "paid": "40.00", "outstanding": "60.00"}
                        for category in ("principal", "majorations", "astreintes", "frais")
                    },
                }
            ],
            "arrangement": None,
        },
        producer="debt",
        occurred_at=NOW,
    ),
]


@pytest.mark.parametrize("message", SAMPLES, ids=lambda m: m.type)
def test_the_topic_adapter_dispatches_on_type(message: Envelope) -> None:
    (topic,) = [t for t in CATALOGUE if type(message) in _message_types(t)]
    decoded = topic.adapter().validate_json(message.model_dump_json())
    assert type(decoded) is type(message)
    assert decoded == message


@pytest.mark.parametrize("topic", CATALOGUE, ids=lambda t: t.name)
def test_every_message_type_of_a_topic_is_routed_by_its_type(topic: Topic) -> None:
    adapter = topic.adapter()
    for model in _message_types(topic):
        with pytest.raises(ValidationError) as caught:
            adapter.validate_python({"type": model.TYPE})
        # the tagged union chose the model named by `type`: the errors are about ITS missing fields
        assert {error["loc"][0] for error in caught.value.errors()} == {model.TYPE}
    with pytest.raises(ValidationError, match=r"union_tag_invalid|does not match any of the expected tags"):
        adapter.validate_python({"type": "nobody.knows_this"})
    with pytest.raises(ValidationError, match=r"union_tag_not_found|Unable to extract tag"):
        adapter.validate_python({"payload": {}})


def test_a_topic_refuses_the_messages_of_another_topic() -> None:
    position = next(m for m in SAMPLES if isinstance(m, PositionChanged))
    with pytest.raises(ValidationError):
        DEBT_LEDGER.adapter().validate_json(position.model_dump_json())
