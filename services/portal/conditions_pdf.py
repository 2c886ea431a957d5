"""Les conditions générales en PDF, en français ou en arabe (issue 17): the text the affiliate accepts,
as ``GET /v1/conditions`` answers it, laid out like the receipt (same header, fonts and shaping)."""

from datetime import datetime
from typing import Any

from fpdf.enums import XPos, YPos

from services.portal.i18n import Language
from services.portal.receipt import PortalPdf


def conditions_pdf(conditions: dict[str, Any], generated_at: datetime, lang: Language = "fr") -> bytes:
    """``conditions``: ``{"programme", "version", "text", "text_ar"}``. The Arabic text when asked and
    there is one; the French one (which is authoritative) otherwise."""
    arabic = lang == "ar" and bool(conditions.get("text_ar"))
    language: Language = "ar" if arabic else "fr"
    pdf = PortalPdf(
        str(conditions["version"]),
        generated_at,
        language,
        running_title="recu.cg-titre",
        generated_key="recu.document-genere-le",
    )
    title = pdf.t("recu.cg-titre", version=conditions["version"])
    pdf.set_creation_date(generated_at)
    pdf.set_title(title)
    pdf.set_author("CNSS - Espace Recouvrement")
    pdf.set_lang("ar-MA" if arabic else "fr-MA")
    pdf.add_page()
    pdf.font("B", 15)
    pdf.cell(0, 9, title, align=pdf.start, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(3)
    pdf.font("", 10.5)
    text = str(conditions["text_ar"] if arabic else conditions["text"])
    for paragraph in text.split("\n"):
        if paragraph.strip():
            pdf.multi_cell(0, 6, paragraph, align=pdf.start, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            pdf.ln(1.5)
    return bytes(pdf.output())
