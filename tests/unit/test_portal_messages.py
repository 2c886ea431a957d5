"""The one message catalogue: every sentence a page can say exists in French and in Arabic."""

import re
import string
from pathlib import Path

import pytest

from contracts.languages import fill
from services.portal.i18n import refusal_text, translator
from services.portal.messages import MESSAGES

PORTAL = Path(__file__).resolve().parents[2] / "services" / "portal"


def _used_keys() -> set[str]:
    used: set[str] = set()
    for template in (PORTAL / "templates").glob("*.html"):
        used |= set(re.findall(r"\bt\('([a-z0-9.\-_]+)'\s*[,)]", template.read_text()))
    for module in PORTAL.rglob("*.py"):
        used |= set(
            re.findall(
                r'"((?:erreur|connexion|modalite|simulation|conditions|retrait|affilies)\.[a-z\-]+)"',
                module.read_text(),
            )
        )
    return used - {
        "affilies.html",
        "connexion.html",
        "conditions.html",
        "erreur.html",
        "modalite.html",
        "simulation.html",
    }


class _Fives(dict[str, object]):
    def __missing__(self, key: str) -> int:
        return 5


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_key_a_page_uses_is_in_the_catalogue() -> None:
    missing = _used_keys() - MESSAGES.keys()
    assert not missing


@pytest.mark.parametrize("key", sorted(k for k in MESSAGES if not k.startswith("refus.")))
def test_each_sentence_exists_in_both_languages_with_the_same_blanks(key: str) -> None:
    entry = MESSAGES[key]
    assert entry["fr"].strip() and entry["ar"].strip()
    assert _fields(entry["fr"]) == _fields(entry["ar"])
    said = fill("ar", entry["ar"], _Fives())  # a count says its noun: "{n:echeances}" is Arabic once said
    assert re.search("[\u0600-\u06ff]", said), "the Arabic sentence is not in Arabic"


def test_prefixed_keys_cover_every_state_and_debit_kind() -> None:
    for state in (
        "DRAFT",
        "AWAITING_GUARANTEE",
        "VALIDATED",
        "IN_PROGRESS",
        "COMPLETED",
        "DEFAULTED",
        "EXPIRED",
        "REJECTED",
        "CANCELLED",
    ):
        assert f"etat.{state}" in MESSAGES
    for kind in ("FULL", "ADVANCE", "INSTALLMENT"):
        assert f"prelevement.{kind}" in MESSAGES
    for state in ("SCHEDULED", "ORDERED", "SETTLED", "FAILED", "CANCELLED"):
        assert f"prelevement.etat.{state}" in MESSAGES


def test_a_refusal_is_said_from_its_code_and_figures_in_both_languages() -> None:
    service = "Phrase du service, jamais relue."
    details = {
        "installments": 40,
        "installment_amount": "2500.00",
        "minimum_installment": "3000.00",
        "max_installments_allowed": 33,
    }
    assert refusal_text("fr", "echeance-sous-minimum", service, details) == (
        "Chaque échéance doit atteindre 3\u00a0000,00\u00a0MAD ; avec 40 échéances elle serait de "
        "2\u00a0500,00\u00a0MAD. Avec cette avance, choisissez au plus 33 échéances."
    )
    arabic = refusal_text("ar", "echeance-sous-minimum", service, details)
    assert "3\u00a0000,00\u00a0MAD" in arabic and arabic.endswith("على الأكثر 33 قسطا.") and "Chaque" not in arabic
    # one installment: the singular, in both languages
    one = details | {"installments": 2, "max_installments_allowed": 1}
    assert refusal_text("fr", "echeance-sous-minimum", service, one).endswith(
        "avec 2 échéances elle serait de 2\u00a0500,00\u00a0MAD. Avec cette avance, choisissez au plus 1 échéance."
    )
    assert refusal_text("ar", "echeance-sous-minimum", service, one).endswith("على الأكثر قسطا واحدا.")
    two = details | {"max_installments_allowed": 2}
    assert refusal_text("ar", "echeance-sous-minimum", service, two).endswith("على الأكثر قسطين.")
    # no plan at all with this advance: the other sentence, not "au plus 0 échéance"
    no_plan = refusal_text("fr", "echeance-sous-minimum", service, details | {"max_installments_allowed": 0})
    assert no_plan.endswith("aucun plan par acomptes n'est possible : réduisez l'avance ou payez intégralement.")
    full = {"monthly_budget": "1000.00", "minimum_monthly_budget": "1200.00", "modality": "FULL", "installments": 0}
    assert refusal_text("fr", "budget-insuffisant", service, full) == (
        "Avec 1\u00a0000,00\u00a0MAD par mois, aucun plan n'est possible : il faut au moins "
        "1\u00a0200,00\u00a0MAD (paiement intégral en une fois)."
    )


def test_a_refusal_without_figures_keeps_the_services_sentence_as_it_is() -> None:
    # the service's sentence is shown, not parsed: an amount in it is left exactly as written
    assert refusal_text("fr", "rien-a-payer", "Rien à payer : 3000.00 MAD.") == "Rien à payer : 3000.00 MAD."
    # an unknown code is never shown bare: the service's sentence stays
    assert refusal_text("ar", "code-inconnu", "Phrase du service.") == "Phrase du service."
    # a figure the service did not send leaves an ellipsis, not a crash
    assert "…" in refusal_text("ar", "echeance-sous-minimum", "x", {})


def test_french_is_the_default_language() -> None:
    assert translator("fr")("nav.creance") == "Créance consolidée"
    assert translator("ar")("nav.creance") == "الدين الموحد"
