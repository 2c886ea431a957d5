"""Le récépissé imprimable d'une demande de remise (PDF, fpdf2), en français ou en arabe.

Présentation seulement : chaque montant et chaque date arrive calculé par le service ``requests``
(le JSON de ``RequestOut``) ; on ne fait ici que les mettre en page, avec les mots du catalogue du
portail (``recu.*`` dans ``messages.py``, les deux langues).

En français, les polices standard du PDF (Helvetica) ne connaissent que le latin-1 : tout texte passe
par ``pdf_text``, qui remplace ce qui n'y tient pas, pour qu'une raison sociale inattendue ne fasse
jamais échouer le récépissé. En arabe, une police TrueType embarquée (DejaVu Sans, ``services/runtime/fonts/``, licence
Bitstream Vera : latin et arabe) et la mise en forme de HarfBuzz (``uharfbuzz`` : liaisons des lettres,
sens de droite à gauche, chiffres et numéros gardés de gauche à droite) ; les colonnes se lisent de
droite à gauche.
"""

import unicodedata
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from fpdf import FPDF, FontFace
from fpdf.enums import TableCellFillMode, XPos, YPos

from contracts.identifiers import mask_rib
from contracts.money import NBSP, format_amount, format_rate
from services.portal.formatting import date_text
from services.portal.i18n import Language, translator
from services.portal.messages import MESSAGES
from services.runtime.documents import embed_unicode_font

TITLE = MESSAGES["recu.titre"]["fr"]

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


def timestamp_text(at: datetime, lang: Language = "fr") -> str:
    return translator(lang)("recu.horodatage", date=date_text(at), heure=f"{at:%H:%M}")


def _label(lang: Language, family: str, code: str | None) -> str:
    """A state, modality or debit kind in the document's language, from the portal's one catalogue
    (the pages say the same words); a code the catalogue does not know is printed as it is."""
    if code is None:
        return translator(lang)("recu.non-choisie")
    entry = MESSAGES.get(f"{family}.{code}")
    return entry[lang] if entry else code


# --- le document --------------------------------------------------------------------------------

_BLUE = (0, 70, 127)
_GREY = (90, 90, 90)
_LIGHT_GREY = (235, 239, 244)
_BLACK = (0, 0, 0)
_MARGIN = 15.0


class PortalPdf(FPDF):
    def __init__(
        self,
        number: str,
        generated_at: datetime,
        lang: Language,
        running_title: str = "recu.de-la-demande",
        generated_key: str = "recu.genere-le",
    ) -> None:
        """A CNSS document of the portal (the receipt, the CG). ``running_title``: the catalogue key the
        pages after the first name it with; ``generated_key``: the footer's "generated on"."""
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.number = number
        self.running_title = running_title
        self.generated_key = generated_key
        self.generated_at = generated_at
        self.language = lang
        self.t: Callable[..., str] = translator(lang)
        self.rtl = lang == "ar"
        self.set_margins(_MARGIN, _MARGIN, _MARGIN)
        self.set_auto_page_break(auto=True, margin=20)
        if self.rtl:
            embed_unicode_font(self)

    def normalize_text(self, text: str) -> str:
        # Tout ce que fpdf2 écrit passe par ici : le filet de sécurité pour le latin-1 (Helvetica).
        return super().normalize_text(text if self.rtl else pdf_text(text))

    def font(self, style: str, size: float) -> None:
        """Helvetica in French; DejaVu in Arabic, which has no italic: the regular face instead."""
        if self.rtl:
            self.set_font("dejavu", "B" if "B" in style else "", size)
        else:
            self.set_font("Helvetica", style, size)

    @property
    def start(self) -> str:
        """where a line begins: the left in French, the right in Arabic"""
        return "R" if self.rtl else "L"

    @property
    def end(self) -> str:
        return "L" if self.rtl else "R"

    def columns(self, values: Sequence[Any]) -> list[Any]:
        """A table's columns in reading order: right to left in Arabic."""
        return list(reversed(values)) if self.rtl else list(values)

    def align(self, values: Sequence[str]) -> tuple[str, ...]:
        flip = {"LEFT": "RIGHT", "RIGHT": "LEFT"}
        return tuple(flip.get(v, v) for v in reversed(values)) if self.rtl else tuple(values)

    def header(self) -> None:
        self.set_text_color(*_BLUE)
        self.font("B", 12)
        if self.rtl:  # one line read from the right: the name, then the space
            self.cell(0, 6, f"CNSS - {self.t('recu.espace')}", align="R")
        else:
            self.cell(self.get_string_width("CNSS") + 2, 6, "CNSS")
            self.font("", 9)
            self.set_text_color(*_GREY)
            self.cell(0, 6, self.t("recu.espace"))
        self.font("", 9)
        self.set_text_color(*_GREY)
        self.set_x(_MARGIN)
        if self.page_no() == 1:
            self.cell(0, 6, self.t("recu.caisse"), align=self.end)
        else:  # une page volante de l'échéancier dit encore de quelle demande elle est
            self.font("", 8)
            self.cell(0, 6, self.t(self.running_title, numero=self.number, version=self.number), align=self.end)
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
        self.font("", 8)
        self.set_text_color(*_GREY)
        self.cell(
            0,
            5,
            self.t(self.generated_key, horodatage=timestamp_text(self.generated_at, self.language)),
            align=self.start,
        )
        self.set_x(_MARGIN)
        self.cell(0, 5, self.t("recu.page", page=self.page_no(), pages="{nb}"), align=self.end)
        self.set_text_color(*_BLACK)

    # -- blocs --

    def section(self, title: str, *, keep: float = 30) -> None:
        """Un intertitre, jamais seul en bas de page : ``keep`` mm doivent suivre sur la même page."""
        if self.will_page_break(10 + keep):
            self.add_page()
        self.ln(3)
        self.font("B", 11)
        self.set_text_color(*_BLUE)
        self.cell(0, 7, title, align=self.start, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_draw_color(*_LIGHT_GREY)
        self.set_line_width(0.3)
        self.line(_MARGIN, self.get_y(), self.w - _MARGIN, self.get_y())
        self.ln(1.5)
        self.set_text_color(*_BLACK)

    def fields(self, lines: list[tuple[str, str]]) -> None:
        self.font("", 10)
        with self.table(
            col_widths=self.columns((60, 120)),
            first_row_as_headings=False,
            borders_layout="NONE",
            text_align=self.align(("LEFT", "LEFT")) if not self.rtl else ("RIGHT", "RIGHT"),
            line_height=5,
            padding=(0.4, 1, 0.4, 0),
        ) as table:
            for label, value in lines:
                row = table.row()
                cells = self.columns(((label, FontFace(color=_GREY)), (value, FontFace(emphasis="BOLD"))))
                for text, style in cells:
                    row.cell(text, style=style)

    def paragraph(self, text: str, *, italic: bool = False) -> None:
        self.font("I" if italic else "", 9.5)
        self.multi_cell(0, 5, text, align=self.start, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


_HEADING = FontFace(emphasis="BOLD", color=(255, 255, 255), fill_color=_BLUE)
_BOLD = FontFace(emphasis="BOLD")
_TOTAL = FontFace(emphasis="BOLD", fill_color=_LIGHT_GREY)


def _request_block(pdf: PortalPdf, request_data: dict[str, Any], affiliate: dict[str, Any]) -> None:
    t = pdf.t
    pdf.section(t("recu.demande"))
    lines = [
        (t("recu.numero-demande"), str(request_data["id"])),
        (t("recu.programme"), str(request_data["programme"])),
        (t("recu.etat"), _label(pdf.language, "etat", request_data["state"])),
        (t("recu.modalite"), _label(pdf.language, "modalite", request_data.get("modality"))),
    ]
    if request_data.get("validation_date"):
        lines.append((t("recu.date-validation"), date_text(request_data["validation_date"])))
    if request_data.get("modality") == "INSTALLMENTS":
        deadline = request_data.get("guarantee_deadline")
        lines.append(
            (t("recu.garanties-avant"), date_text(deadline) if deadline else t("recu.garanties-a-la-validation"))
        )
        perception = affiliate.get("perception") or {}
        lines.append((t("recu.perception"), str(perception.get("name") or t("recu.non-renseignee"))))
    cg_version = request_data.get("cg_version")
    accepted = t("recu.cg-version", version=cg_version) if cg_version else t("recu.cg-pas-encore")
    lines.append((t("recu.cg-acceptees"), accepted))
    pdf.fields(lines)

    pdf.section(t("recu.affilie"))
    pdf.fields(
        [
            (t("recu.numero-affiliation"), str(affiliate["numero"])),
            (t("recu.raison-sociale"), str(affiliate["raison_sociale"])),
            (t("recu.ice"), str(affiliate.get("ice") or t("recu.non-renseigne"))),
        ]
    )


def _quote_block(pdf: PortalPdf, quote: dict[str, Any] | None) -> None:
    t = pdf.t
    pdf.section(t("recu.devis"), keep=45)
    if quote is None:
        pdf.paragraph(t("recu.sans-devis"), italic=True)
        return
    pdf.paragraph(t("recu.devis-du", numero=quote["quote_id"], date=date_text(quote["issued_at"])))
    pdf.ln(1.5)
    eligible, remission, rates = quote["eligible"], quote["remise"], quote["rates"]
    pdf.font("", 9.5)
    with pdf.table(
        col_widths=pdf.columns((62, 44, 30, 44)),
        text_align=pdf.align(("LEFT", "RIGHT", "RIGHT", "RIGHT")),
        headings_style=_HEADING,
        line_height=6,
        padding=(0.5, 2),
    ) as table:
        heading = table.row()
        for title in pdf.columns((t("recu.categorie"), t("recu.montant-eligible"), t("recu.taux"), t("recu.remise"))):
            heading.cell(title)
        for key in CATEGORIES:
            row = table.row()
            rate = format_rate(rates[key]) if key in rates else format_rate("0")
            for text in pdf.columns(
                (
                    _label(pdf.language, "categorie", key),
                    format_amount(eligible[key]),
                    rate,
                    format_amount(remission[key]),
                )
            ):
                row.cell(text)
        for label, amount in ((t("recu.total-remise"), remission["total"]), (t("recu.a-payer"), quote["to_pay"])):
            row = table.row(style=_TOTAL)
            cells = [(label, 3, "RIGHT" if pdf.rtl else "LEFT"), (format_amount(amount), 1, None)]
            for text, span, align in pdf.columns(cells):
                row.cell(text, colspan=span, align=align)
    if quote.get("modality") == "INSTALLMENTS":
        pdf.ln(1.5)
        pdf.fields(
            [
                (t("recu.avance"), format_amount(quote["advance"])),
                (t("recu.nombre-echeances"), str(quote["installments"])),
            ]
        )


def _schedule_block(pdf: PortalPdf, request_data: dict[str, Any], quote: dict[str, Any] | None) -> None:
    t = pdf.t
    schedule = request_data.get("schedule") or []
    indicative = False
    if not schedule and quote is not None:  # pas encore validée : l'échéancier du devis, daté d'une V supposée
        schedule, indicative = quote.get("schedule") or [], True
    pdf.section(t("recu.echeancier"), keep=40)
    if not schedule:
        pdf.paragraph(t("recu.sans-echeancier"), italic=True)
        return
    if indicative:
        pdf.paragraph(t("recu.indicatif"), italic=True)
        pdf.ln(1)
    pdf.font("", 9.5)
    with pdf.table(
        col_widths=pdf.columns((14, 40, 40, 42, 44)),
        text_align=pdf.align(("CENTER", "LEFT", "CENTER", "CENTER", "RIGHT")),
        headings_style=_HEADING,
        line_height=5.5,
        padding=(0.3, 2),
        cell_fill_color=_LIGHT_GREY,
        cell_fill_mode=TableCellFillMode.EVEN_ROWS,
        repeat_headings=1,
    ) as table:
        heading = table.row()
        titles = ("recu.numero", "recu.type", "recu.date-echeance", "recu.date-prelevement", "recu.montant")
        for title in pdf.columns([t(key) for key in titles]):
            heading.cell(title)
        for debit in schedule:
            row = table.row()
            values = (
                str(debit["sequence"]),
                _label(pdf.language, "prelevement", debit["kind"]),
                date_text(debit["due_date"]),
                date_text(debit["collection_date"]),
                format_amount(debit["amount"]),
            )
            for text in pdf.columns(values):
                row.cell(text)


def _account_block(pdf: PortalPdf, account: dict[str, Any] | None) -> None:
    t = pdf.t
    pdf.section(t("recu.compte"), keep=12)
    if account is None:
        pdf.paragraph(t("recu.sans-compte"), italic=True)
        return
    # Le nom de la banque et le RIB masqué, rien d'autre (ni titulaire ni identifiant interne).
    pdf.fields([(t("recu.banque"), str(account["bank_name"])), (t("recu.rib"), mask_rib(str(account["rib_masked"])))])


def receipt_pdf(
    request_data: dict[str, Any], affiliate: dict[str, Any], generated_at: datetime, lang: Language = "fr"
) -> bytes:
    """Le récépissé PDF de ``request_data`` (le JSON de ``RequestOut``) pour ``affiliate``, en ``lang``.

    ``affiliate`` : ``{"numero", "raison_sociale", "ice", "perception": {"code", "name"}}``.
    ``generated_at`` date le document (pied de page et métadonnées) : même entrée, même PDF.
    """
    number = str(request_data["id"])
    pdf = PortalPdf(number, generated_at, lang)
    t = pdf.t
    pdf.set_creation_date(generated_at)
    pdf.set_title(f"{t('recu.titre')} {number}")
    pdf.set_author("CNSS - Espace Recouvrement")
    pdf.set_creator("Espace Recouvrement")
    pdf.set_lang("ar-MA" if pdf.rtl else "fr-MA")
    pdf.add_page()

    pdf.font("B", 17)
    pdf.set_text_color(*_BLUE)
    pdf.cell(0, 9, t("recu.titre"), align=pdf.start, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.font("", 10)
    pdf.set_text_color(*_GREY)
    pdf.cell(0, 5, t("recu.demande-n", numero=number), align=pdf.start, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(*_BLACK)
    pdf.ln(2)

    quote = request_data.get("quote")
    _request_block(pdf, request_data, affiliate)
    _account_block(pdf, request_data.get("bank_account"))
    _quote_block(pdf, quote)
    _schedule_block(pdf, request_data, quote)
    return bytes(pdf.output())
