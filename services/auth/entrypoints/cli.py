"""``recouvrement auth ...``: the auth service's operator commands (``services/cli.py`` mounts ``cli``)."""

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from services.runtime.local import local_database

DEFAULT_DATABASE_URL = local_database("auth")

cli = typer.Typer(help="Comptes Damancom.", no_args_is_help=True)


@cli.command("import")
def import_accounts_command(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="export Damancom (JSON)")],
    database_url: Annotated[str, typer.Option(envvar="DATABASE_URL")] = DEFAULT_DATABASE_URL,
) -> None:
    """Importe des comptes Damancom et leurs affiliés (création ou mise à jour)."""
    from pydantic import ValidationError

    from services.auth.entrypoints.operations import import_export
    from services.auth.service.import_accounts import DamancomExport

    try:
        export = DamancomExport.model_validate_json(file.read_bytes())
    except ValidationError as exc:
        typer.echo(f"fichier refusé, rien n'est importé :\n{exc}", err=True)
        raise typer.Exit(2) from None
    count = asyncio.run(import_export(database_url, export))
    typer.echo(f"{count} comptes importés")


@cli.command("republish")
def republish_command(
    database_url: Annotated[str, typer.Option(envvar="DATABASE_URL")] = DEFAULT_DATABASE_URL,
) -> None:
    """Ré-annonce tous les profils d'affiliés (pour reconstruire les projections des autres services)."""
    from services.auth.entrypoints.operations import republish

    typer.echo(
        f"{asyncio.run(republish(database_url))} profils d'affiliés mis dans l'outbox (le service auth les publie)"
    )
