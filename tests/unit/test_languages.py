"""A count said with its noun in the form each language gives that number (CLDR's plural rules)."""

import string

import pytest
from babel import Locale

from contracts.languages import FORMS, LANGUAGES, NOUNS, Language, fill, in_french, plural_form, said
from contracts.refusal_texts import TEXTS
from services.portal.i18n import translator
from services.portal.messages import MESSAGES

COUNTS = [*range(0, 1_250), *range(99_990, 100_120), 1_000_000, 2_000_000, 1_000_001]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_rules_are_cldrs(lang: Language) -> None:
    """Written by hand for two languages; Babel carries CLDR's data for every language."""
    cldr = Locale.parse(lang).plural_form
    assert [plural_form(lang, n) for n in COUNTS] == [cldr(n) for n in COUNTS]
    assert set(FORMS[lang]) == set(cldr.tags) | {"other"}


@pytest.mark.parametrize("noun", sorted(NOUNS))
def test_each_noun_has_each_form_its_language_uses(noun: str) -> None:
    assert set(NOUNS[noun]["fr"]) == {"one", "other"}  # "many" is a million: "other" says it
    assert set(NOUNS[noun]["ar"]) == set(FORMS["ar"])


@pytest.mark.parametrize(
    ("lang", "n", "expected"),
    [
        ("fr", 0, "0 échéance"),
        ("fr", 1, "1 échéance"),
        ("fr", 2, "2 échéances"),
        ("fr", 60, "60 échéances"),
        ("ar", 1, "قسط واحد"),
        ("ar", 2, "قسطان"),
        ("ar", 3, "3 أقساط"),
        ("ar", 10, "10 أقساط"),
        ("ar", 11, "11 قسطا"),
        ("ar", 60, "60 قسطا"),
        ("ar", 100, "100 قسط"),
        ("ar", 103, "103 أقساط"),
    ],
)
def test_a_count_is_said_with_its_noun(lang: Language, n: int, expected: str) -> None:
    assert said(lang, "echeances", n) == expected


def test_a_sentence_says_its_counts_and_leaves_other_fields_alone() -> None:
    assert fill("fr", "{n:prelevements} ; le premier le {jour}", {"n": 1, "jour": "10/01/2027"}) == (
        "1 prélèvement ; le premier le 10/01/2027"
    )
    assert fill("ar", "{n:prelevements}", {"n": 2}) == "اقتطاعان"
    assert fill("fr", "{n:presentations} et {x:>3}", {"n": 2, "x": 7}) == "2 présentations et   7"
    assert fill("fr", "au plus {n:echeances}", {"n": "…"}) == "au plus …"  # a figure the refusal lacks
    assert fill("fr", "dans les {n:jours}", {"n": "30"}) == "dans les 30 jours"  # read from a form or JSON
    huge = "9" * 5_000  # int() refuses a text past 4,300 digits: the page still renders
    assert fill("fr", "au plus {n:echeances}", {"n": huge}) == f"au plus {huge}"


def test_the_portal_says_counts_in_both_languages() -> None:
    fr, ar = translator("fr"), translator("ar")
    assert fr("devis.plan", n=1) == "1 échéance"
    assert fr("echeancier.voir", n=1) == "Voir l'échéancier (1 prélèvement)"  # a full payment's one debit
    assert fr("prelevement.tentatives", n=2) == "2 présentations"
    assert ar("prelevement.tentatives", n=2) == "تقديمان"
    assert ar("devis.plan", n=24) == "24 قسطا"
    assert fr("affilies.intro", n=3).startswith("Votre compte gère 3 affiliés.")


def _specs(text: str) -> set[str]:
    return {spec for _, name, spec, _ in string.Formatter().parse(text) if name and spec}


def test_every_count_in_the_catalogues_names_a_known_noun_and_none_says_s_in_brackets() -> None:
    sentences = [text for entry in MESSAGES.values() for text in entry.values()]
    sentences += [text for entry in TEXTS.values() for text in entry.values()]
    assert set().union(*(_specs(text) for text in sentences)) <= NOUNS.keys()
    assert not [text for text in sentences if "(s)" in text]


def test_an_operators_count_is_said_in_french_without_brackets() -> None:
    assert [in_french(n, "message rejeté", "messages rejetés") for n in (0, 1, 2, 12)] == [
        "0 message rejeté",
        "1 message rejeté",
        "2 messages rejetés",
        "12 messages rejetés",
    ]
