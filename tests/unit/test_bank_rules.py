"""The reference bank's rules: parsing the configuration, choosing the outcome, building the answer."""

from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError

from contracts.debits import DebitExecuted, DebitOrder, DebitRejected
from contracts.identifiers import rib_key
from contracts.topics import BANK_RESULTS
from partners.bank.answers import answer, result_id
from partners.bank.config import BankSettings
from partners.bank.rules import PAY, BankRules, Decision, InvalidRule, Rule, parse_rule, parse_rules
from tests import messages

NOW = datetime(2026, 12, 10, 9, 0, tzinfo=UTC)


def rib(bank: str = "007", account: str = "1") -> str:
    first = f"{bank}780{int(account):016d}"
    return first + rib_key(first)


def order(affiliate: str = "1000003", attempt: int = 1, account: str | None = None) -> DebitOrder:
    return messages.debit_order(
        affiliate,
        end_to_end_id=f"E2E-{affiliate}-1-{attempt}",
        installments_total=3,
        attempt=attempt,
        amount="1200.50",
        debtor_account=account or rib(),
        mandate_id="MDT-1",
        remittance_information="Demande x échéance 1/3",
        at=NOW,
        correlation_id="corr-1",
    )


def test_rules_parse_with_spaces_case_and_empty_items() -> None:
    assert parse_rules("") == {}
    assert parse_rules(" 1000003=ac04 , 1000004 = AM04-Once,*=PAY,,") == {
        "1000003": Rule("AC04"),
        "1000004": Rule("AM04", once=True),
        "*": PAY,
    }
    assert parse_rules(f"{rib()}=MS02") == {rib(): Rule("MS02")}
    assert parse_rules("1000003=AC04,1000003=ac04") == {"1000003": Rule("AC04")}
    assert [str(parse_rule(t)) for t in ("pay", "AC04", "am04-once")] == ["pay", "AC04", "AM04-once"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1000003", "affilié\\|RIB\\|\\*=réponse"),
        ("100003=AC04", "7 chiffres"),
        ("007780000000000000000199=AC04", "clé modulo 97"),
        ("1000003=refuse", "réponse inconnue"),
        ("1000003=AM4-once", "réponse inconnue"),
        ("1000003=AC04,1000003=pay", "contradictoires"),
    ],
)
def test_bad_rules_are_refused_in_french(text: str, message: str) -> None:
    with pytest.raises(InvalidRule, match=message):
        parse_rules(text)


def test_a_rib_rule_wins_over_an_affiliate_rule_which_wins_over_the_wildcard() -> None:
    rules = BankRules.from_text(f"1000003=AC04,{rib(account='9')}=MS02,*=AM04")
    assert rules.decide("1000003", rib(account="9"), 1) == Decision("rejected", "MS02")
    assert rules.decide("1000003", rib(), 1) == Decision("rejected", "AC04")
    assert rules.decide("1000009", rib(), 1) == Decision("rejected", "AM04")
    assert BankRules().decide("1000009", rib(), 1) == Decision("executed")  # no rule: the bank pays


def test_a_once_rule_rejects_the_first_attempt_only_and_a_code_rule_every_attempt() -> None:
    rules = BankRules.from_text("1000004=AM04-once,1000003=AC04")
    assert [rules.decide("1000004", rib(), n) for n in (1, 2, 3)] == [
        Decision("rejected", "AM04"),
        Decision("executed"),
        Decision("executed"),
    ]
    assert {rules.decide("1000003", rib(), n) for n in (1, 2)} == {Decision("rejected", "AC04")}


def test_answers_follow_the_rules_with_deterministic_ids_and_valid_contracts() -> None:
    rules = BankRules.from_text("1000004=AM04-once")
    first = answer(rules, order("1000004", attempt=1), "007", NOW)
    again = answer(rules, order("1000004", attempt=1), "007", NOW)
    assert isinstance(first, DebitRejected)
    assert first.payload.reason_code == "AM04" and first.payload.bank_code == "007"
    assert first.payload.rejected_on == date(2026, 12, 10)  # the requested collection date
    assert first.event_id == again.event_id == result_id("E2E-1000004-1-1", "rejected")
    assert first.correlation_id == "corr-1"

    second = answer(rules, order("1000004", attempt=2), "007", NOW)
    assert isinstance(second, DebitExecuted)
    assert str(second.payload.amount) == "1200.50" and second.payload.settled_on == date(2026, 12, 10)
    assert second.event_id == result_id("E2E-1000004-1-2", "executed") != first.event_id
    for message in (first, second):  # what goes on the topic is what the catalogue says
        assert BANK_RESULTS.adapter().validate_json(message.model_dump_json()) == message


def test_settings_read_the_environment_and_fail_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BANK_RULES", "1000003=AC04,*=pay")
    monkeypatch.setenv("BANK_CODES", "007, 011")
    monkeypatch.setenv("BANK_DELAY_MS", "250")
    settings = BankSettings()
    assert settings.codes() == ["007", "011"] and settings.delay_ms == 250 and settings.http_port == 8191
    assert settings.bank_rules().decide("1000003", rib(), 2) == Decision("rejected", "AC04")
    assert settings.group_id("011") == "bank-011"
    monkeypatch.delenv("BANK_CODES")
    assert len(BankSettings().codes()) == 9  # every bank of the registry
    monkeypatch.setenv("BANK_RULES", "1000003=maybe")
    with pytest.raises(ValidationError, match="réponse inconnue"):
        BankSettings()
    monkeypatch.setenv("BANK_RULES", "")
    monkeypatch.setenv("BANK_CODES", "007,999")
    with pytest.raises(ValidationError, match="banque inconnue : 999"):
        BankSettings()
