"""What the reference perception answers to a guarantee request: pure rules read from configuration.

``PERCEPTION_DEFAULT`` says what happens to every affiliate, ``PERCEPTION_RULES`` (``1000003=refuse,
1000004=ignore``) names the affiliates that get another answer, so a demo or a test can show every
path of the request lifecycle (deposited, refused, nothing until the deadline).
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from contracts.identifiers import AFFILIATE_PATTERN

Issue = Literal["deposit", "refuse", "ignore"]
ISSUES: tuple[Issue, ...] = ("deposit", "refuse", "ignore")

_AFFILIATE = re.compile(AFFILIATE_PATTERN)


class InvalidRule(ValueError):
    pass


def parse_issue(text: str) -> Issue:
    value = text.strip().lower()
    if value not in ISSUES:
        raise InvalidRule(f"réponse inconnue « {text.strip()} » : attendu {', '.join(ISSUES)}")
    return value


def parse_rules(text: str) -> dict[str, Issue]:
    """``"1000003=refuse, 1000004=ignore"`` → ``{"1000003": "refuse", "1000004": "ignore"}``; empty → ``{}``."""
    rules: dict[str, Issue] = {}
    for item in text.split(","):
        if not item.strip():
            continue
        affiliate, sep, issue = item.partition("=")
        affiliate = affiliate.strip()
        if not sep:
            raise InvalidRule(f"règle « {item.strip()} » : attendu numéro=réponse, p. ex. 1000003=refuse")
        if not _AFFILIATE.match(affiliate):
            raise InvalidRule(f"règle « {item.strip()} » : le numéro d'affiliation a 7 chiffres")
        parsed = parse_issue(issue)
        if rules.setdefault(affiliate, parsed) != parsed:
            raise InvalidRule(f"l'affilié {affiliate} a deux règles contradictoires")
    return rules


@dataclass(frozen=True)
class AnswerRules:
    default: Issue = "deposit"
    by_affiliate: Mapping[str, Issue] = field(default_factory=dict)

    @classmethod
    def from_text(cls, default: str, rules: str) -> "AnswerRules":
        return cls(parse_issue(default), parse_rules(rules))

    def issue(self, affiliate: str) -> Issue:
        return self.by_affiliate.get(affiliate, self.default)
