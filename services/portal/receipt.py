"""Le récépissé imprimable d'une demande de remise (PDF, fpdf2 avec ses polices standard).

Présentation seulement : chaque montant et chaque date arrive calculé par le service ``requests``
(le JSON de ``RequestOut``) ; on ne fait ici que les mettre en page.

Les polices standard du PDF (Helvetica) ne connaissent que le latin-1 : tout texte passe par
``texte_pdf``, qui remplace ce qui n'y tient pas, pour qu'une raison sociale inattendue ne fasse
jamais échouer le récépissé.
"""

import unicodedata
from datetime import datetime
from typing import Any

from fpdf import FPDF, FontFace
from fpdf.enums import TableCellFillMode, XPos, YPos

from contracts.money import NBSP, format_amount, format_rate
from services.portal.formatting import jour
from services.portal.messages import MESSAGES

TITRE = "Récépissé de demande de remise"

CATEGORIES = ("principal", "majorations", "astreintes", "frais")

# --- texte latin-1 ------------------------------------------------------------------------------

_REMPLACEMENTS: dict[str, str] = {
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


def _caractere(char: str) -> str:
    if char in _REMPLACEMENTS:
        return _REMPLACEMENTS[char]
    category = unicodedata.category(char)
    if ord(char) < 0x100:
        return " " if category == "Cc" else char  # retours à la ligne, tabulations : une espace
    if category == "Mn":  # accent combinant resté seul après la composition NFC
        return ""
    if char.isspace():
        return " "
    compatible = unicodedata.normalize("NFKC", char)  # 𝔘 → U, ﬁ → fi, ™ → TM
    sans_accents = "".join(c for c in unicodedata.normalize("NFKD", char) if unicodedata.category(c) != "Mn")  # ą → a
    return next((candidate for candidate in (compatible, sans_accents) if _latin1(candidate)), "?")


def texte_pdf(text: str) -> str:
    """Le texte tel que les polices standard du PDF peuvent l'écrire (latin-1).

    Les caractères latin-1 (accents français, « », U+00A0) restent ; les apostrophes et tirets
    typographiques deviennent leur équivalent simple ; le reste est translittéré si possible,
    sinon remplacé par ``?``.
    """
    return "".join(_caractere(c) for c in unicodedata.normalize("NFC", text))


# --- mise en forme ------------------------------------------------------------------------------


def rib_masque(rib: str) -> str:
    """Seuls les 4 derniers chiffres restent lisibles, même si on nous passait un RIB en clair."""
    visible = rib[-4:]
    return "*" * (len(rib) - len(visible)) + visible


def horodatage(at: datetime) -> str:
    return f"{jour(at)} à {at:%H:%M}"


def _libelle(family: str, code: str | None) -> str:
    """A state, modality or debit kind in French, from the portal's one catalogue (the pages say
    the same words); a code the catalogue does not know is printed as it is."""
    if code is None:
        return "Non choisie"
    entry = MESSAGES.get(f"{family}.{code}")
    return entry["fr"] if entry else code


# --- le document --------------------------------------------------------------------------------

_BLEU = (0, 70, 127)
_GRIS = (90, 90, 90)
_GRIS_CLAIR = (235, 239, 244)
_NOIR = (0, 0, 0)
_MARGE = 15.0


class _Recepisse(FPDF):
    def __init__(self, numero: str, genere_le: datetime) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.numero = numero
        self.genere_le = genere_le
        self.set_margins(_MARGE, _MARGE, _MARGE)
        self.set_auto_page_break(auto=True, margin=20)

    def normalize_text(self, text: str) -> str:
        # Tout ce que fpdf2 écrit passe par ici : le filet de sécurité pour le latin-1.
        return super().normalize_text(texte_pdf(text))

    def header(self) -> None:
        self.set_text_color(*_BLEU)
        self.set_font("Helvetica", "B", 12)
        self.cell(self.get_string_width("CNSS") + 2, 6, "CNSS")
        self.set_font("Helvetica", "", 9)
        self.set_text_color(*_GRIS)
        self.cell(0, 6, "Espace Recouvrement")
        self.set_x(_MARGE)
        if self.page_no() == 1:
            self.cell(0, 6, "Caisse nationale de sécurité sociale", align="R")
        else:  # une page volante de l'échéancier dit encore de quelle demande elle est
            self.set_font("Helvetica", "", 8)
            self.cell(0, 6, f"Récépissé de la demande n° {self.numero}", align="R")
        self.ln(7)
        self.set_draw_color(*_BLEU)
        self.set_line_width(0.4)
        self.line(_MARGE, self.get_y(), self.w - _MARGE, self.get_y())
        self.ln(5)
        self.set_text_color(*_NOIR)

    def footer(self) -> None:
        self.set_y(-14)
        self.set_draw_color(*_GRIS)
        self.set_line_width(0.2)
        self.line(_MARGE, self.get_y(), self.w - _MARGE, self.get_y())
        self.ln(1.5)
        self.set_font("Helvetica", "", 8)
        self.set_text_color(*_GRIS)
        self.cell(0, 5, f"Récépissé généré le {horodatage(self.genere_le)}")
        self.set_x(_MARGE)
        self.cell(0, 5, f"Page {self.page_no()}/{{nb}}", align="R")
        self.set_text_color(*_NOIR)

    # -- blocs --

    def section(self, titre: str, *, garder: float = 30) -> None:
        """Un intertitre, jamais seul en bas de page : ``garder`` mm doivent suivre sur la même page."""
        if self.will_page_break(10 + garder):
            self.add_page()
        self.ln(3)
        self.set_font("Helvetica", "B", 11)
        self.set_text_color(*_BLEU)
        self.cell(0, 7, titre, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_draw_color(*_GRIS_CLAIR)
        self.set_line_width(0.3)
        self.line(_MARGE, self.get_y(), self.w - _MARGE, self.get_y())
        self.ln(1.5)
        self.set_text_color(*_NOIR)

    def champs(self, lignes: list[tuple[str, str]]) -> None:
        self.set_font("Helvetica", "", 10)
        with self.table(
            col_widths=(60, 120),
            first_row_as_headings=False,
            borders_layout="NONE",
            text_align=("LEFT", "LEFT"),
            line_height=5,
            padding=(0.4, 1, 0.4, 0),
        ) as table:
            for label, valeur in lignes:
                row = table.row()
                row.cell(label, style=FontFace(color=_GRIS))
                row.cell(valeur, style=FontFace(emphasis="BOLD"))

    def paragraphe(self, texte: str, *, italique: bool = False) -> None:
        self.set_font("Helvetica", "I" if italique else "", 9.5)
        self.multi_cell(0, 5, texte, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


_ENTETE = FontFace(emphasis="BOLD", color=(255, 255, 255), fill_color=_BLEU)
_GRAS = FontFace(emphasis="BOLD")
_TOTAL = FontFace(emphasis="BOLD", fill_color=_GRIS_CLAIR)


def _bloc_demande(pdf: _Recepisse, demande: dict[str, Any], affilie: dict[str, Any]) -> None:
    pdf.section("Demande")
    lignes = [
        ("N° de demande", str(demande["id"])),
        ("Programme", str(demande["programme"])),
        ("État", _libelle("etat", demande["state"])),
        ("Modalité", _libelle("modalite", demande.get("modality"))),
    ]
    if demande.get("validation_date"):
        lignes.append(("Date de validation", jour(demande["validation_date"])))
    if demande.get("modality") == "INSTALLMENTS":
        deadline = demande.get("guarantee_deadline")
        lignes.append(
            ("Dépôt des garanties avant le", jour(deadline) if deadline else "Fixé à la validation de la demande")
        )
        perception = affilie.get("perception") or {}
        lignes.append(("Perception", str(perception.get("name") or "Non renseignée")))
    cg_version = demande.get("cg_version")
    lignes.append(("Conditions générales acceptées", f"Version {cg_version}" if cg_version else "Pas encore acceptées"))
    pdf.champs(lignes)

    pdf.section("Affilié")
    pdf.champs(
        [
            ("N° d'affiliation", str(affilie["numero"])),
            ("Raison sociale", str(affilie["raison_sociale"])),
            ("ICE", str(affilie.get("ice") or "Non renseigné")),
        ]
    )


def _bloc_devis(pdf: _Recepisse, quote: dict[str, Any] | None) -> None:
    pdf.section("Devis de remise", garder=45)
    if quote is None:
        pdf.paragraphe(
            "Aucun devis n'est encore lié à cette demande : les montants de la remise et l'échéancier seront "
            "fixés par le devis accepté lors de la validation.",
            italique=True,
        )
        return
    pdf.paragraphe(f"Devis n° {quote['quote_id']} du {jour(quote['issued_at'])}")
    pdf.ln(1.5)
    eligible, remise, rates = quote["eligible"], quote["remise"], quote["rates"]
    pdf.set_font("Helvetica", "", 9.5)
    with pdf.table(
        col_widths=(62, 44, 30, 44),
        text_align=("LEFT", "RIGHT", "RIGHT", "RIGHT"),
        headings_style=_ENTETE,
        line_height=6,
        padding=(0.5, 2),
    ) as table:
        heading = table.row()
        for titre in ("Catégorie", "Montant éligible", "Taux de remise", "Remise"):
            heading.cell(titre)
        for key in CATEGORIES:
            row = table.row()
            row.cell(_libelle("categorie", key))
            row.cell(format_amount(eligible[key]))
            row.cell(format_rate(rates[key]) if key in rates else format_rate("0"))
            row.cell(format_amount(remise[key]))
        row = table.row(style=_TOTAL)
        row.cell("Total de la remise", colspan=3, align="LEFT")
        row.cell(format_amount(remise["total"]))
        row = table.row(style=_TOTAL)
        row.cell("Montant à payer", colspan=3, align="LEFT")
        row.cell(format_amount(quote["to_pay"]))
    if quote.get("modality") == "INSTALLMENTS":
        pdf.ln(1.5)
        pdf.champs(
            [
                ("Avance", format_amount(quote["advance"])),
                ("Nombre d'échéances", str(quote["installments"])),
            ]
        )


def _bloc_echeancier(pdf: _Recepisse, demande: dict[str, Any], quote: dict[str, Any] | None) -> None:
    schedule = demande.get("schedule") or []
    indicatif = False
    if not schedule and quote is not None:  # pas encore validée : l'échéancier du devis, daté d'une V supposée
        schedule, indicatif = quote.get("schedule") or [], True
    pdf.section("Échéancier des prélèvements", garder=40)
    if not schedule:
        pdf.paragraphe("Pas encore d'échéancier : il sera établi à la validation de la demande.", italique=True)
        return
    if indicatif:
        pdf.paragraphe(
            "À titre indicatif : les dates de prélèvement seront recalculées à partir de la date de validation "
            "de la demande.",
            italique=True,
        )
        pdf.ln(1)
    pdf.set_font("Helvetica", "", 9.5)
    with pdf.table(
        col_widths=(14, 40, 40, 42, 44),
        text_align=("CENTER", "LEFT", "CENTER", "CENTER", "RIGHT"),
        headings_style=_ENTETE,
        line_height=5.5,
        padding=(0.3, 2),
        cell_fill_color=_GRIS_CLAIR,
        cell_fill_mode=TableCellFillMode.EVEN_ROWS,
        repeat_headings=1,
    ) as table:
        heading = table.row()
        for titre in ("N°", "Type", "Date d'échéance", "Date de prélèvement", "Montant"):
            heading.cell(titre)
        for debit in schedule:
            row = table.row()
            row.cell(str(debit["sequence"]))
            row.cell(_libelle("prelevement", debit["kind"]))
            row.cell(jour(debit["due_date"]))
            row.cell(jour(debit["collection_date"]))
            row.cell(format_amount(debit["amount"]))


def _bloc_compte(pdf: _Recepisse, account: dict[str, Any] | None) -> None:
    pdf.section("Compte bancaire à prélever", garder=12)
    if account is None:
        pdf.paragraphe("Aucun compte bancaire n'a encore été choisi.", italique=True)
        return
    # Le nom de la banque et le RIB masqué, rien d'autre (ni titulaire ni identifiant interne).
    pdf.champs([("Banque", str(account["bank_name"])), ("RIB", rib_masque(str(account["rib_masked"])))])


def recepisse_pdf(demande: dict[str, Any], affilie: dict[str, Any], genere_le: datetime) -> bytes:
    """Le récépissé PDF de ``demande`` (le JSON de ``RequestOut``) pour ``affilie``.

    ``affilie`` : ``{"numero", "raison_sociale", "ice", "perception": {"code", "name"}}``.
    ``genere_le`` date le document (pied de page et métadonnées) : même entrée, même PDF.
    """
    numero = str(demande["id"])
    pdf = _Recepisse(numero, genere_le)
    pdf.set_creation_date(genere_le)
    pdf.set_title(f"{TITRE} {numero}")
    pdf.set_author("CNSS - Espace Recouvrement")
    pdf.set_creator("Espace Recouvrement")
    pdf.set_lang("fr-MA")
    pdf.add_page()

    pdf.set_font("Helvetica", "B", 17)
    pdf.set_text_color(*_BLEU)
    pdf.cell(0, 9, TITRE, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("Helvetica", "", 10)
    pdf.set_text_color(*_GRIS)
    pdf.cell(0, 5, f"Demande n° {numero}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(*_NOIR)
    pdf.ln(2)

    quote = demande.get("quote")
    _bloc_demande(pdf, demande, affilie)
    _bloc_compte(pdf, demande.get("bank_account"))
    _bloc_devis(pdf, quote)
    _bloc_echeancier(pdf, demande, quote)
    return bytes(pdf.output())
