"""Every code a service can answer exists in French and in Arabic (issue 17): one catalogue,
``contracts.refusal_texts``, for the services' problem+json and the portal's pages."""

import ast
import re
import string
from pathlib import Path

import pytest
from starlette.requests import Request

from contracts.refusal_texts import TEXTS, language_of, sentence
from services.runtime import problems
from services.runtime.problems import Problem

ROOT = Path(__file__).resolve().parents[2]
CODE = re.compile(r"[a-z0-9]+(-[a-z0-9]+)+")
ARABIC = re.compile("[\u0600-\u06ff]")


def _literal(node: ast.expr, names: dict[str, str]) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):
        return names.get(node.id)
    if isinstance(node, ast.Attribute):  # refusals.ECHEANCE_SOUS_MINIMUM
        return names.get(node.attr)
    return None


def codes_in_the_code() -> dict[str, str]:
    """code -> where: the second argument of ``Problem(...)``, the first of ``Refusal(...)``,
    ``refused(...)`` and a refusal's ``super().__init__(...)``, names resolved through the modules'
    string constants (simulation's refusal codes are constants)."""
    modules = [
        p for p in (*(ROOT / "services").rglob("*.py"), *(ROOT / "contracts").rglob("*.py")) if "portal" not in p.parts
    ]
    trees = {path: ast.parse(path.read_text(encoding="utf-8")) for path in modules}
    names: dict[str, str] = {}
    for tree in trees.values():
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                value = _literal(node.value, {})
                if value is not None and CODE.fullmatch(value) and node.targets[0].id.isupper():
                    names[node.targets[0].id] = value
    found: dict[str, str] = {}
    for path, tree in trees.items():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            called = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            position = 1 if called == "Problem" else 0 if called in ("Refusal", "refused", "__init__") else None
            if position is None or len(node.args) <= position:
                continue
            code = _literal(node.args[position], names)
            if code is not None and CODE.fullmatch(code):
                found.setdefault(code, str(path.relative_to(ROOT)))
    for code, _ in problems._STATUS_PROBLEMS.values():
        found.setdefault(code, "services/runtime/problems.py")
    return found


def test_the_scan_finds_the_codes_of_every_layer() -> None:
    """The scan below must see each way a code is written, or the next test proves nothing."""
    found = codes_in_the_code()
    for code in ("devis-introuvable", "echeance-sous-minimum", "requete-invalide", "acces-refuse", "session-invalide"):
        assert code in found, code
    assert len(found) >= 60


def test_every_code_a_service_can_send_has_its_arabic_sentence() -> None:
    missing = {
        code: where
        for code, where in codes_in_the_code().items()
        if not ARABIC.search(TEXTS.get(code, {}).get("ar", ""))
    }
    assert not missing, f"codes without an Arabic sentence in contracts/refusal_texts.py: {missing}"


@pytest.mark.parametrize("key", sorted(TEXTS))
def test_a_sentence_with_figures_has_them_in_both_languages(key: str) -> None:
    entry = TEXTS[key]
    assert ARABIC.search(entry["ar"])
    blanks = {name for _, name, _, _ in string.Formatter().parse(entry["ar"]) if name}
    if entry["fr"]:
        assert blanks <= {name for _, name, _, _ in string.Formatter().parse(entry["fr"]) if name}
    else:
        assert not blanks  # the service's own French carries the figures; the Arabic then needs none


@pytest.mark.parametrize(
    ("header", "language"),
    [
        ("ar", "ar"),
        ("ar-MA,fr;q=0.5", "ar"),
        ("fr-FR,ar;q=0.9", "fr"),
        ("en-US,en;q=0.9", "fr"),
        ("fr;q=0.1, ar;q=0.5", "ar"),
        ("ar;q=0", "fr"),
        ("*", "fr"),
        ("", "fr"),
        (None, "fr"),
        ("ar;q=abc", "fr"),
        ("x" * 5000, "fr"),
    ],
)
def test_the_language_a_caller_asks_for(header: str | None, language: str) -> None:
    assert language_of(header) == language


def _request(accept_language: str | None) -> Request:
    headers = [(b"accept-language", accept_language.encode())] if accept_language else []
    return Request(
        {"type": "http", "method": "POST", "path": "/v1/simulations", "headers": headers, "query_string": b""}
    )


def test_a_refusal_with_figures_is_said_in_arabic_with_its_figures_kept_as_fields() -> None:
    refusal = Problem(
        422,
        "avance-hors-limites",
        "L'avance doit être comprise entre 0.00 et 12500.50.",
        advance_min="0.00",
        advance_max="12500.50",
    )
    arabic = refusal.answer(_request("ar-MA"))
    french = refusal.answer(_request(None))
    assert arabic.headers["content-language"] == "ar" and french.headers["content-language"] == "fr"
    body = arabic.body.decode()
    assert "يجب أن يكون التسبيق بين" in body and "12\u00a0500,50\u00a0MAD" in body  # the Moroccan way
    assert '"advance_max":"12500.50"' in body and '"code":"avance-hors-limites"' in body  # figures for programs
    assert "L'avance doit" in french.body.decode()


def test_a_code_the_catalogue_lacks_keeps_the_services_french() -> None:
    assert sentence("ar", "code-inconnu", "Phrase du service.") == "Phrase du service."


def test_an_invalid_request_lists_its_fields_in_arabic() -> None:
    invalid = Problem(
        422,
        "requete-invalide",
        "La requête contient des valeurs invalides.",
        "affiliate : champ obligatoire",
        errors=[{"field": "affiliate", "code": "missing", "message": "champ obligatoire"}],
    )
    body = invalid.answer(_request("ar")).body.decode()
    assert "حقل إلزامي" in body and "champ obligatoire" not in body
    assert '"field":"affiliate"' in body and '"code":"missing"' in body
