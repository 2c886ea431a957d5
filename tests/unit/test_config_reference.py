"""The configuration reference of docs/operations.md is generated from the settings classes and kept
up to date: a field added without regenerating the page fails here."""

from pathlib import Path

import pytest

from services.stack import config_reference as ref
from services.stack.settings import LauncherSettings

SETTINGS = [section.settings for section in ref.SECTIONS]


def test_the_committed_reference_is_up_to_date() -> None:
    assert ref.main(["--check"]) == 0, f"docs/operations.md is stale: run `{ref.COMMAND}`"


def test_every_service_and_the_partner_have_a_table() -> None:
    names = {cls.__name__ for cls in SETTINGS}
    assert {
        "ServiceSettings",
        "ProgrammeSettings",
        "AuthSettings",
        "DebtSettings",
        "SimulationSettings",
        "RequestsSettings",
        "DebitsSettings",
        "PortalSettings",
        "PerceptionSettings",
    } <= names


def test_every_settings_field_appears_with_a_description() -> None:
    page = ref.DOC.read_text(encoding="utf-8")
    section = page[page.index(ref.START) : page.index(ref.END)]
    for settings in SETTINGS:
        for name, field in settings.model_fields.items():
            variable = ref.variable_name(name, field)
            assert f"| `{variable}` |" in section, f"{settings.__name__}.{name} ({variable}) is missing"
            assert ref.describe(settings, name), f"{settings.__name__}.{name}: add a description= to the field"


def test_the_launcher_variables_are_its_settings() -> None:
    rows = {row.variable: row for row in ref.settings_rows(ref.Section("launcher", LauncherSettings, ""))}
    assert rows["RECOUVREMENT_DATA_DIR"].default == "`<checkout>/.data`"
    assert rows["RECOUVREMENT_PG_PORT"].default == "`15432`"
    assert rows["RECOUVREMENT_SEED_DEMO"].default == "`true`"
    ports = {"auth": 8101, "debt": 8102, "simulation": 8103, "requests": 8104, "debits": 8105, "portal": 8080}
    for service, port in (ports | {"perception": 8190, "bank": 8191}).items():
        assert rows[f"RECOUVREMENT_{service.upper()}_PORT"].default == f"`{port}`"
    assert all(row.description for row in rows.values())
    page = ref.DOC.read_text(encoding="utf-8")
    assert all(f"| `{variable}` |" in page for variable in rows)


def test_the_check_fails_on_a_stale_page_and_the_generator_mends_it(tmp_path: Path) -> None:
    page = tmp_path / "operations.md"
    page.write_text(f"# Ops\n\n{ref.START}\n| `OLD_VARIABLE` | | | |\n{ref.END}\n\nafter\n", encoding="utf-8")
    assert ref.main(["--check", "--doc", str(page)]) == 1
    assert ref.main(["--doc", str(page)]) == 0
    assert ref.main(["--check", "--doc", str(page)]) == 0
    text = page.read_text(encoding="utf-8")
    assert "OLD_VARIABLE" not in text and text.startswith("# Ops\n") and text.endswith("\nafter\n")
    assert "| `TOKEN_PUBLIC_KEY_FILES` |" in text


def test_a_page_without_markers_is_refused(tmp_path: Path) -> None:
    page = tmp_path / "operations.md"
    page.write_text("# Ops\n", encoding="utf-8")
    with pytest.raises(ValueError, match="markers"):
        ref.main(["--check", "--doc", str(page)])
