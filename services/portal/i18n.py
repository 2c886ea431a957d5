"""One message catalogue, French and Arabic, and the language a page is shown in."""

import re
from collections.abc import Callable
from typing import Any, Literal

from contracts.money import format_amount
from services.portal.messages import MESSAGES

_AMOUNT = re.compile(r"^-?\d+\.\d{2}$")

Language = Literal["fr", "ar"]
LANGUAGES: tuple[Language, ...] = ("fr", "ar")
DEFAULT: Language = "fr"


def language_of(value: str | None) -> Language:
    return "ar" if value == "ar" else DEFAULT


def direction(lang: Language) -> str:
    return "rtl" if lang == "ar" else "ltr"


def translator(lang: Language) -> Callable[..., str]:
    def t(key: str, **values: Any) -> str:
        entry = MESSAGES[key]  # a missing key is a bug, caught by the catalogue test, not shown as a key
        text = entry.get(lang) or entry["fr"]
        return text.format(**values) if values else text

    return t


class _Blanks(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "…"


_VARIANTS: dict[str, Callable[[dict[str, Any]], str | None]] = {
    # the same refusal reads differently when its figures say so
    "echeance-sous-minimum": lambda d: "sans-plan" if d.get("max_installments_allowed") == 0 else None,
    "budget-insuffisant": lambda d: "integral" if d.get("modality") == "FULL" else None,
}


def refusal_text(lang: Language, code: str, service_message: str, details: dict[str, Any] | None = None) -> str:
    """A service's refusal said in the page's language from the stable code and the figures the
    service sent with it (amounts written the Moroccan way by ``contracts.money.format_amount``).
    The service's own sentence is shown as it is, never parsed, when the catalogue has no sentence
    for the code in this language (a code that carries no figure, or one the portal does not know
    yet): always readable, never a bare code."""
    figures = details or {}
    choose = _VARIANTS.get(code)
    variant = choose(figures) if choose else None
    entry = (variant and MESSAGES.get(f"refus.{code}.{variant}")) or MESSAGES.get(f"refus.{code}")
    text = entry.get(lang) if entry else None
    if not text:
        return service_message
    filled = {k: format_amount(v) if isinstance(v, str) and _AMOUNT.match(v) else v for k, v in figures.items()}
    return text.format_map(_Blanks(filled))
