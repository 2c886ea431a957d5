"""Le récépissé imprimable d'une demande de remise (PDF, fpdf2 avec ses polices standard).

Présentation seulement : chaque montant et chaque date arrive calculé par le service ``requests``
(le JSON de ``RequestOut``) ; on ne fait ici que les mettre en page.

Les polices standard du PDF (Helvetica) ne connaissent que le latin-1 : tout texte passe par
``pdf_text``, qui remplace ce qui n'y tient pas, pour qu'une raison sociale inattendue ne fasse
jamais échouer le récépissé.
"""

import unicodedata
from datetime import datetime
from typing import Any

from fpdf import FPDF, FontFace
from fpdf.enums import TableCellFillMode, XPos, YPos

from contracts.identifiers import mask_rib
from contracts.money import NBSP, format_amount, format_rate
from services.portal.formatting import date_text
from services.portal.messages import MESSAGES

TITLE = "Récépissé de demande de remise"

CATEGORIES = ("principal", "majorations", "astreintes", "frais")

# --- texte latin-1 ------------------------------------------------------------------------------

_REPLACEMENTS: dict[str, str] = {
    # apostrophes et guillemets typographiques
    "\u2018": "'",
    "\u2019": "'",
    "\u201a": "'",
    "\u201b": "'",
    "\u2032": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u201e": '"',
    "\u2033": '"',
    "\u2039": "\u00ab",
    "\u203a": "\u00bb",
    # tirets et signe moins
    "\u2010": "-",
    "\u2011": "-",
    "\u2012": "-",
    "\u2013": "-",
    "\u2014": "-",
    "\u2015": "-",
    "\u2212": "-",
    # espaces insécables étroites (typographie française) : restent insécables
    "\u202f": NBSP,
    "\u2007": NBSP,
    "\u2009": NBSP,
    # invisibles
    "\u200b": "",
    "\u200c": "",
    "\u200d": "",
    "\u2060": "",
    "\ufeff": "",
    "\u00ad": "",
    # divers
    "\u2026": "...",
    "\u2022": "\u00b7",
    "\u20ac": "EUR",
    "\u0152": "OE",
    "\u0153": "oe",
    "\u0178": "Y",
}


def _latin1(text: str) -> bool:
    return bool(text) and all(ord(c) < 0x100 for c in text)


def _character(char: str) -> str:
    if char in _REPLACEMENTS:
        return _REPLACEMENTS[char]
    category = unicodedata.category(char)
    if ord(char) < 0x100:
        return " " if category == "Cc" else char  # retours à la ligne, tabulations : une espace
    if category == "Mn":  # accent combinant resté seul après la composition NFC
        return ""
    if char.isspace():
        return " "
    compatible = unicodedata.normalize("NFKC", char)  # 𝔘 → U, ﬁ → fi, ™ → TM
    without_accents = "".join(
        c for c in unicodedata.normalize("NFKD", char) if unicodedata.category(c) != "Mn"
    )  # ą → a
    return next((candidate for candidate in (compatible, without_accents) if _latin1(candidate)), "?")


def pdf_text(text: str) -> str:
    """Le texte tel que les polices standard du PDF peuvent l'écrire (latin-1).

    Les caractères latin-1 (accents français, « », U+00A0) restent ; les apostrophes et tirets
    typographiques deviennent leur équivalent simple ; le reste est translittéré si possible,
    sinon remplacé par ``?``.
    """
    return "".join(_character(c) for c in unicodedata.normalize("NFC", text))


# --- mise en forme ------------------------------------------------------------------------------


def timestamp_text(at: datetime) -> str:
    return f"{date_text(at)} à {at:%H:%M}"


def _label(family: str, code: str | None) -> str:
    """A state, modality or debit kind in French, from the portal's one catalogue (the pages say
    the same words); a code the catalogue does not know is printed as it is."""
    if code is None:
        return "Non choisie"
    entry = MESSAGES.get(f"{family}.{code}")
    return entry["fr"] if entry else code


# --- le document --------------------------------------------------------------------------------

_BLUE = (0, 70, 127)
_GREY = (90, 90, 90)
_LIGHT_GREY = (235, 239, 244)
_BLACK = (0, 0, 0)
_MARGIN = 15.0


class _ReceiptPdf(FPDF):
    def __init__(self, number: str, generated_at: datetime) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.number = number
        self.generated_at = generated_at
        self.set_margins(_MARGIN, _MARGIN, _MARGIN)
        self.set_auto_page_break(auto=True, margin=20)

    def normalize_text(self, text: str) -> str:
        # Tout ce que fpdf2 écrit passe par ici : le filet de sécurité pour le latin-1.
        return super().normalize_text(pdf_text(text))

    def header(self) -> None:
        self.set_text_color(*_BLUE)
        self.set_font("Helvetica", "B", 12)
        self.cell(self.get_string_width("CNSS") + 2, 6, "CNSS")
        self.set_font("Helvetica", "", 9)
        self.set_text_color(*_GREY)
        self.cell(0, 6, "Espace Recouvrement")
        self.set_x(_MARGIN)
        if self.page_no() == 1:
            self.cell(0, 6, "Caisse nationale de sécurité sociale", align="R")
        else:  # une page volante de l'échéancier dit encore de quelle demande elle est
            self.set_font("Helvetica", "", 8)
            self.cell(0, 6, f"Récépissé de la demande n° {self.number}", align="R")
        self.ln(7)
        self.set_draw_color(*_BLUE)
        self.set_line_width(0.4)
        self.line(_MARGIN, self.get_y(), self.w - _MARGIN, self.get_y())
        self.ln(5)
        self.set_text_color(*_BLACK)

    def footer(self) -> None:
        self.set_y(-14)
        self.set_draw_color(*_GREY)
        self.set_line_width(0.2)
        self.line(_MARGIN, self.get_y(), self.w - _MARGIN, self.get_y())
        self.ln(1.5)
        self.set_font("Helvetica", "", 8)
        self.set_text_color(*_GREY)
        self.cell(0, 5, f"Récépissé généré le {timestamp_text(self.generated_at)}")
        self.set_x(_MARGIN)
        self.cell(0, 5, f"Page {self.page_no()}/{{nb}}", align="R")
        self.set_text_color(*_BLACK)

    # -- blocs --

    def section(self, title: str, *, keep: float = 30) -> None:
        """Un intertitre, jamais seul en bas de page : ``keep`` mm doivent suivre sur la même page."""
        if self.will_page_break(10 + keep):
            self.add_page()
        self.ln(3)
        self.set_font("Helvetica", "B", 11)
        self.set_text_color(*_BLUE)
        self.cell(0, 7, title, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_draw_color(*_LIGHT_GREY)
        self.set_line_width(0.3)
        self.line(_MARGIN, self.get_y(), self.w - _MARGIN, self.get_y())
        self.ln(1.5)
        self.set_text_color(*_BLACK)

    def fields(self, lines: list[tuple[str, str]]) -> None:
        self.set_font("Helvetica", "", 10)
        with self.table(
            col_widths=(60, 120),
            first_row_as_headings=False,
            borders_layout="NONE",
            text_align=("LEFT", "LEFT"),
            line_height=5,
            padding=(0.4, 1, 0.4, 0),
        ) as table:
            for label, value in lines:
                row = table.row()
                row.cell(label, style=FontFace(color=_GREY))
                row.cell(value, style=FontFace(emphasis="BOLD"))

    def paragraph(self, text: str, *, italic: bool = False) -> None:
        self.set_font("Helvetica", "I" if italic else "", 9.5)
        self.multi_cell(0, 5, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


_HEADING = FontFace(emphasis="BOLD", color=(255, 255, 255), fill_color=_BLUE)
_BOLD = FontFace(emphasis="BOLD")
_TOTAL = FontFace(emphasis="BOLD", fill_color=_LIGHT_GREY)


def _request_block(pdf: _ReceiptPdf, request_data: dict[str, Any], affiliate: dict[str, Any]) -> None:
    pdf.section("Demande")
    lines = [
        ("N° de demande", str(request_data["id"])),
        ("Programme", str(request_data["programme"])),
        ("État", _label("etat", request_data["state"])),
        ("Modalité", _label("modalite", request_data.get("modality"))),
    ]
    if request_data.get("validation_date"):
        lines.append(("Date de validation", date_text(request_data["validation_date"])))
    if request_data.get("modality") == "INSTALLMENTS":
        deadline = request_data.get("guarantee_deadline")
        lines.append(
            ("Dépôt des garanties avant le", date_text(deadline) if deadline else "Fixé à la validation de la demande")
        )
        perception = affiliate.get("perception") or {}
        lines.append(("Perception", str(perception.get("name") or "Non renseignée")))
    cg_version = request_data.get("cg_version")
    lines.append(("Conditions générales acceptées", f"Version {cg_version}" if cg_version else "Pas encore acceptées"))
    pdf.fields(lines)

    pdf.section("Affilié")
    pdf.fields(
        [
            ("N° d'affiliation", str(affiliate["numero"])),
            ("Raison sociale", str(affiliate["raison_sociale"])),
            ("ICE", str(affiliate.get("ice") or "Non renseigné")),
        ]
    )


def _quote_block(pdf: _ReceiptPdf, quote: dict[str, Any] | None) -> None:
    pdf.section("Devis de remise", keep=45)
    if quote is None:
        pdf.paragraph(
            "Aucun devis n'est encore lié à cette demande : les montants de la remise et l'échéancier seront "
            "fixés par le devis accepté lors de la validation.",
            italic=True,
        )
        return
    pdf.paragraph(f"Devis n° {quote['quote_id']} du {date_text(quote['issued_at'])}")
    pdf.ln(1.5)
    eligible, remission, rates = quote["eligible"], quote["remise"], quote["rates"]
    pdf.set_font("Helvetica", "", 9.5)
    with pdf.table(
        col_widths=(62, 44, 30, 44),
        text_align=("LEFT", "RIGHT", "RIGHT", "RIGHT"),
        headings_style=_HEADING,
        line_height=6,
        padding=(0.5, 2),
    ) as table:
        heading = table.row()
        for title in ("Catégorie", "Montant éligible", "Taux de remise", "Remise"):
            heading.cell(title)
        for key in CATEGORIES:
            row = table.row()
            row.cell(_label("categorie", key))
            row.cell(format_amount(eligible[key]))
            row.cell(format_rate(rates[key]) if key in rates else format_rate("0"))
            row.cell(format_amount(remission[key]))
        row = table.row(style=_TOTAL)
        row.cell("Total de la remise", colspan=3, align="LEFT")
        row.cell(format_amount(remission["total"]))
        row = table.row(style=_TOTAL)
        row.cell("Montant à payer", colspan=3, align="LEFT")
        row.cell(format_amount(quote["to_pay"]))
    if quote.get("modality") == "INSTALLMENTS":
        pdf.ln(1.5)
        pdf.fields(
            [
                ("Avance", format_amount(quote["advance"])),
                ("Nombre d'échéances", str(quote["installments"])),
            ]
        )


def _schedule_block(pdf: _ReceiptPdf, request_data: dict[str, Any], quote: dict[str, Any] | None) -> None:
    schedule = request_data.get("schedule") or []
    indicative = False
    if not schedule and quote is not None:  # pas encore validée : l'échéancier du devis, daté d'une V supposée
        schedule, indicative = quote.get("schedule") or [], True
    pdf.section("Échéancier des prélèvements", keep=40)
    if not schedule:
        pdf.paragraph("Pas encore d'échéancier : il sera établi à la validation de la demande.", italic=True)
        return
    if indicative:
        pdf.paragraph(
            "À titre indicatif : les dates de prélèvement seront recalculées à partir de la date de validation "
            "de la demande.",
            italic=True,
        )
        pdf.ln(1)
    pdf.set_font("Helvetica", "", 9.5)
    with pdf.table(
        col_widths=(14, 40, 40, 42, 44),
        text_align=("CENTER", "LEFT", "CENTER", "CENTER", "RIGHT"),
        headings_style=_HEADING,
        line_height=5.5,
        padding=(0.3, 2),
        cell_fill_color=_LIGHT_GREY,
        cell_fill_mode=TableCellFillMode.EVEN_ROWS,
        repeat_headings=1,
    ) as table:
        heading = table.row()
        for title in ("N°", "Type", "Date d'échéance", "Date de prélèvement", "Montant"):
            heading.cell(title)
        for debit in schedule:
            row = table.row()
            row.cell(str(debit["sequence"]))
            row.cell(_label("prelevement", debit["kind"]))
            row.cell(date_text(debit["due_date"]))
            row.cell(date_text(debit["collection_date"]))
            row.cell(format_amount(debit["amount"]))


def _account_block(pdf: _ReceiptPdf, account: dict[str, Any] | None) -> None:
    pdf.section("Compte bancaire à prélever", keep=12)
    if account is None:
        pdf.paragraph("Aucun compte bancaire n'a encore été choisi.", italic=True)
        return
    # Le nom de la banque et le RIB masqué, rien d'autre (ni titulaire ni identifiant interne).
    pdf.fields([("Banque", str(account["bank_name"])), ("RIB", mask_rib(str(account["rib_masked"])))])


def receipt_pdf(request_data: dict[str, Any], affiliate: dict[str, Any], generated_at: datetime) -> bytes:
    """Le récépissé PDF de ``request_data`` (le JSON de ``RequestOut``) pour ``affiliate``.

    ``affiliate`` : ``{"numero", "raison_sociale", "ice", "perception": {"code", "name"}}``.
    ``generated_at`` date le document (pied de page et métadonnées) : même entrée, même PDF.
    """
    number = str(request_data["id"])
    pdf = _ReceiptPdf(number, generated_at)
    pdf.set_creation_date(generated_at)
    pdf.set_title(f"{TITLE} {number}")
    pdf.set_author("CNSS - Espace Recouvrement")
    pdf.set_creator("Espace Recouvrement")
    pdf.set_lang("fr-MA")
    pdf.add_page()

    pdf.set_font("Helvetica", "B", 17)
    pdf.set_text_color(*_BLUE)
    pdf.cell(0, 9, TITLE, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("Helvetica", "", 10)
    pdf.set_text_color(*_GREY)
    pdf.cell(0, 5, f"Demande n° {number}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(*_BLACK)
    pdf.ln(2)

    quote = request_data.get("quote")
    _request_block(pdf, request_data, affiliate)
    _account_block(pdf, request_data.get("bank_account"))
    _quote_block(pdf, quote)
    _schedule_block(pdf, request_data, quote)
    return bytes(pdf.output())
