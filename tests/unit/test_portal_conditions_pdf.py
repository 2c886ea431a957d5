"""The conditions générales as a PDF, in French or Arabic (issue 17): the programme's own texts,
shaped right to left in Arabic, read back from the file."""

import io
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from pypdf import PdfReader

from contracts.programme import load_programme
from services.portal.conditions_pdf import conditions_pdf

ROOT = Path(__file__).resolve().parents[2]
AT = datetime(2026, 12, 15, 10, 32, tzinfo=ZoneInfo("Africa/Casablanca"))


def cg() -> dict[str, str | None]:
    programme = load_programme(ROOT / "contracts" / "programmes" / "DEC-05-2023.json")
    return {
        "programme": programme.code,
        "version": programme.conditions.version,
        "text": programme.conditions.text,
        "text_ar": programme.conditions.text_ar,
    }


def read(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_the_cg_in_arabic_read_back() -> None:
    pdf = conditions_pdf(cg(), AT, "ar")
    text = read(pdf)
    for expected in ("الشروط العامة، النسخة", "CG-2023-11", "DEC-05-2023", "دجنبر", "سقوط المخطط", "الأداء بالأقساط"):
        assert expected in text, expected
    assert "majorations" not in text
    assert b"/FontFile2" in pdf  # the embedded font


def test_the_cg_in_french_and_french_when_no_arabic_text_exists() -> None:
    french = read(conditions_pdf(cg(), AT, "fr"))
    assert "Conditions générales, version CG-2023-11" in french and "majorations de retard" in french
    without = cg() | {"text_ar": None}
    assert "majorations de retard" in read(conditions_pdf(without, AT, "ar"))  # the authoritative text, not nothing
