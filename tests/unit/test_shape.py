"""Every service has the same rooms and nothing outside them (import-linter orders the rooms; this
test keeps a new file from landing beside them, where no contract would see it)."""

from pathlib import Path

import pytest

SERVICES = Path(__file__).parents[2] / "services"
LAYERED = ("auth", "debt", "simulation", "requests", "debits")
ROOMS = {"__init__.py", "main.py", "config.py", "domain", "service", "adapters", "entrypoints", "migrations"}


@pytest.mark.parametrize("service", LAYERED)
def test_a_service_holds_its_rooms_and_nothing_else(service: str) -> None:
    found = {p.name for p in (SERVICES / service).iterdir() if p.name != "__pycache__"}
    assert found == ROOMS


@pytest.mark.parametrize("service", LAYERED)
def test_operator_commands_live_in_the_entrypoints(service: str) -> None:
    entrypoints = SERVICES / service / "entrypoints"
    assert (entrypoints / "http.py").exists()
    assert (entrypoints / "cli.py").exists()
    assert (entrypoints / "dependencies.py").exists()  # what the handlers get, built by main.py
