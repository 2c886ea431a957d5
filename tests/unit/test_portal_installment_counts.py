"""The simulation page offers only the counts simulation allows: a count in a gap cannot be picked."""

import re
from typing import Any

import pytest

from services.portal.i18n import Language, counts_text, direction, refusal_text, translator
from services.portal.pages.demande.simulation import (
    counts_of,
    nearest_count,
    offered_ranges,
    step_count,
)
from services.portal.web import templates

# As /v1/programme answers it: a programme with no tier for 24 installments.
PROGRAMME: dict[str, Any] = {
    "code": "LACUNES-TEST-2099",
    "max_installments": 60,
    "minimum_installment": "3000.00",
    "tiers": [
        {"code": "FULL", "modality": "FULL"},
        {"code": "ACOMPTES_1_23", "modality": "INSTALLMENTS", "min_installments": 1, "max_installments": 23},
        {"code": "ACOMPTES_25_PLUS", "modality": "INSTALLMENTS", "min_installments": 25},
    ],
    "installments_allowed": [{"min": 1, "max": 23}, {"min": 25, "max": 60}],
}
# As /v1/simulations/options answers for M 130000 under DEC-05-2023: the minimum leaves 22 to 24 out.
OPTIONS: dict[str, Any] = {"options": [], "installments_allowed": [{"min": 1, "max": 21}, {"min": 25, "max": 26}]}


def test_the_counts_offered_are_simulations_for_this_debt_else_the_programmes() -> None:
    assert offered_ranges(PROGRAMME, OPTIONS) == [{"min": 1, "max": 21}, {"min": 25, "max": 26}]
    # no comparison (simulation refused it), or no plan at all: the programme's tiers, up to its maximum
    programme_counts = [{"min": 1, "max": 23}, {"min": 25, "max": 60}]
    assert offered_ranges(PROGRAMME, None) == programme_counts
    assert offered_ranges(PROGRAMME, {"options": [], "installments_allowed": []}) == programme_counts
    assert 24 not in counts_of(offered_ranges(PROGRAMME, None))


def test_a_count_outside_the_list_shows_its_nearest_and_the_buttons_step_over_the_gap() -> None:
    counts = counts_of(offered_ranges(PROGRAMME, OPTIONS))
    assert (nearest_count(counts, 24), nearest_count(counts, 25), nearest_count(counts, 99)) == (21, 25, 26)
    assert nearest_count(counts, 0) == 1
    assert (step_count(counts, 21, 1), step_count(counts, 25, -1)) == (25, 21)
    assert (step_count(counts, 26, 1), step_count(counts, 1, -1)) == (26, 1)
    assert (step_count(counts, 23, 1), step_count(counts, 23, -1)) == (25, 21)  # posted from a stale page


def test_counts_said_in_both_languages() -> None:
    gapped = [{"min": 1, "max": 23}, {"min": 25, "max": 60}]
    assert counts_text("fr", gapped) == "de 1 à 23 ou de 25 à 60"
    assert counts_text("ar", gapped) == "من 1 إلى 23 أو من 25 إلى 60"
    three = [{"min": 1, "max": 20}, {"min": 22, "max": 22}, {"min": 25, "max": 26}]
    assert counts_text("fr", three) == "de 1 à 20, 22 ou de 25 à 26"
    assert counts_text("ar", three) == "من 1 إلى 20، 22 أو من 25 إلى 26"


def test_the_refusals_name_the_allowed_ranges_in_both_languages() -> None:
    service = "Phrase du service, jamais relue."
    outside = {
        "installments": 24,
        "min_installments": 1,
        "max_installments": 60,
        "allowed": [{"min": 1, "max": 23}, {"min": 25, "max": 60}],
    }
    assert refusal_text("fr", "echeances-hors-limites", service, outside) == (
        "Le programme permet de 1 à 23 ou de 25 à 60 échéances ; 24 n'en fait pas partie."
    )
    arabic = refusal_text("ar", "echeances-hors-limites", service, outside)
    assert "من 1 إلى 23 أو من 25 إلى 60" in arabic and "24" in arabic
    under = {
        "installments": 24,
        "installment_amount": "2708.33",
        "minimum_installment": "3000.00",
        "max_installments_allowed": 26,
        "allowed": [{"min": 1, "max": 21}, {"min": 25, "max": 26}],
    }
    said = refusal_text("fr", "echeance-sous-minimum", service, under)
    assert said.endswith("Avec cette avance, choisissez de 1 à 21 ou de 25 à 26 échéances.")
    assert "au plus" not in said
    assert "من 1 إلى 21 أو من 25 إلى 26" in refusal_text("ar", "echeance-sous-minimum", service, under)
    # every count up to the largest: "au plus" says it, as before
    up_to = under | {"max_installments_allowed": 16, "allowed": [{"min": 1, "max": 16}]}
    assert refusal_text("fr", "echeance-sous-minimum", service, up_to).endswith("choisissez au plus 16 échéances.")


def page(lang: Language, counts: list[int], chosen: int) -> str:
    t = translator(lang)
    ranges = offered_ranges(PROGRAMME, OPTIONS)
    return templates.env.get_template("simulation.html").render(
        lang=lang,
        dir=direction(lang),
        t=t,
        refus=lambda error: "",
        session=None,
        csrf="jeton",
        here="/demandes/x/simulation",
        champ_refuse=None,
        demande={"id": "x", "modality": "INSTALLMENTS"},
        devis=None,
        programme=PROGRAMME,
        paliers={},
        options=None,
        erreur=None,
        erreurs={},
        saisie={"avance": "0.00", "echeances": chosen},
        echeances_permises=counts,
        plages=counts_text(lang, ranges),
        budget="",
    )


@pytest.mark.parametrize("lang", ["fr", "ar"])
def test_the_page_offers_no_count_in_the_gap(lang: Language) -> None:
    counts = counts_of(offered_ranges(PROGRAMME, OPTIONS))
    html = page(lang, counts, 25)
    field = re.search(r'<select id="echeances" name="echeances".*?</select>', html, re.S)
    assert field is not None, "the count is chosen in a list"
    offered = [int(n) for n in re.findall(r'<option value="(\d+)"', field.group(0))]
    assert offered == [*range(1, 22), 25, 26]
    assert 24 not in offered and 'type="range"' not in html
    assert re.findall(r'<option value="(\d+)" selected>', field.group(0)) == ["25"]
    aide = "de 1 à 21 ou de 25 à 26" if lang == "fr" else "من 1 إلى 21 أو من 25 إلى 26"
    assert aide in html
