"""``recouvrement simulate``: the service's quote, offline, and clean refusals of bad input."""

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from services.simulation.entrypoints.cli import simulate_command

PROGRAMME_FICTIF = Path(__file__).parents[1] / "data" / "programme-fictif.json"


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()
    app.command("simulate")(simulate_command)

    @app.command("autre")
    def _other() -> None:  # two commands, as in `recouvrement`: `simulate` stays a sub-command
        """Pour que typer garde les sous-commandes."""

    return app


def debt_file(tmp_path: Path, content: object) -> Path:
    path = tmp_path / "creance.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


DEBT = {
    "periods": [
        {
            "period": "2023-05",
            "principal": "10000.00",
            "majorations": "300.00",
            "astreintes": "500.00",
            "frais": "150.55",
        },
        {"period": "2024-12", "principal": "2000.00", "majorations": "33.33", "astreintes": "0.00", "frais": "0.00"},
        {"period": "2025-01", "principal": "2500.00", "majorations": "75.00", "astreintes": "0.00", "frais": "0.00"},
    ]
}


def test_full_payment_quote_as_json(app: typer.Typer, tmp_path: Path) -> None:
    args = ["simulate", "--debt", str(debt_file(tmp_path, DEBT)), "--modality", "FULL"]
    result = CliRunner().invoke(app, [*args, "--validation-date", "2026-12-15"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    # Same hand arithmetic as test_simulation_cases: remise 200.00 + 90.33 + 450.00, to_pay 12243.55
    assert body["rates"] == {"majorations": "0.60", "frais": "0.60", "astreintes": "0.90"}
    assert body["eligible"] == {
        "principal": "12000.00",
        "majorations": "333.33",
        "frais": "150.55",
        "astreintes": "500.00",
    }
    assert body["remise"]["total"] == "740.33"
    assert body["to_pay"] == "12243.55"
    assert body["schedule"] == [
        {"sequence": 1, "kind": "FULL", "due_date": "2027-01-10", "collection_date": "2027-01-12", "amount": "12243.55"}
    ]


def test_installments_with_another_programme_file(app: typer.Typer, tmp_path: Path) -> None:
    debt = {
        "periods": [
            {
                "period": "2025-03",
                "principal": "100000.00",
                "majorations": "10000.00",
                "frais": "2000.00",
                "astreintes": "4000.00",
            }
        ]
    }
    args = ["simulate", "--debt", str(debt_file(tmp_path, debt)), "--modality", "installments", "--installments", "36"]
    result = CliRunner().invoke(app, [*args, "--programme", str(PROGRAMME_FICTIF), "--validation-date", "2025-03-20"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert (body["programme"], body["tier"], body["to_pay"]) == ("FICTIF-TEST-2099", "ACOMPTES_13_36", "110100.00")
    assert [d["amount"] for d in body["schedule"]][-2:] == ["3058.33", "3058.45"]


def test_the_default_validation_date_is_today(app: typer.Typer, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["simulate", "--debt", str(debt_file(tmp_path, DEBT)), "--modality", "FULL"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["validation_date"]


@pytest.mark.parametrize(
    ("content", "extra", "message"),
    [
        (None, [], "Fichier de créance illisible"),
        ("{not json", [], "JSON invalide"),
        ({"periods": [{"period": "2023-13", "principal": "1.00"}]}, [], "AAAA-MM"),
        ({"periods": [{"period": "2023-01", "principal": 12.5}]}, [], "flottant"),
        ({"periods": [{"period": "2023-01", "majorations": "1.234"}]}, [], "deux décimales"),
        ({"periods": [{"period": "2023-01", "majorations": "1"}, {"period": "2023-01"}]}, [], "deux fois"),
        (DEBT, ["--modality", "CASH"], "Modalité inconnue"),
        (DEBT, ["--modality", "INSTALLMENTS", "--installments", "61"], "echeances-hors-limites"),
        (DEBT, ["--modality", "INSTALLMENTS", "--installments", "12"], "echeance-sous-minimum"),
        (
            DEBT,
            ["--modality", "INSTALLMENTS", "--installments", "2", "--advance", "99999999.00"],
            "avance-hors-limites",
        ),
        (DEBT, ["--modality", "INSTALLMENTS", "--installments", "2", "--advance", "abc"], "Avance invalide"),
        (DEBT, ["--modality", "FULL", "--validation-date", "15/12/2026"], "Date de validation invalide"),
        (DEBT, ["--modality", "FULL", "--programme", "DEC-99-2099"], "Programme inconnu"),
        ({"periods": [{"period": "2023-01", "principal": "10.00"}]}, [], "rien-a-remettre"),
    ],
    ids=[
        "missing-file",
        "invalid-json",
        "bad-period",
        "float-amount",
        "three-decimals",
        "duplicate-period",
        "bad-modality",
        "too-many",
        "under-minimum",
        "advance-too-large",
        "bad-advance",
        "bad-date",
        "unknown-programme",
        "nothing-to-remit",
    ],
)
def test_bad_input_exits_2_with_one_french_line(
    app: typer.Typer, tmp_path: Path, content: object, extra: list[str], message: str
) -> None:
    path = tmp_path / "absent.json" if content is None else debt_file(tmp_path, content)
    result = CliRunner().invoke(app, ["simulate", "--debt", str(path), *(extra or ["--modality", "FULL"])])
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr
