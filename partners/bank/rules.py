"""What the reference bank answers to a debit order: pure rules read from configuration.

``BANK_RULES`` names an affiliate (7 digits), a RIB (24 digits) or ``*`` (everyone else) and what
the bank does with their orders::

    BANK_RULES="1000003=AC04,1000004=AM04-once,011000000000000000000040=MS02,*=pay"

- ``pay``: the debit is executed;
- an ISO 20022 reason code (``AC04``): every attempt is rejected with it;
- ``<CODE>-once`` (``AM04-once``): the first attempt is rejected with it, the next ones are paid.

A RIB rule wins over an affiliate rule, which wins over ``*``; without any rule the bank pays. The
decision depends only on the order (its affiliate, RIB and attempt number), never on what the bank
saw before: a redelivered order gets the same answer. (An order presented twice is answered AM05
whatever the rules say: see ``ledger``.)
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from contracts.identifiers import AFFILIATE_PATTERN, is_valid_rib

Outcome = Literal["executed", "rejected"]

WILDCARD = "*"
_AFFILIATE = re.compile(AFFILIATE_PATTERN)
_RIB = re.compile(r"^[0-9]{24}$")
_REASON = re.compile(r"^[A-Z0-9]{4}$")


class InvalidRule(ValueError):
    pass


@dataclass(frozen=True)
class Rule:
    """``reason_code`` None: pay. ``once``: only the first attempt is rejected."""

    reason_code: str | None = None
    once: bool = False

    def __str__(self) -> str:
        if self.reason_code is None:
            return "pay"
        return f"{self.reason_code}-once" if self.once else self.reason_code


PAY = Rule()


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    reason_code: str | None = None


def parse_rule(text: str) -> Rule:
    """``pay`` | ``AC04`` | ``AM04-once`` (case and spaces do not matter)."""
    value = text.strip().upper()
    if value == "PAY":
        return PAY
    code, once = (value[: -len("-ONCE")], True) if value.endswith("-ONCE") else (value, False)
    if not _REASON.match(code):
        raise InvalidRule(
            f"réponse inconnue « {text.strip()} » : attendu pay, un code motif ISO 20022 (AM04) ou CODE-once"
        )
    return Rule(code, once)


def parse_rules(text: str) -> dict[str, Rule]:
    """``"1000003=AC04, *=pay"`` → ``{"1000003": Rule("AC04"), "*": PAY}``; empty → ``{}``."""
    rules: dict[str, Rule] = {}
    for item in text.split(","):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep:
            raise InvalidRule(f"règle « {item.strip()} » : attendu affilié|RIB|*=réponse, p. ex. 1000003=AM04-once")
        if key != WILDCARD and not _AFFILIATE.match(key):
            if not _RIB.match(key):
                raise InvalidRule(
                    f"règle « {item.strip()} » : attendu un numéro d'affiliation (7 chiffres), un RIB (24) ou *"
                )
            if not is_valid_rib(key):
                raise InvalidRule(f"règle « {item.strip()} » : RIB invalide (clé modulo 97)")
        rule = parse_rule(value)
        if rules.setdefault(key, rule) != rule:
            raise InvalidRule(f"{key} a deux règles contradictoires")
    return rules


@dataclass(frozen=True)
class BankRules:
    rules: Mapping[str, Rule] = field(default_factory=dict)

    @classmethod
    def from_text(cls, text: str) -> "BankRules":
        return cls(parse_rules(text))

    def rule_for(self, affiliate: str, rib: str) -> Rule:
        for key in (rib, affiliate, WILDCARD):
            if key in self.rules:
                return self.rules[key]
        return PAY

    def decide(self, affiliate: str, rib: str, attempt: int) -> Decision:
        rule = self.rule_for(affiliate, rib)
        if rule.reason_code is None or (rule.once and attempt > 1):
            return Decision("executed")
        return Decision("rejected", rule.reason_code)
