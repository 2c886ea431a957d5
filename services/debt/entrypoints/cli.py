"""``recouvrement debt ...``: the debt service's operator commands (``services/cli.py`` mounts ``cli``)."""

import asyncio
from typing import Annotated

import typer

from services.runtime.local import local_database

DEFAULT_DATABASE_URL = local_database("debt")

cli = typer.Typer(help="Créance consolidée.", no_args_is_help=True)


@cli.command("republish")
def republish_command(
    database_url: Annotated[str, typer.Option(envvar="DATABASE_URL")] = DEFAULT_DATABASE_URL,
) -> None:
    """Ré-annonce toutes les positions (pour reconstruire les projections des autres services)."""
    from services.debt.entrypoints.operations import republish

    typer.echo(f"{asyncio.run(republish(database_url))} positions mises dans l'outbox (le service debt les publie)")
