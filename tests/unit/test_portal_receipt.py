"""The printable récépissé: what it says, read back from the PDF with pypdf."""

import io
import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, get_args
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader

from contracts.calendar import BusinessCalendar
from contracts.debits import BankAccount
from contracts.identifiers import rib_key
from contracts.money import NBSP
from contracts.money import format_amount as montant
from contracts.programme import CURRENT_PROGRAMME, Modality, shipped_programme
from contracts.requests import RequestState
from contracts.simulation import Quote
from services.portal.formatting import date_text
from services.portal.receipt import pdf_text, receipt_pdf
from services.requests.entrypoints.http_models import RequestOut
from services.simulation.domain.eligible_debt import Outstanding, eligible_debt
from services.simulation.domain.quote_terms import quote_terms

REQUEST_ID = UUID("3f2a9c1e-5b7d-4e8a-9c0f-1a2b3c4d5e6f")
AFFILIATE = "1234567"
GENERE_LE = datetime(2026, 12, 15, 10, 32, tzinfo=ZoneInfo("Africa/Casablanca"))
V = date(2026, 12, 15)
RIB = "007780000123456789012" + "3"  # 22 digits, then the key
RIB = RIB + rib_key(RIB)
ACCOUNT = BankAccount(
    id="acc-7f3e",
    bank_code="007",
    bank_name="Attijariwafa bank",
    rib_masked="*" * 20 + RIB[-4:],
    holder="ATLAS MENUISERIE SARL",
)
AFFILIE: dict[str, Any] = {
    "numero": AFFILIATE,
    "raison_sociale": "Atlas Menuiserie SARL",
    "ice": "001525487000072",
    "perception": {"code": "CAS-AS", "name": "Perception Casablanca Aïn Sebaâ"},
}
RESTANTS = [
    Outstanding("2022-03", Decimal("182450.00"), Decimal("14596.00"), Decimal("9122.50"), Decimal("1250.00")),
    Outstanding("2023-05", Decimal("96300.40"), Decimal("5778.02"), Decimal("2889.01"), Decimal("450.00")),
]


def quote(modality: Modality, *, advance: str = "0.00", installments: int = 0) -> Quote:
    """A real quote, computed by simulation's own rules on the shipped programme."""
    programme = shipped_programme(CURRENT_PROGRAMME)
    terms = quote_terms(
        programme,
        BusinessCalendar(programme.extra_holidays),
        eligible_debt(programme, RESTANTS),
        modality,
        V,
        advance=Decimal(advance),
        installments=installments,
    )
    issued = datetime(2026, 12, 14, 9, 12, tzinfo=UTC)
    return Quote(
        **terms.model_dump(),
        quote_id=UUID("7d0c2b8e-4a51-4b7e-9a53-2f1f0c6a9e11"),
        affiliate=AFFILIATE,
        debt_version=3,
        issued_at=issued,
        expires_at=issued + timedelta(days=7),
    )


def demande(
    state: RequestState,
    modality: Modality | None,
    bound: Quote | None,
    *,
    scheduled: bool = True,
    account: BankAccount | None = ACCOUNT,
) -> dict[str, Any]:
    """What the portal gets from requests: ``RequestOut`` as JSON, parsed back."""
    at = datetime(2026, 12, 15, 9, 30, tzinfo=UTC)
    out = RequestOut(
        id=REQUEST_ID,
        affiliate=AFFILIATE,
        programme=CURRENT_PROGRAMME,
        state=state,
        modality=modality,
        guarantee_obligation_accepted=modality == "INSTALLMENTS",
        bank_account_id=account.id if account else None,
        bank_account=account,
        quote=bound,
        cg_version="CG-2023-11" if bound else None,
        guarantee_deadline=V + timedelta(days=30) if modality == "INSTALLMENTS" and bound else None,
        validation_date=V if bound and scheduled else None,
        schedule=bound.schedule if bound and scheduled else [],
        guarantee=None,
        created_at=at,
        last_activity_at=at,
        actions=[],
        history=[],
    )
    parsed: dict[str, Any] = json.loads(out.model_dump_json())
    return parsed


def read(pdf: bytes) -> tuple[PdfReader, list[str]]:
    """The reader and each page's text; fpdf2 writes U+00A0 as a plain space, so compare with spaces."""
    reader = PdfReader(io.BytesIO(pdf))
    return reader, [page.extract_text().replace(NBSP, " ") for page in reader.pages]


def shown(text: str) -> str:
    return text.replace(NBSP, " ")


STATES_IN_FRENCH = {
    # written out here, not read from the portal: the receipt must print what the pages say
    "DRAFT": "Brouillon",
    "AWAITING_GUARANTEE": "En attente des garanties",
    "VALIDATED": "Validée",
    "IN_PROGRESS": "Prélèvements en cours",
    "COMPLETED": "Soldée",
    "DEFAULTED": "Déchue (plan non honoré)",
    "EXPIRED": "Expirée (garanties non déposées)",
    "REJECTED": "Rejetée par la perception",
    "CANCELLED": "Annulée",
}


def test_the_table_of_states_is_every_state() -> None:
    assert set(STATES_IN_FRENCH) == set(get_args(RequestState))


@pytest.mark.parametrize(
    ("raw", "printable"),
    [
        ("Société « Ñandú » – 𝔘nicode ✓", "Société « Ñandú » - Unicode ?"),
        ("L’Atelier “Œuvre” — ﬁnitions…", 'L\'Atelier "OEuvre" - finitions...'),
        ("12\u202f345,60\u00a0MAD", f"12{NBSP}345,60{NBSP}MAD"),
        ("Cafe\u0301 Łódź\tSARL\n", "Café ?ódz SARL "),
        ("شركة الأطلس", "???? ??????"),
        ("zero\u200bwidth\ufeff", "zerowidth"),
    ],
)
def test_texte_pdf_keeps_latin1_and_replaces_the_rest(raw: str, printable: str) -> None:
    assert pdf_text(raw) == printable
    printable.encode("latin-1")


def test_full_payment_receipt() -> None:
    full = quote("FULL")
    reader, pages = read(receipt_pdf(demande("VALIDATED", "FULL", full), AFFILIE, GENERE_LE))
    text = "\n".join(pages)

    assert len(pages) == 1
    for expected in (
        "Récépissé de demande de remise",
        "CNSS",
        "Espace Recouvrement",
        str(REQUEST_ID),
        AFFILIATE,
        "Atlas Menuiserie SARL",
        "001525487000072",
        CURRENT_PROGRAMME,
        "Validée",
        "Paiement intégral",
        f"Date de validation {date_text(V)}",
        "Version CG-2023-11",
        "Récépissé généré le 15/12/2026 à 10:32",
        "Page 1/1",
    ):
        assert expected in text, expected
    # The quote: eligible and remise per category, the rates, the total remise, what remains to pay.
    assert f"Cotisations (principal) {shown(montant(full.eligible.principal))} 0 % {shown(montant('0'))}" in text
    for key, label in (
        ("majorations", "Majorations de retard"),
        ("astreintes", "Astreintes"),
        ("frais", "Frais de recouvrement"),
    ):
        rate = f"{(getattr(full.rates, key) * 100).normalize():f}".replace(".", ",")
        eligible, remise = shown(montant(getattr(full.eligible, key))), shown(montant(getattr(full.remise, key)))
        assert f"{label} {eligible} {rate} % {remise}" in text
    assert f"Total de la remise {shown(montant(full.remise.total))}" in text
    assert f"Montant à payer {shown(montant(full.to_pay))}" in text
    # One debit, the whole amount.
    [debit] = full.schedule
    assert (
        f"1 Paiement intégral {date_text(debit.due_date)} {date_text(debit.collection_date)} "
        f"{shown(montant(debit.amount))}" in text
    )
    # The account: bank name and masked RIB, nothing else about it.
    assert "Attijariwafa bank" in text
    assert ACCOUNT.rib_masked in text
    assert RIB not in text
    assert RIB[:20] not in text
    assert ACCOUNT.holder not in text
    assert ACCOUNT.id not in text
    # Nor hidden anywhere in the file (metadata, uncompressed streams).
    assert RIB.encode() not in receipt_pdf(demande("VALIDATED", "FULL", full), AFFILIE, GENERE_LE)
    assert reader.metadata is not None
    assert reader.metadata.title == f"Récépissé de demande de remise {REQUEST_ID}"


def test_sixty_installments_paginate_with_the_heading_repeated() -> None:
    plan = quote("INSTALLMENTS", advance="30000.00", installments=60)
    assert len(plan.schedule) == 61  # the advance, then 60 installments
    reader, pages = read(receipt_pdf(demande("IN_PROGRESS", "INSTALLMENTS", plan), AFFILIE, GENERE_LE))
    text = "\n".join(pages)

    assert len(pages) > 1
    for number, page in enumerate(pages, start=1):
        assert f"Page {number}/{len(pages)}" in page
    for expected in (
        "Prélèvements en cours",
        "Paiement par acomptes",
        f"Dépôt des garanties avant le {date_text(V + timedelta(days=30))}",
        "Perception Casablanca Aïn Sebaâ",
        f"Avance {shown(montant(plan.advance))}",
        "Nombre d'échéances 60",
        f"Montant à payer {shown(montant(plan.to_pay))}",
        ACCOUNT.rib_masked,
        "Version CG-2023-11",
    ):
        assert expected in text, expected
    assert RIB not in text
    assert "À titre indicatif" not in text  # the request's own, dated schedule

    lines = text.splitlines()
    for debit in plan.schedule:
        kind = "Avance" if debit.kind == "ADVANCE" else "Échéance"
        dates = f"{date_text(debit.due_date)} {date_text(debit.collection_date)}"
        row = f"{debit.sequence} {kind} {dates} {shown(montant(debit.amount))}"
        assert row in lines, row
    # Every page that carries schedule rows starts them under the table heading.
    heading = "N° Type Date d'échéance Date de prélèvement Montant"
    with_rows = [
        page for page in pages if any(line.endswith(" MAD") and " Échéance " in line for line in page.splitlines())
    ]
    assert len(with_rows) > 1
    assert all(heading in page for page in with_rows)
    # The last installment takes the centimes the others left: it is shown as is.
    assert shown(montant(plan.schedule[-1].amount)) != shown(montant(plan.schedule[-2].amount))
    assert reader.metadata is not None


def test_awaiting_guarantee_shows_the_quote_schedule_as_indicative() -> None:
    plan = quote("INSTALLMENTS", advance="30000.00", installments=12)
    _, pages = read(
        receipt_pdf(demande("AWAITING_GUARANTEE", "INSTALLMENTS", plan, scheduled=False), AFFILIE, GENERE_LE)
    )
    text = "\n".join(pages)
    assert "En attente des garanties" in text
    assert "À titre indicatif" in text
    assert "Date de validation" not in text
    lines = text.splitlines()
    for debit in plan.schedule:  # each row whole: its number, kind, both dates and amount on one line
        kind = "Avance" if debit.kind == "ADVANCE" else "Échéance"
        dates = f"{date_text(debit.due_date)} {date_text(debit.collection_date)}"
        assert f"{debit.sequence} {kind} {dates} {shown(montant(debit.amount))}" in lines


def test_draft_without_quote_nor_account() -> None:
    draft = demande("DRAFT", None, None, account=None)
    _, pages = read(receipt_pdf(draft, AFFILIE, GENERE_LE))
    text = "\n".join(pages)
    assert "Brouillon" in text
    assert "Aucun devis n'est encore lié à cette demande" in text
    assert "Pas encore d'échéancier" in text
    assert "Aucun compte bancaire n'a encore été choisi" in text
    assert "Pas encore acceptées" in text
    assert "MAD" not in text


def test_draft_installments_without_deadline_yet() -> None:
    draft = demande("DRAFT", "INSTALLMENTS", None)
    _, pages = read(receipt_pdf(draft, AFFILIE, GENERE_LE))
    text = "\n".join(pages)
    assert "Dépôt des garanties avant le Fixé à la validation de la demande" in text
    assert "Perception Casablanca Aïn Sebaâ" in text


@pytest.mark.parametrize("state", get_args(RequestState))
def test_every_state_renders_in_french(state: str) -> None:
    full = quote("FULL")
    _, pages = read(receipt_pdf(demande(state, "FULL", full), AFFILIE, GENERE_LE))  # type: ignore[arg-type]
    assert f"État {STATES_IN_FRENCH[state]}" in pages[0]


def test_odd_characters_never_crash_the_receipt() -> None:
    odd = "Société « Ñandú » – 𝔘nicode ✓ l’atelier\u202f»\u200b 🚀 مؤسسة"
    affilie = {**AFFILIE, "raison_sociale": odd, "perception": {"code": "X", "name": "Perception “Hay Hassani” ✓"}}
    data = demande("AWAITING_GUARANTEE", "INSTALLMENTS", quote("INSTALLMENTS", advance="30000.00", installments=12))
    data["bank_account"]["bank_name"] = "Banque ✓ Populaire — Crédit"
    data["cg_version"] = "CG–2023–11 ✓"
    _, pages = read(receipt_pdf(data, affilie, GENERE_LE))
    text = "\n".join(pages)
    assert "Société « Ñandú » - Unicode ? l'atelier" in text
    assert 'Perception "Hay Hassani" ?' in text
    assert "Banque ? Populaire - Crédit" in text
    assert "CG-2023-11 ?" in text


def test_same_input_same_bytes() -> None:
    data = demande("VALIDATED", "FULL", quote("FULL"))
    first = receipt_pdf(data, AFFILIE, GENERE_LE)
    assert receipt_pdf(data, AFFILIE, GENERE_LE) == first
    assert receipt_pdf(data, AFFILIE, GENERE_LE + timedelta(minutes=1)) != first
    reader = PdfReader(io.BytesIO(first))
    assert reader.metadata is not None
    assert reader.metadata.creation_date is not None
    assert reader.metadata.creation_date == GENERE_LE


def test_the_arabic_receipt_is_shaped_right_to_left_and_its_figures_read_back() -> None:
    """Issue 17: the receipt in Arabic, an embedded TrueType font shaped by HarfBuzz; read back, it
    says the request number, the amounts, the dates and the account's mask."""
    plan = quote("INSTALLMENTS", advance="5000.00", installments=12)
    pdf = receipt_pdf(demande("VALIDATED", "INSTALLMENTS", plan), AFFILIE, GENERE_LE, "ar")
    reader, pages = read(pdf)
    text = "\n".join(pages)
    for expected in (
        "وصل طلب الإعفاء",  # the title
        "رقم الطلب",  # "request number", beside it
        str(REQUEST_ID),
        AFFILIATE,
        "المبلغ الواجب أداؤه",  # "amount to pay"
        shown(montant(plan.to_pay)),
        shown(montant(plan.remise.total)),
        shown(montant(plan.advance)),
        date_text(V),
        ACCOUNT.rib_masked,
        "مصادق عليه",  # the state, as the pages say it in Arabic
        "الأداء بالأقساط",  # the modality
    ):
        assert expected in text, expected
    assert "Récépissé" not in text and "Montant" not in text  # nothing left in French
    assert RIB not in text and RIB.encode() not in pdf
    fonts = [f["/BaseFont"] for p in reader.pages for f in p["/Resources"]["/Font"].values()]
    assert fonts and all("DejaVu" in str(name) for name in fonts)  # embedded, not a standard font
    assert b"/FontFile2" in pdf
    assert reader.metadata is not None and reader.metadata.title == f"وصل طلب الإعفاء {REQUEST_ID}"


def test_the_french_receipt_is_unchanged_by_the_language_parameter() -> None:
    data = demande("VALIDATED", "FULL", quote("FULL"))
    assert receipt_pdf(data, AFFILIE, GENERE_LE, "fr") == receipt_pdf(data, AFFILIE, GENERE_LE)
