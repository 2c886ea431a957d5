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


_RANGE = {"fr": "de {min} à {max}", "ar": "من {min} إلى {max}"}
_OR = {"fr": " ou ", "ar": " أو "}
_AND = {"fr": ", ", "ar": "، "}


def counts_text(lang: Language, ranges: list[dict[str, int]]) -> str:
    """Installment counts as a service sends them (``[{"min": 1, "max": 23}, {"min": 25, "max": 60}]``),
    said in the page's language: "de 1 à 23 ou de 25 à 60", "من 1 إلى 23 أو من 25 إلى 60"."""
    words = [str(r["min"]) if r["min"] == r["max"] else _RANGE[lang].format(**r) for r in ranges]
    if len(words) <= 1:
        return "".join(words)
    return _AND[lang].join(words[:-1]) + _OR[lang] + words[-1]


def _ranges_of(figures: dict[str, Any]) -> list[dict[str, int]] | None:
    """The allowed counts a refusal names: ``allowed``, or the one range of an older answer."""
    allowed = figures.get("allowed")
    if isinstance(allowed, list):
        return allowed
    low, high = figures.get("min_installments"), figures.get("max_installments")
    return [{"min": low, "max": high}] if isinstance(low, int) and isinstance(high, int) else None


def _gapped(figures: dict[str, Any]) -> bool:
    """Not every count from 1 to the largest: "au plus n" would send the affiliate to a refused count."""
    allowed = figures.get("allowed")
    return isinstance(allowed, list) and bool(allowed) and (len(allowed) > 1 or allowed[0].get("min") != 1)


class _Blanks(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "…"


_VARIANTS: dict[str, Callable[[dict[str, Any]], str | None]] = {
    # the same refusal reads differently when its figures say so
    "echeance-sous-minimum": lambda d: (
        "sans-plan" if d.get("max_installments_allowed") == 0 else "plages" if _gapped(d) else None
    ),
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
    if (ranges := _ranges_of(figures)) is not None:
        filled["plages"] = counts_text(lang, ranges)
    return text.format_map(_Blanks(filled))
