"""The configuration reference of ``docs/operations.md``, generated from the settings classes.

``python -m services.stack.config_reference`` rewrites the section between the markers;
``--check`` exits 1 when the committed page differs from what the code says (a field was added,
renamed, given another default or description). Nothing in the section is written by hand: a
description missing from a field is added to the field (``Field(description=...)``), not here.

Each service's table lists what it adds to the common settings, or changes (another default or
another variable name); the common and programme tables list the rest once. The portal shares no
common settings (no Kafka, no token key): its table lists all it reads. The launcher's
``RECOUVREMENT_*`` variables are ``services/stack/settings.py::LauncherSettings``, read the same way.
"""

import argparse
import sys
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined
from pydantic_settings import BaseSettings

from partners.bank.config import BankSettings
from partners.perception.config import PerceptionSettings
from services.auth.config import AuthSettings
from services.debits.config import DebitsSettings
from services.debt.config import DebtSettings
from services.notifications.config import NotificationsSettings
from services.portal.config import PortalSettings
from services.requests.config import RequestsSettings
from services.runtime.settings import ProgrammeSettings, ServiceSettings
from services.simulation.config import SimulationSettings
from services.stack.settings import LauncherSettings

REPO_ROOT = Path(__file__).resolve().parents[2]
DOC = REPO_ROOT / "docs" / "operations.md"
START = "<!-- config-reference:start -->"
END = "<!-- config-reference:end -->"
COMMAND = "python -m services.stack.config_reference"


@dataclass(frozen=True)
class Section:
    title: str
    settings: type[BaseSettings]
    intro: str
    bases: tuple[type[BaseSettings], ...] = ()
    """Settings already described in another table: only what this class adds or changes is listed."""


SECTIONS: tuple[Section, ...] = (
    Section(
        "Common to every service",
        ServiceSettings,
        "`services/runtime/settings.py::ServiceSettings`. Every service but the portal reads these; its "
        "own table below gives the defaults it changes (port, database, name).",
    ),
    Section(
        "Programme (simulation, requests)",
        ProgrammeSettings,
        "`services/runtime/settings.py::ProgrammeSettings`: the remission programme and the business "
        "calendar, for the services that apply them. Every service that reads them must be given the "
        "same values.",
    ),
    Section(
        "auth",
        AuthSettings,
        "`services/auth/config.py::AuthSettings`, plus the common settings.",
        (ServiceSettings,),
    ),
    Section(
        "debt",
        DebtSettings,
        "`services/debt/config.py::DebtSettings`, plus the common settings.",
        (ServiceSettings,),
    ),
    Section(
        "simulation",
        SimulationSettings,
        "`services/simulation/config.py::SimulationSettings`, plus the common and programme settings.",
        (ServiceSettings, ProgrammeSettings),
    ),
    Section(
        "requests",
        RequestsSettings,
        "`services/requests/config.py::RequestsSettings`, plus the common and programme settings.",
        (ServiceSettings, ProgrammeSettings),
    ),
    Section(
        "debits",
        DebitsSettings,
        "`services/debits/config.py::DebitsSettings`, plus the common settings.",
        (ServiceSettings,),
    ),
    Section(
        "notifications",
        NotificationsSettings,
        "`services/notifications/config.py::NotificationsSettings`: e-mail and SMS to the affiliates, plus the "
        "common and programme settings (its business calendar dates the pre-notifications). `SMTP_PASSWORD` and "
        "`SMS_HTTP_TOKEN` are secrets.",
        (ServiceSettings, ProgrammeSettings),
    ),
    Section(
        "portal",
        PortalSettings,
        "`services/portal/config.py::PortalSettings`: the employers' pages. It calls the six services "
        "over HTTP only and keeps its sessions in its own database; it reads none of the common "
        "settings (no Kafka, no token key), only these.",
    ),
    Section(
        "perception (reference partner)",
        PerceptionSettings,
        "`partners/perception/config.py::PerceptionSettings`: the stand-in perception office. It has "
        "no database and verifies no token: of the common settings it uses the `KAFKA_*` ones, "
        "`OTEL_EXPORTER_OTLP_ENDPOINT` and `LOG_LEVEL`.",
        (ServiceSettings,),
    ),
    Section(
        "bank (reference partner)",
        BankSettings,
        "`partners/bank/config.py::BankSettings`: the stand-in banks. It has no database and verifies "
        "no token: of the common settings it uses the `KAFKA_*` ones (`KAFKA_GROUP_ID` is the prefix of "
        "its groups, one per bank: `bank-007`...), `OTEL_EXPORTER_OTLP_ENDPOINT` and `LOG_LEVEL`.",
        (ServiceSettings,),
    ),
)

# ---- rendering the settings classes


@dataclass(frozen=True)
class Row:
    variable: str
    type: str
    default: str
    description: str


def variable_name(name: str, field: FieldInfo) -> str:
    """What pydantic-settings reads: the alias, or the field's name (case-insensitive, no prefix here)."""
    return field.alias or name.upper()


def describe(settings: type[BaseSettings], name: str) -> str:
    """The field's description, or the one of the class it overrides (a subclass that only changes
    a default does not repeat it)."""
    for cls in settings.__mro__:
        fields = getattr(cls, "model_fields", {})
        if name in fields and fields[name].description:
            return str(fields[name].description)
    return ""


def type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    if origin is Literal:
        return " or ".join(f"`{value}`" for value in typing.get_args(annotation))
    if origin in (typing.Union, types.UnionType):
        members = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        optional = len(members) < len(typing.get_args(annotation))
        return " or ".join(type_name(arg) for arg in members) + (", optional" if optional else "")
    if origin is list:
        (item,) = typing.get_args(annotation)
        return f"JSON list of {type_name(item)}"
    if annotation is Path:
        return "path"
    return getattr(annotation, "__name__", str(annotation))


def default_text(field: FieldInfo) -> str:
    if field.default_factory is not None:
        value = field.default_factory()  # type: ignore[call-arg]
    elif field.default is PydanticUndefined:
        return "*required*"
    else:
        value = field.default
    return value_text(value)


def value_text(value: Any) -> str:
    if value is None:
        return "*unset*"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, Path):
        try:
            value = f"<checkout>/{value.relative_to(REPO_ROOT)}"
        except ValueError:
            value = str(value)
    if isinstance(value, list):
        return f"`{value!r}`" if value else "`[]`"
    text = str(value)
    return f"`{text}`" if text else '`""`'


def settings_rows(section: Section) -> list[Row]:
    inherited: dict[str, tuple[str, str]] = {}
    for base in section.bases:
        for name, field in base.model_fields.items():
            inherited[name] = (variable_name(name, field), default_text(field))
    rows = []
    for name, field in section.settings.model_fields.items():
        variable, default = variable_name(name, field), default_text(field)
        if inherited.get(name) == (variable, default):
            continue
        description = describe(section.settings, name)
        if name in inherited:
            description += f" (common setting, {'renamed' if inherited[name][0] != variable else 'own default'})"
        rows.append(Row(variable, type_name(field.annotation), default, description))
    return rows


# ---- the section and the page


def table(rows: Sequence[Row]) -> str:
    lines = ["| variable | type | default | description |", "|---|---|---|---|"]
    for row in rows:
        cells = (f"`{row.variable}`", row.type, row.default, row.description)
        lines.append("| " + " | ".join(cell.replace("|", "\\|").replace("\n", " ") for cell in cells) + " |")
    return "\n".join(lines)


def render() -> str:
    parts = [
        f"<!-- generated by `{COMMAND}` from the settings classes: do not edit by hand -->",
        "",
        "Every variable is read from the environment (names are case-insensitive). Defaults run the embedded "
        'stack; `<checkout>` is the repository\'s folder. Lists are JSON: `\'["a","b"]\'`.',
    ]
    for section in SECTIONS:
        rows = settings_rows(section)
        parts += ["", f"#### {section.title}", "", section.intro, ""]
        parts.append(table(rows) if rows else "Nothing of its own.")
    parts += [
        "",
        "#### Launcher (`recouvrement run`, `make run`, `make test`)",
        "",
        "`services/stack/settings.py::LauncherSettings`: only the embedded stack reads these; in "
        "production each service gets the settings above.",
        "",
        table(settings_rows(Section("launcher", LauncherSettings, ""))),
    ]
    return "\n".join(parts) + "\n"


def rewrite(page: str, section: str) -> str:
    start, end = page.find(START), page.find(END)
    if start < 0 or end < start:
        raise ValueError(f"the page needs the markers {START} and {END}")
    return page[: start + len(START)] + "\n" + section + page[end:]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=COMMAND, description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="exit 1 if the page is not up to date")
    parser.add_argument("--doc", type=Path, default=DOC, help="the page holding the markers")
    args = parser.parse_args(argv)
    page = args.doc.read_text(encoding="utf-8")
    expected = rewrite(page, render())
    if args.check:
        if expected != page:
            print(f"{args.doc}: the configuration reference is out of date; run `{COMMAND}`", file=sys.stderr)
            return 1
        return 0
    if expected != page:
        args.doc.write_text(expected, encoding="utf-8")
        print(f"{args.doc}: configuration reference rewritten")
    return 0


if __name__ == "__main__":
    sys.exit(main())
