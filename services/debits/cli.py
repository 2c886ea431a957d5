"""``recouvrement debits ...``: operator commands of the debits service (registered by services/cli.py)."""

import asyncio
from pathlib import Path
from typing import Annotated

import typer

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:15432/debits"


def import_accounts_command(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="comptes bancaires (liste JSON)")],
    database_url: Annotated[str, typer.Option(envvar="DATABASE_URL")] = DEFAULT_DATABASE_URL,
) -> None:
    """Enregistre des comptes bancaires d'affiliés (tout ou rien) ; chaque affilié changé est annoncé."""
    from services.debits.operations import import_bank_accounts
    from services.debits.service.accounts import FichierRefuse

    try:
        outcome = asyncio.run(import_bank_accounts(database_url, file.read_bytes()))
    except FichierRefuse as exc:
        typer.echo(f"fichier refusé, rien n'est importé : {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"{outcome.accounts} comptes enregistrés, {outcome.affiliates_announced} affiliés annoncés")
