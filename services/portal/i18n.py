"""One message catalogue, French and Arabic, and the language a page is shown in."""

import re
from collections.abc import Callable
from typing import Any, Literal

from services.portal.formatting import montant
from services.portal.messages import MESSAGES

_AMOUNT = re.compile(r"^-?\d+\.\d{2}$")
_AMOUNT_IN_SENTENCE = re.compile(r"(-?\d+\.\d{2}) MAD")

Langue = Literal["fr", "ar"]
LANGUES: tuple[Langue, ...] = ("fr", "ar")
DEFAULT: Langue = "fr"


def langue(value: str | None) -> Langue:
    return "ar" if value == "ar" else DEFAULT


def direction(lang: Langue) -> str:
    return "rtl" if lang == "ar" else "ltr"


def traducteur(lang: Langue) -> Callable[..., str]:
    def t(key: str, **values: Any) -> str:
        entry = MESSAGES[key]  # a missing key is a bug, caught by the catalogue test, not shown as a key
        text = entry.get(lang) or entry["fr"]
        return text.format(**values) if values else text

    return t


class _Blancs(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "…"


def refus(lang: Langue, code: str, message_du_service: str, details: dict[str, Any] | None = None) -> str:
    """A service's refusal said in the page's language: the catalogue knows the stable codes (and
    fills in the figures the service sent with it); an unknown code keeps the service's own French
    message, always readable, never a bare code."""
    entry = MESSAGES.get(f"refus.{code}")
    if entry is None or (lang == "fr" and message_du_service):
        # In French, the service's own sentence carries every figure: only its amounts are re-read
        # the Moroccan way (services write 3000.00 MAD, pages 3 000,00 MAD).
        return _AMOUNT_IN_SENTENCE.sub(lambda m: montant(m.group(1)), message_du_service)
    text = entry.get(lang) or entry["fr"]
    figures = {k: montant(v) if isinstance(v, str) and _AMOUNT.match(v) else v for k, v in (details or {}).items()}
    return text.format_map(_Blancs(figures))
