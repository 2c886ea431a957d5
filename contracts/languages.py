"""The platform's two languages, and how each says a count of things.

"1 échéance(s)" reads as a form, not as a sentence, and Arabic has six forms where French has two:
one thing, two things (the dual), three to ten (plural), eleven to ninety-nine (singular, accusative),
a hundred (singular again). A count in a sentence is written ``{n:echeances}``: the number with its
noun in the form the language gives that number (``said``), by CLDR's plural rules
(https://www.unicode.org/cldr/charts/latest/supplemental/language_plural_rules.html), written here
for the two languages rather than imported: Babel carries every language's rules and data (30 MB)
for these ten lines; ``tests/unit/test_languages.py`` holds them to Babel's CLDR data.
"""

import string
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, Literal

Language = Literal["fr", "ar"]
LANGUAGES: tuple[Language, ...] = ("fr", "ar")
DEFAULT: Language = "fr"

Form = Literal["zero", "one", "two", "few", "many", "other"]
FORMS: dict[Language, tuple[Form, ...]] = {
    "fr": ("one", "many", "other"),
    "ar": ("zero", "one", "two", "few", "many", "other"),
}
"""CLDR's plural categories of whole numbers in each language."""


def plural_form(lang: Language, n: int) -> Form:
    """CLDR's category of the whole number ``n`` in ``lang``."""
    return _arabic(abs(n)) if lang == "ar" else _french(abs(n))


def _arabic(n: int) -> Form:
    small: tuple[Form, ...] = ("zero", "one", "two")
    if n < len(small):
        return small[n]
    if 3 <= n % 100 <= 10:
        return "few"
    return "many" if 11 <= n % 100 <= 99 else "other"


def _french(n: int) -> Form:
    if n <= 1:
        return "one"
    return "many" if n % 1_000_000 == 0 else "other"  # "1 000 000 d'échéances"


NOUNS: dict[str, dict[Language, dict[Form, str]]] = {
    # French "many" (a million and its multiples) falls back to "other": no count here comes near it.
    # Arabic after 3-10 takes the plural, after 11-99 the singular in the accusative, otherwise the
    # singular; the one and the dual are said without the figure, as Arabic does, and in the case their
    # sentences want (the nominative, or the genitive after a word like أجل; "-objet": the accusative).
    "echeances": {
        "fr": {"one": "{n} échéance", "other": "{n} échéances"},
        "ar": {
            "zero": "{n} قسط",
            "one": "قسط واحد",
            "two": "قسطان",
            "few": "{n} أقساط",
            "many": "{n} قسطا",
            "other": "{n} قسط",
        },
    },
    "echeances-objet": {
        # the same, as the object of a verb ("اختر على الأكثر قسطين"): the one and the dual in the accusative
        "fr": {"one": "{n} échéance", "other": "{n} échéances"},
        "ar": {
            "zero": "{n} قسط",
            "one": "قسطا واحدا",
            "two": "قسطين",
            "few": "{n} أقساط",
            "many": "{n} قسطا",
            "other": "{n} قسط",
        },
    },
    "prelevements": {
        "fr": {"one": "{n} prélèvement", "other": "{n} prélèvements"},
        "ar": {
            "zero": "{n} اقتطاع",
            "one": "اقتطاع واحد",
            "two": "اقتطاعان",
            "few": "{n} اقتطاعات",
            "many": "{n} اقتطاعا",
            "other": "{n} اقتطاع",
        },
    },
    "presentations": {
        "fr": {"one": "{n} présentation", "other": "{n} présentations"},
        "ar": {
            "zero": "{n} تقديم",
            "one": "تقديم واحد",
            "two": "تقديمان",
            "few": "{n} تقديمات",
            "many": "{n} تقديما",
            "other": "{n} تقديم",
        },
    },
    "affilies": {
        "fr": {"one": "{n} affilié", "other": "{n} affiliés"},
        "ar": {
            "zero": "{n} منخرط",
            "one": "منخرطا واحدا",
            "two": "منخرطين اثنين",
            "few": "{n} منخرطين",
            "many": "{n} منخرطا",
            "other": "{n} منخرط",
        },
    },
    "jours": {
        "fr": {"one": "{n} jour", "other": "{n} jours"},
        "ar": {
            "zero": "{n} يوم",
            "one": "يوم واحد",
            "two": "يومين",
            "few": "{n} أيام",
            "many": "{n} يوما",
            "other": "{n} يوم",
        },
    },
    "periodes": {
        "fr": {"one": "{n} période", "other": "{n} périodes"},
        "ar": {
            "zero": "{n} فترة",
            "one": "فترة واحدة",
            "two": "فترتان",
            "few": "{n} فترات",
            "many": "{n} فترة",
            "other": "{n} فترة",
        },
    },
}
"""Each counted noun in each form its language has (French: one and other)."""


def said(lang: Language, noun: str, n: int) -> str:
    """``n`` things of ``noun`` (a key of ``NOUNS``) as ``lang`` says them: ``said("fr", "echeances", 1)``
    is "1 échéance", ``said("ar", "echeances", 2)`` "قسطان"."""
    forms = NOUNS[noun][lang]
    return (forms.get(plural_form(lang, n)) or forms["other"]).format(n=n)


def in_french(n: int, one: str, other: str) -> str:
    """A count in an operator's sentence (French only, no catalogue): ``in_french(1, "message rejeté",
    "messages rejetés")`` is "1 message rejeté", with 0 "0 message rejeté", with 3 "3 messages rejetés"."""
    return f"{n} {one if plural_form('fr', n) == 'one' else other}"


class CountingFormatter(string.Formatter):
    """``str.format`` where ``{field:noun}`` says a count with its noun (``said``); anything else as usual.
    A count written in up to 18 ASCII digits is a count too (a figure read from JSON or a form); anything
    else (the "…" of a figure a refusal lacks, 5,000 digits that ``int`` refuses past 4,300) is written
    as it is."""

    def __init__(self, lang: Language) -> None:
        self.lang = lang

    def format_field(self, value: Any, format_spec: str) -> str:
        if format_spec in NOUNS:
            if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 18:
                value = int(value)
            return said(self.lang, format_spec, value) if type(value) is int else str(value)
        return str(super().format_field(value, format_spec))


def fill(lang: Language, text: str, values: Mapping[str, Any]) -> str:
    """``text`` with its fields from ``values``, counts said in ``lang``. A text without a count is
    filled by ``str.format_map`` (C): a page fills a hundred labels, most of them without one."""
    if _counts(text):
        return CountingFormatter(lang).vformat(text, (), values)
    return text.format_map(values)


@lru_cache(maxsize=4096)
def _counts(text: str) -> bool:
    return any(spec in NOUNS for _, name, spec, _ in _PARSER.parse(text) if name is not None)


_PARSER = string.Formatter()
