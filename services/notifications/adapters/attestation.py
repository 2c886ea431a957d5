"""The "attestation de remise définitive" (PDF, fpdf2), attached to the mail of a completed plan, in
the affiliate's language: the request, the affiliate, the remise that became definitive and the day.
Laid out, not computed: every figure comes from the notice's facts."""

from datetime import date
from decimal import Decimal

from contracts.money import format_amount
from services.notifications.adapters.channels import Attachment
from services.runtime.documents import FAMILY, embed_unicode_font

TEXTS = {
    "fr": {
        "header": "Caisse Nationale de Sécurité Sociale — Espace Recouvrement",
        "title": "Attestation de remise définitive",
        "body": (
            "La Caisse Nationale de Sécurité Sociale atteste que l'affilié n° {affiliate} a réglé l'intégralité"
            " du plan de paiement de sa demande de remise n° {request}, soldé le {completed_on}."
        ),
        "remise": "Remise des majorations, astreintes et frais devenue définitive : {remise}",
        "footer": "Document établi automatiquement le {today}.",
    },
    "ar": {
        "header": "الصندوق الوطني للضمان الاجتماعي — فضاء التحصيل",
        "title": "شهادة الإعفاء النهائي",
        "body": (
            "يشهد الصندوق الوطني للضمان الاجتماعي أن المنخرط رقم {affiliate} قد أدى كامل مخطط الأداء الخاص بطلب"
            " الإعفاء رقم {request}، والذي تمت تسويته بتاريخ {completed_on}."
        ),
        "remise": "الإعفاء من الزيادات والغرامات والمصاريف الذي أصبح نهائيا: {remise}",
        "footer": "وثيقة صادرة آليا بتاريخ {today}.",
    },
}


def attestation(facts: dict[str, str], language: str, today: date) -> Attachment:
    texts = TEXTS["ar" if language == "ar" else "fr"]
    values = {
        "affiliate": facts["affiliate"],
        "request": facts["request"],
        "completed_on": date.fromisoformat(facts["completed_on"]).strftime("%d/%m/%Y"),
        "remise": format_amount(Decimal(facts["remise"])),
        "today": today.strftime("%d/%m/%Y"),
    }
    align = "R" if language == "ar" else "L"
    # Imported here: fpdf2 (fontTools, Pillow) is 0.3 s of CPU to import, paid at the service's start
    # by a process that makes a document only when a plan completes.
    from fpdf import FPDF
    from fpdf.enums import XPos, YPos

    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.set_margins(20, 20, 20)
    embed_unicode_font(pdf)
    pdf.set_title(TEXTS["fr"]["title"])
    pdf.add_page()
    pdf.set_font(FAMILY, "", 9)
    pdf.cell(0, 6, texts["header"], align=align, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(12)
    pdf.set_font(FAMILY, "B", 16)
    pdf.cell(0, 10, texts["title"], align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(10)
    pdf.set_font(FAMILY, "", 11)
    pdf.multi_cell(0, 7, texts["body"].format(**values), align=align, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(4)
    pdf.set_font(FAMILY, "B", 11)
    pdf.multi_cell(0, 7, texts["remise"].format(**values), align=align, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(16)
    pdf.set_font(FAMILY, "", 8)
    pdf.cell(0, 5, texts["footer"].format(**values), align=align, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    name = "attestation-remise-definitive" + ("-ar" if language == "ar" else "") + f"-{facts['request']}.pdf"
    return Attachment(filename=name, content=bytes(pdf.output()))
