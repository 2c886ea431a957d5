"""``recouvrement debits ...``: operator commands of the debits service (registered by services/cli.py)."""

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from contracts.banks import BANKS

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:15432/debits"


def import_accounts_command(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="comptes bancaires (liste JSON)")],
    database_url: Annotated[str, typer.Option(envvar="DATABASE_URL")] = DEFAULT_DATABASE_URL,
) -> None:
    """Enregistre des comptes bancaires d'affiliés (tout ou rien) ; chaque affilié changé est annoncé.

    Un compte d'une banque absente du registre (contracts/banks.csv) refuse le fichier entier, en
    nommant le compte, l'affilié et le code banque.
    """
    from services.debits.operations import import_bank_accounts
    from services.debits.service.accounts import FichierRefuse

    try:
        outcome = asyncio.run(import_bank_accounts(database_url, file.read_bytes()))
    except FichierRefuse as exc:
        typer.echo(f"fichier refusé, rien n'est importé : {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"{outcome.accounts} comptes enregistrés, {outcome.affiliates_announced} affiliés annoncés")


def run_command(
    on: Annotated[
        str | None, typer.Option("--date", help="date de la tournée AAAA-MM-JJ (défaut : aujourd'hui)")
    ] = None,
    database_url: Annotated[str, typer.Option(envvar="DATABASE_URL")] = DEFAULT_DATABASE_URL,
) -> None:
    """Ordonne chaque prélèvement échu à cette date, sur le topic de la banque du débiteur."""
    from datetime import date

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from services.debits.operations import run_debit_run

    try:
        on_date = date.fromisoformat(on) if on else None
    except ValueError:
        typer.echo(f"date invalide : {on} (AAAA-MM-JJ attendu)", err=True)
        raise typer.Exit(2) from None
    console = Console()
    with Progress(TextColumn("ordres"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console) as bar:
        task = bar.add_task("ordres", total=None)
        summary = asyncio.run(
            run_debit_run(
                database_url,
                on_date,
                started=lambda due: bar.update(task, total=due),
                progress=lambda ordered: bar.advance(task, ordered),
            )
        )
    table = Table(title=f"Tournée du {summary.on_date.isoformat()}")
    table.add_column("banque")
    table.add_column("ordres", justify="right")
    table.add_column("montant (MAD)", justify="right")
    for code in sorted(summary.banks):
        total = summary.banks[code]
        table.add_row(f"{code} {BANKS.get(code, '')}".strip(), str(total.orders), f"{total.amount:,.2f}")
    table.add_row("total", str(summary.orders), f"{summary.amount:,.2f}", style="bold")
    console.print(table)
