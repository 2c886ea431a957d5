"""debt shows as eligible what the programme file covers: no cut-off of its own to fall out of step."""

import json
from pathlib import Path

from contracts.programme import CURRENT_PROGRAMME, shipped_programme
from services.debt.config import DebtSettings


def test_the_cutoff_is_the_programmes_eligible_until(tmp_path: Path) -> None:
    assert DebtSettings().eligibility_cutoff == shipped_programme(CURRENT_PROGRAMME).eligible_until == "2024-12"
    data = json.loads(shipped_programme(CURRENT_PROGRAMME).model_dump_json())
    data["eligible_until"] = "2023-06"
    amended = tmp_path / "programme.json"
    amended.write_text(json.dumps(data), encoding="utf-8")
    assert DebtSettings.model_validate({"PROGRAMME_FILE": str(amended)}).eligibility_cutoff == "2023-06"
    assert "eligibility_cutoff" not in DebtSettings.model_fields  # not a setting: PROGRAMME_ELIGIBILITY_CUTOFF is gone
