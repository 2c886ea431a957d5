"""``recouvrement debits ...``: the debits service's operator commands (``services/cli.py`` mounts ``cli``).

Accounts, the debit run, and the ISO 20022 files for the banks that do not read Kafka: pain.008
orders out, pain.002 reports in.
"""

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from contracts.banks import BANKS
from contracts.money import format_amount
from services.runtime.local import local_database

DEFAULT_DATABASE_URL = local_database("debits")
DEFAULT_BOOTSTRAP = "127.0.0.1:19092"

cli = typer.Typer(help="Comptes bancaires et prélèvements.", no_args_is_help=True)


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        typer.echo(f"date invalide : {text} (AAAA-MM-JJ attendu)", err=True)
        raise typer.Exit(2) from None


@contextmanager
def _traced(database_url: str) -> Iterator[None]:
    """Tracing as the service sets it up (``OTEL_EXPORTER_OTLP_ENDPOINT``, ``TRACE_SAMPLE_RATIO``):
    a run from here is traced as the scheduled one, each page a trace that its orders, its events and
    each bank's answer continue. Without it the pages' spans were no-ops and each order left in a
    trace of its own."""
    from services.debits.config import DebitsSettings
    from services.runtime.telemetry import setup_tracing

    settings = DebitsSettings(database_url=database_url)
    provider = setup_tracing(settings.service_name, settings.otlp_endpoint, settings.trace_sample_ratio)
    try:
        yield
    finally:
        provider.force_flush(timeout_millis=5000)


@cli.command("import-accounts")
def import_accounts_command(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="comptes bancaires (liste JSON)")],
    database_url: Annotated[str, typer.Option(envvar="DATABASE_URL")] = DEFAULT_DATABASE_URL,
) -> None:
    """Enregistre des comptes bancaires d'affiliés (tout ou rien) ; chaque affilié changé est annoncé.

    Un compte d'une banque absente du registre (contracts/banks.csv) refuse le fichier entier, en
    nommant le compte, l'affilié et le code banque.
    """
    from services.debits.entrypoints.operations import import_bank_accounts
    from services.debits.service.accounts import FileRefused

    try:
        outcome = asyncio.run(import_bank_accounts(database_url, file.read_bytes()))
    except FileRefused as exc:
        typer.echo(f"fichier refusé, rien n'est importé : {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"{outcome.accounts} comptes enregistrés, {outcome.affiliates_announced} affiliés annoncés")


@cli.command("republish")
def republish_command(
    database_url: Annotated[str, typer.Option(envvar="DATABASE_URL")] = DEFAULT_DATABASE_URL,
) -> None:
    """Ré-annonce les comptes bancaires de chaque affilié (pour reconstruire les projections des autres services)."""
    from services.debits.entrypoints.operations import republish

    count = asyncio.run(republish(database_url))
    typer.echo(f"comptes bancaires de {count} affiliés mis dans l'outbox (le service debits les publie)")


@cli.command("run")
def run_command(
    on: Annotated[
        str | None, typer.Option("--date", help="date de la tournée AAAA-MM-JJ (défaut : aujourd'hui)")
    ] = None,
    database_url: Annotated[str, typer.Option(envvar="DATABASE_URL")] = DEFAULT_DATABASE_URL,
) -> None:
    """Ordonne chaque prélèvement échu à cette date, sur le topic de la banque du débiteur."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from services.debits.entrypoints.operations import run_debit_run

    on_date = _date(on) if on else None
    console = Console()
    with (
        _traced(database_url),
        Progress(TextColumn("ordres"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console) as bar,
    ):
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
        table.add_row(f"{code} {BANKS.get(code, '')}".strip(), str(total.orders), format_amount(total.amount, ""))
    table.add_row("total", str(summary.orders), format_amount(summary.amount, ""), style="bold")
    console.print(table)


@cli.command("follow-up")
def follow_up_command(
    on: Annotated[str | None, typer.Option("--date", help="date du suivi AAAA-MM-JJ (défaut : aujourd'hui)")] = None,
    database_url: Annotated[str, typer.Option(envvar="DATABASE_URL")] = DEFAULT_DATABASE_URL,
) -> None:
    """Suit les ordres restés sans réponse de la banque à cette date, comme chaque tournée le fait.

    Un ordre sans réponse ORDER_ANSWER_WAIT_BUSINESS_DAYS jours ouvrés après sa date d'encaissement est
    envoyé de nouveau, tel quel (même identifiant) ; après ORDER_RESENDS envois, il est signalé.
    """
    from services.debits.entrypoints.operations import follow_up

    summary = asyncio.run(follow_up(database_url, _date(on) if on else None))
    typer.echo(f"{summary.resent} ordres envoyés de nouveau, {summary.flagged} signalés aux opérateurs")


@cli.command("unanswered")
def unanswered_command(
    database_url: Annotated[str, typer.Option(envvar="DATABASE_URL")] = DEFAULT_DATABASE_URL,
) -> None:
    """Liste les ordres signalés : sans réponse de la banque après leurs envois de nouveau.

    À demander à la banque ; son rapport pain.002 s'importe avec ``import-pain002``.
    """
    from rich.console import Console
    from rich.table import Table

    from services.debits.entrypoints.operations import flagged_orders

    found = asyncio.run(flagged_orders(database_url))
    table = Table(title=f"{len(found)} ordres sans réponse, signalés")
    for column in (
        "identifiant",
        "demande",
        "affilié",
        "banque",
        "échéance",
        "montant (MAD)",
        "encaissement",
        "signalé le",
    ):
        table.add_column(column)
    for o in found:
        table.add_row(
            o["end_to_end_id"],
            str(o["request_id"]),
            o["affiliate"],
            o["bank_code"],
            f"{o['sequence']} (tentative {o['attempt']})",
            format_amount(o["amount"], ""),
            o["requested_collection_date"].isoformat(),
            o["flagged_on"].isoformat(),
        )
    Console().print(table)


@cli.command("held")
def held_command(
    database_url: Annotated[str, typer.Option(envvar="DATABASE_URL")] = DEFAULT_DATABASE_URL,
) -> None:
    """Liste les plans qu'une tournée n'a pas pu ordonner, mis de côté avec l'erreur rencontrée.

    Aucune tournée ne les reprend avant ``release`` ; les autres plans sont ordonnés normalement.
    """
    from rich.console import Console
    from rich.table import Table

    from services.debits.entrypoints.operations import held_plans

    found = asyncio.run(held_plans(database_url))
    table = Table(title=f"{len(found)} plans mis de côté")
    for column in ("demande", "affilié", "banque", "dû depuis", "mis de côté le", "erreur"):
        table.add_column(column)
    for p in found:
        table.add_row(
            str(p["request_id"]),
            p["affiliate"],
            p["bank_code"],
            p["due_since"].isoformat() if p["due_since"] else "",
            p["held_at"].isoformat(timespec="seconds"),
            p["held_reason"],
        )
    Console().print(table)


@cli.command("release")
def release_command(
    request_ids: Annotated[list[str] | None, typer.Argument(help="identifiants des demandes")] = None,
    why: Annotated[str, typer.Option("--why", help="ce qui a été corrigé (journalisé)")] = "",
    every: Annotated[bool, typer.Option("--all", help="tous les plans mis de côté")] = False,
    database_url: Annotated[str, typer.Option(envvar="DATABASE_URL")] = DEFAULT_DATABASE_URL,
) -> None:
    """Rend des plans mis de côté à la tournée : la prochaine les ordonne comme tout plan échu."""
    from uuid import UUID

    from services.debits.entrypoints.operations import release_plans

    if not why.strip() or bool(request_ids) == every:
        typer.echo("indiquez --why et soit des identifiants, soit --all", err=True)
        raise typer.Exit(2)
    try:
        wanted = None if every else [UUID(r) for r in request_ids or []]
    except ValueError:
        typer.echo("identifiant de demande invalide", err=True)
        raise typer.Exit(2) from None
    released = asyncio.run(release_plans(database_url, wanted, why))
    typer.echo(f"{len(released)} plans rendus à la tournée")


@cli.command("export-pain008")
def export_pain008_command(
    bank: Annotated[str, typer.Option("--bank", help="code de la banque (chiffres 1 à 3 du RIB)")],
    on_date: Annotated[str, typer.Option("--date", help="date de la tournée AAAA-MM-JJ")],
    out: Annotated[Path, typer.Option("--out", dir_okay=False, help="fichier pain.008.001.02 à écrire")],
    database_url: Annotated[str, typer.Option(envvar="DATABASE_URL")] = DEFAULT_DATABASE_URL,
) -> None:
    """Écrit les ordres d'une tournée pour une banque en fichier ISO 20022 pain.008.001.02."""
    from services.debits.entrypoints.operations import export_pain008

    if bank not in BANKS:
        typer.echo(f"banque inconnue : {bank} (attendu : {', '.join(BANKS)})", err=True)
        raise typer.Exit(2)
    day = _date(on_date)
    data = asyncio.run(export_pain008(database_url, bank, day))
    if data is None:
        typer.echo(f"aucun ordre pour la banque {bank} dans la tournée du {day.isoformat()} : pas de fichier", err=True)
        raise typer.Exit(1)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(out)  # a reader never sees half a file
    typer.echo(f"{out} écrit ({BANKS[bank]}, tournée du {day.isoformat()})")


@cli.command("import-pain002")
def import_pain002_command(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="rapport pain.002.001.03 de la banque")],
    bootstrap: Annotated[str, typer.Option(envvar="KAFKA_BOOTSTRAP_SERVERS", help="serveurs Kafka")] = (
        DEFAULT_BOOTSTRAP
    ),
    bank: Annotated[str | None, typer.Option("--bank", help="code de la banque (défaut : lu dans le rapport)")] = None,
) -> None:
    """Lit le rapport d'état d'une banque et publie ses résultats comme la banque le ferait sur Kafka."""
    from services.debits.adapters.pain.pain002 import Pain002Error, parse_pain002
    from services.debits.adapters.pain.publish_results import publish_results
    from services.runtime.settings import ServiceSettings

    try:
        report = parse_pain002(file.read_bytes(), bank_code=bank)
    except Pain002Error as exc:
        typer.echo(f"rapport refusé, rien n'est publié : {exc}", err=True)
        raise typer.Exit(2) from None
    settings = ServiceSettings(kafka_bootstrap_servers=bootstrap, service_name="debits-pain002")
    sent = asyncio.run(publish_results(settings, report.results))
    executed = sum(1 for r in report.results if r.message.type == "banks.debit_executed")
    typer.echo(
        f"rapport {report.message_id} : {sent} résultats publiés ({executed} exécutés, {sent - executed} rejetés),"
        f" {len(report.pending)} en attente"
    )
