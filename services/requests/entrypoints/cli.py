"""``recouvrement requests ...``: the requests service's operator commands (``services/cli.py`` mounts ``cli``)."""

import asyncio
from typing import Annotated

import typer

from services.runtime.local import local_database

DEFAULT_DATABASE_URL = local_database("requests")

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
    les validations restées sans échéancier, renvoie les demandes de garanties sans accusé de réception et
    surveille les cotisations courantes des plans en cours (article 2 : mise en demeure, régularisation,
    déchéance)."""
    from services.requests.entrypoints.operations import run_sweep

    try:
        done = asyncio.run(run_sweep(database_url, on))
    except ValueError as exc:
        typer.echo(f"date refusée : {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(
        f"{done['expired']} demandes expirées, {done['cancelled']} brouillons annulés, "
        f"{done['reannounced']} validations ré-annoncées (sans échéancier de debits), "
        f"{done['guarantees_reannounced']} demandes de garanties renvoyées (sans accusé de réception), "
        f"{done['contributions_noticed']} mises en demeure (cotisations courantes), "
        f"{done['contributions_cured']} régularisées, {done['contributions_defaulted']} plans déchus"
    )
    if done["failed"]:
        typer.echo(f"{done['failed']} demandes n'ont pas pu être traitées : voir le journal", err=True)
        raise typer.Exit(1)


@cli.command("reopen")
def reopen_command(
    request_id: Annotated[str, typer.Argument(help="identifiant de la demande expirée")],
    why: Annotated[str, typer.Option("--motif", help="pourquoi la demande est rouverte (dans l'historique)")],
    operator_name: Annotated[str, typer.Option("--operateur", envvar="USER", help="qui la rouvre (dans l'historique)")],
    database_url: Annotated[str, typer.Option(envvar="DATABASE_URL")] = DEFAULT_DATABASE_URL,
) -> None:
    """Rouvre une demande expirée dont la perception a enregistré les garanties dans le délai.

    La date de dépôt est celle que la perception a donnée dans sa réponse (reçue après l'expiration) :
    dans le délai, la demande est validée (V = la date de dépôt) ; sinon elle reste expirée.
    """
    import uuid

    from contracts.refusals import Refusal
    from services.requests.entrypoints.operations import reopen_request

    try:
        wanted = uuid.UUID(request_id)
    except ValueError:
        typer.echo(f"identifiant de demande invalide : {request_id}", err=True)
        raise typer.Exit(2) from None
    try:
        request = asyncio.run(reopen_request(database_url, wanted, operator_name, why))
    except Refusal as refusal:
        typer.echo(f"demande non rouverte ({refusal.code}) : {refusal.message}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"demande {request.id} validée, V = {request.validation_date}, {len(request.schedule)} prélèvements")
