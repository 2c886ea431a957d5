"""The reference perception's rules: parsing the configuration and choosing the answer."""

import uuid
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from contracts.perception import GuaranteeDeposited, GuaranteeRefused
from contracts.requests import GuaranteeRequired
from contracts.topics import PERCEPTION_GUARANTEES
from partners.perception.answers import answer, answer_id, default_reference, deposited
from partners.perception.config import PerceptionSettings
from partners.perception.rules import AnswerRules, InvalidRule, parse_issue, parse_rules
from tests import messages

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def test_rules_parse_with_spaces_case_and_empty_items() -> None:
    assert parse_rules("") == {}
    assert parse_rules(" 1000003=refuse , 1000004 = IGNORE,,") == {"1000003": "refuse", "1000004": "ignore"}
    assert parse_rules("1000003=refuse,1000003=refuse") == {"1000003": "refuse"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1000003", "numéro=réponse"),
        ("100003=refuse", "7 chiffres"),
        ("1000003=accept", "réponse inconnue"),
        ("1000003=refuse,1000003=deposit", "contradictoires"),
    ],
)
def test_bad_rules_are_refused_in_french(text: str, message: str) -> None:
    with pytest.raises(InvalidRule, match=message):
        parse_rules(text)


def test_an_affiliate_rule_wins_over_the_default() -> None:
    answer_rules = AnswerRules.from_text("ignore", "1000003=deposit")
    assert answer_rules.issue("1000003") == "deposit"
    assert answer_rules.issue("1000009") == "ignore"
    assert AnswerRules().issue("1000009") == "deposit"
    with pytest.raises(InvalidRule):
        parse_issue("peut-être")


def test_settings_read_the_environment_and_fail_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PERCEPTION_DEFAULT", "refuse")
    monkeypatch.setenv("PERCEPTION_RULES", "1000004=ignore")
    monkeypatch.setenv("PERCEPTION_DELAY_MS", "250")
    settings = PerceptionSettings()
    assert (settings.answer_rules().default, dict(settings.answer_rules().by_affiliate), settings.delay_ms) == (
        "refuse",
        {"1000004": "ignore"},
        250,
    )
    assert settings.http_port == 8190
    assert settings.kafka_group_id is None and settings.service_name == "perception"  # group "perception"
    monkeypatch.setenv("PERCEPTION_RULES", "1000004=oui")
    with pytest.raises(ValidationError):
        PerceptionSettings()


def required(affiliate: str, request_id: uuid.UUID) -> GuaranteeRequired:
    return messages.guarantee_required(affiliate, request_id=request_id, at=NOW)


def test_answers_follow_the_rules_with_stable_ids() -> None:
    answer_rules = AnswerRules.from_text("deposit", "1000003=refuse,1000004=ignore")
    request_id = uuid.uuid4()
    kwargs = {"guarantee_type": "NANTISSEMENT", "refusal_reason": "Non."}

    deposit = answer(answer_rules, required("1000001", request_id), NOW, **kwargs)  # type: ignore[arg-type]
    assert isinstance(deposit, GuaranteeDeposited)
    assert deposit.payload.reference == default_reference(request_id)
    assert deposit.payload.reference.startswith("GAR-") and len(deposit.payload.reference) == 12
    assert (deposit.payload.guarantee_type, deposit.payload.perception) == ("NANTISSEMENT", "CAS-01")
    # a redelivered request gets the very same answer id: the requests service applies it once
    again = answer(answer_rules, required("1000001", request_id), NOW, **kwargs)  # type: ignore[arg-type]
    assert again is not None and again.event_id == deposit.event_id == answer_id(request_id, "deposit")

    refusal = answer(answer_rules, required("1000003", request_id), NOW, **kwargs)  # type: ignore[arg-type]
    assert isinstance(refusal, GuaranteeRefused) and refusal.payload.reason == "Non."
    assert refusal.event_id != deposit.event_id

    assert answer(answer_rules, required("1000004", request_id), NOW, **kwargs) is None  # type: ignore[arg-type]


def test_answers_fit_the_topic_contract() -> None:
    message = deposited(uuid.uuid4(), "1000001", "CAS-01", NOW, reference="GAR-MANUEL")
    parsed = PERCEPTION_GUARANTEES.adapter().validate_json(message.model_dump_json())
    assert parsed == message
    with pytest.raises(ValidationError):
        deposited(uuid.uuid4(), "1000001", "CAS-01", NOW, guarantee_type="CHEQUE")
