"""Every service has the same rooms and nothing outside them (import-linter orders the rooms; this
test keeps a new file from landing beside them, where no contract would see it)."""

import ast
from pathlib import Path

import pytest

SERVICES = Path(__file__).parents[2] / "services"
LAYERED = ("auth", "debt", "simulation", "requests", "debits", "notifications")
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


_NOT_REFUSALS = {"Exception", "ValueError", "LookupError", "RuntimeError", "KeyError"}


@pytest.mark.parametrize("service", LAYERED)
def test_a_business_refusal_is_a_refusal(service: str) -> None:
    """What a domain or a use case refuses is a ``contracts.refusals.Refusal`` (code, message,
    details), answered by the runtime's one handler: no exception of its own that each route must
    map (adapters' parse errors of a file format are theirs)."""
    others = []
    for room in ("domain", "service"):
        for module in (SERVICES / service / room).rglob("*.py"):
            for node in ast.walk(ast.parse(module.read_text())):
                if isinstance(node, ast.ClassDef):
                    bases = {b.id for b in node.bases if isinstance(b, ast.Name)}
                    if bases & _NOT_REFUSALS:
                        others.append(f"{module.relative_to(SERVICES)}: {node.name}")
    assert others == []
