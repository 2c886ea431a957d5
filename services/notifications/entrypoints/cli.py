"""``recouvrement notifications ...``: the notifications service's operator commands (``services/cli.py``
mounts ``cli``)."""

import asyncio
from typing import Annotated

import typer

from services.runtime.local import local_database

DEFAULT_DATABASE_URL = local_database("notifications")

cli = typer.Typer(help="Notifications des affiliés (e-mail, SMS).", no_args_is_help=True)

DatabaseUrl = Annotated[str, typer.Option(envvar="DATABASE_URL")]


@cli.command("sweep")
def sweep_command(
    on: Annotated[str | None, typer.Option("--date", help="AAAA-MM-JJ : les rappels dus ce jour-là")] = None,
    database_url: DatabaseUrl = DEFAULT_DATABASE_URL,
) -> None:
    """Prépare les rappels dus (délai des garanties à 7 et 1 jours, prélèvement à venir dans 5 jours
    ouvrables) ; le service les envoie. Un rappel déjà fait ne l'est pas une seconde fois."""
    from services.notifications.entrypoints.operations import run_sweep

    try:
        done = asyncio.run(run_sweep(database_url, on))
    except ValueError as exc:
        typer.echo(f"date refusée : {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(
        f"{done['guarantee_reminders']} rappels de garanties, {done['prenotifications']} pré-notifications de"
        " prélèvement (une par canal)"
    )


@cli.command("send")
def send_command() -> None:
    """Envoie maintenant ce qui est dû, avec les canaux de la configuration du service."""
    from services.notifications.config import NotificationsSettings
    from services.notifications.entrypoints.operations import run_send

    done = asyncio.run(run_send(NotificationsSettings()))
    typer.echo(
        f"{done['sent']} envoyées, {done['skipped']} sans objet, {done['retried']} à réessayer,"
        f" {done['failed']} en échec"
    )


@cli.command("failed")
def failed_command(
    limit: Annotated[int, typer.Option(help="combien au plus")] = 100,
    database_url: DatabaseUrl = DEFAULT_DATABASE_URL,
) -> None:
    """Les notifications en échec (après leurs essais), avec la raison."""
    from services.notifications.entrypoints.operations import list_failed

    for row in asyncio.run(list_failed(database_url, limit)):
        typer.echo(
            f"{row['id']}  {row['created_at']:%Y-%m-%d %H:%M}  {row['affiliate']}  {row['kind']}/{row['channel']}"
            f"  essais {row['attempts']}  {row['last_error']}"
        )


@cli.command("requeue")
def requeue_command(
    ids: Annotated[list[str] | None, typer.Argument(help="identifiants ; aucun : toutes celles en échec")] = None,
    database_url: DatabaseUrl = DEFAULT_DATABASE_URL,
) -> None:
    """Remet en file des notifications en échec (après correction du relais ou de l'adresse)."""
    from services.notifications.entrypoints.operations import requeue_failed

    typer.echo(f"{asyncio.run(requeue_failed(database_url, ids or None))} notifications remises en file")
