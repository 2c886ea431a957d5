"""``recouvrement simulate``: the same quote as the service, offline, from a debt file.

For an agent at a perception or a support engineer: no database, no broker, no login. The numbers
come from the same domain code the service runs, so the two can never disagree.
"""

import json
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from services.runtime.clock import BUSINESS_TZ

EXIT_BAD_INPUT = 2


def _fail(message: str) -> typer.Exit:
    typer.echo(message.replace("\n", " "), err=True)
    return typer.Exit(EXIT_BAD_INPUT)


def _reason(exc: Exception) -> str:
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):
        error = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in error["loc"])
        return f"{where} : {str(error['msg']).removeprefix('Value error, ')}"
    return str(exc)


def _read_debt(path: Path) -> list[Any]:
    from pydantic import ValidationError

    from services.simulation.adapters.debt_file import DebtFile
    from services.simulation.domain.eligible_debt import Outstanding

    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise _fail(f"Fichier de créance illisible : {path} ({exc.strerror or exc}).") from None
    try:
        debt = DebtFile.model_validate_json(raw)
    except ValidationError as exc:
        if any(e["type"] == "json_invalid" for e in exc.errors()):
            raise _fail(f"Fichier de créance : JSON invalide ({path}).") from None
        raise _fail(f"Fichier de créance invalide : {_reason(exc)}.") from None
    return [Outstanding(p.period, p.principal, p.majorations, p.astreintes, p.frais) for p in debt.periods]


def _load_programme(programme: str | None) -> Any:
    from pydantic import ValidationError

    from contracts.programme import CURRENT_PROGRAMME, load_programme, shipped_programme

    try:
        if programme is not None and (programme.endswith(".json") or Path(programme).is_file()):
            return load_programme(Path(programme))
        return shipped_programme(programme or CURRENT_PROGRAMME)
    except LookupError:
        raise _fail(f"Programme inconnu : {programme}.") from None
    except OSError as exc:
        raise _fail(f"Fichier de programme illisible : {programme} ({exc.strerror or exc}).") from None
    except ValidationError as exc:
        raise _fail(f"Programme invalide : {_reason(exc)}.") from None


def _parse_advance(advance: str | None) -> Any:
    from pydantic import TypeAdapter, ValidationError

    from contracts.money import ZERO, Money

    if advance is None:
        return ZERO
    try:
        return TypeAdapter(Money).validate_python(advance)
    except ValidationError as exc:
        raise _fail(f"Avance invalide : {advance!r} ({_reason(exc).lstrip(' :')}).") from None


def _parse_date(value: str | None) -> date:
    if value is None:
        return datetime.now(BUSINESS_TZ).date()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _fail(f"Date de validation invalide : {value!r} (attendu AAAA-MM-JJ).") from None


def simulate_command(
    debt: Annotated[
        Path, typer.Option("--debt", help="créance restant due par période (JSON)", metavar="FICHIER.json")
    ],
    modality: Annotated[str, typer.Option("--modality", help="FULL ou INSTALLMENTS", metavar="FULL|INSTALLMENTS")],
    advance: Annotated[str | None, typer.Option("--advance", help="avance, p. ex. 5000.00")] = None,
    installments: Annotated[int | None, typer.Option("--installments", help="nombre d'échéances")] = None,
    validation_date: Annotated[
        str | None,
        typer.Option(
            "--validation-date", help="date V supposée (défaut : aujourd'hui à Casablanca)", metavar="AAAA-MM-JJ"
        ),
    ] = None,
    programme: Annotated[
        str | None, typer.Option("--programme", help="code d'un programme livré (défaut : celui en vigueur)")
    ] = None,
) -> None:
    """Simule un devis de remise hors ligne et l'écrit en JSON (mêmes règles que le service)."""
    from contracts.calendar import BusinessCalendar
    from contracts.refusals import Refusal
    from services.simulation.domain.eligible_debt import eligible_debt
    from services.simulation.domain.quote_terms import quote_terms

    mode = modality.strip().upper()
    if mode not in ("FULL", "INSTALLMENTS"):
        raise _fail(f"Modalité inconnue : {modality!r} (FULL ou INSTALLMENTS).")
    if installments is not None and installments < 0:
        raise _fail(f"Nombre d'échéances invalide : {installments}.")
    outstanding = _read_debt(debt)
    chosen = _load_programme(programme)
    amount = _parse_advance(advance)
    when = _parse_date(validation_date)
    try:
        terms = quote_terms(
            chosen,
            BusinessCalendar(chosen.extra_holidays),
            eligible_debt(chosen, outstanding),
            mode,  # type: ignore[arg-type]  # checked just above
            when,
            advance=amount,
            installments=installments or 0,
        )
    except Refusal as exc:
        raise _fail(f"Simulation refusée ({exc.code}) : {exc.message}") from None
    typer.echo(json.dumps(terms.model_dump(mode="json"), ensure_ascii=False, indent=2))
