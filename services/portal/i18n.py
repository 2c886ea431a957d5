"""One message catalogue, French and Arabic, and the language a page is shown in."""

from collections.abc import Callable
from typing import Any

from contracts.languages import DEFAULT, LANGUAGES, Language, fill
from contracts.refusal_texts import counts_text, sentence
from services.portal.messages import MESSAGES

__all__ = ["DEFAULT", "LANGUAGES", "Language", "counts_text", "direction", "language_of", "refusal_text", "translator"]


def language_of(value: str | None) -> Language:
    """The language a cookie names (``ar`` or anything else: French)."""
    return "ar" if value == "ar" else DEFAULT


def direction(lang: Language) -> str:
    return "rtl" if lang == "ar" else "ltr"


def translator(lang: Language) -> Callable[..., str]:
    def t(key: str, **values: Any) -> str:
        entry = MESSAGES[key]  # a missing key is a bug, caught by the catalogue test, not shown as a key
        text = entry.get(lang) or entry["fr"]
        return fill(lang, text, values) if values else text

    return t


def refusal_text(lang: Language, code: str, service_message: str, details: dict[str, Any] | None = None) -> str:
    """A service's refusal said in the page's language from the stable code and its figures: the
    services' own catalogue (``contracts.refusal_texts``), so a page and a gateway say the same."""
    return sentence(lang, code, service_message, details)
