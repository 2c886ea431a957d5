"""``recouvrement requests ...``: the requests service's operator commands (``services/cli.py`` mounts ``cli``)."""

import asyncio
from typing import Annotated

import typer

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:15432/requests"

cli = typer.Typer(help="Demandes de remise.", no_args_is_help=True)


@cli.command("sweep")
def sweep_command(
    on: Annotated[
        str | None,
        typer.Option("--date", help="AAAA-MM-JJ : balayer comme si l'on était ce jour à 00:00 (Casablanca)"),
    ] = None,
    database_url: Annotated[str, typer.Option(envvar="DATABASE_URL")] = DEFAULT_DATABASE_URL,
) -> None:
    """Expire les demandes dont le délai de garanties est passé, annule les brouillons inactifs, ré-annonce
    les validations restées sans échéancier et renvoie les demandes de garanties sans accusé de réception."""
    from services.requests.entrypoints.operations import run_sweep

    try:
        done = asyncio.run(run_sweep(database_url, on))
    except ValueError as exc:
        typer.echo(f"date refusée : {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(
        f"{done['expired']} demandes expirées, {done['cancelled']} brouillons annulés, "
        f"{done['reannounced']} validations ré-annoncées (sans échéancier de debits), "
        f"{done['guarantees_reannounced']} demandes de garanties renvoyées (sans accusé de réception)"
    )
    if done["failed"]:
        typer.echo(f"{done['failed']} demandes n'ont pas pu être traitées : voir le journal", err=True)
        raise typer.Exit(1)
