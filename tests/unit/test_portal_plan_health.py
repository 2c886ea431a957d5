"""The request page shows the plan's health (article 2): each current period, paid or not, and the
notice with its deadline, in French and in Arabic."""

import re
from typing import Any

import pytest

from services.portal.i18n import Language, direction, translator
from services.portal.web import templates

REQUEST: dict[str, Any] = {
    "id": "6f1c2a43-0000-4000-8000-000000000001",
    "state": "VALIDATED",
    "bank_account": None,
    "cg_version": "CG-2023-11",
    "quote": None,
    "schedule": [],
    "actions": [],
    "history": [],
}
# As GET /v1/requests/{id}/contributions answers on 2027-03-01 for a plan validated in December 2026.
HEALTH: dict[str, Any] = {
    "request_id": REQUEST["id"],
    "as_of": "2027-03-01",
    "contributions": [
        {
            "period": "2027-01",
            "due_on": "2027-02-10",
            "grace_until": "2027-02-25",
            "amount": "5234.50",
            "outstanding": "5234.50",
            "paid_on": None,
            "state": "noticed",
            "cure_deadline": "2027-03-27",
        },
        {
            "period": "2027-02",
            "due_on": "2027-03-11",
            "grace_until": "2027-03-26",
            "amount": "4100.00",
            "outstanding": "0.00",
            "paid_on": "2027-02-28",
            "state": "paid",
            "cure_deadline": None,
        },
    ],
}


def page(lang: Language, health: dict[str, Any] | None) -> str:
    return templates.env.get_template("demande.html").render(
        lang=lang,
        dir=direction(lang),
        t=translator(lang),
        refus=lambda error: "",
        session=None,
        csrf="jeton",
        here=f"/demandes/{REQUEST['id']}",
        demande=REQUEST,
        prelevements=None,
        cotisations=health,
        erreurs={},
    )


@pytest.mark.parametrize(
    ("lang", "notice", "paid"),
    [
        ("fr", "Réglez-les au plus tard le 27/03/2027", "Payée"),
        ("ar", "في أجل أقصاه 27/03/2027", "مؤداة"),
    ],
)
def test_every_current_period_and_the_notice_with_its_deadline(lang: Language, notice: str, paid: str) -> None:
    html = page(lang, HEALTH)
    alert = re.search(r'data-test="mise-en-demeure">(.*?)</p>', html, re.S)
    assert alert is not None and notice in alert.group(1)
    assert "5\u00a0234,50\u00a0MAD" in alert.group(1)  # the Moroccan way, never split across lines
    january = re.search(r'data-test="cotisation-2027-01">(.*?)</tr>', html, re.S)
    february = re.search(r'data-test="cotisation-2027-02">(.*?)</tr>', html, re.S)
    assert january is not None and february is not None
    assert "10/02/2027" in january.group(1) and "25/02/2027" in january.group(1)
    assert paid in february.group(1) and "28/02/2027" in february.group(1)


def test_no_section_before_the_plan_and_a_sentence_when_nothing_is_due_yet() -> None:
    assert 'data-test="cotisations"' not in page("fr", None)
    empty = page("fr", HEALTH | {"contributions": []})
    assert "Aucune cotisation n&#39;est encore échue" in empty and 'data-test="mise-en-demeure"' not in empty
