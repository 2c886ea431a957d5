"""``recouvrement debits export-pain008`` / ``import-pain002``: files for the banks that do not read Kafka.

Registered by ``services/cli.py`` (``debits_app``).
"""

import asyncio
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import typer

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:15432/debits"
DEFAULT_BOOTSTRAP = "127.0.0.1:19092"


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        typer.echo(f"date invalide : {text} (AAAA-MM-JJ attendu)", err=True)
        raise typer.Exit(2) from None


async def _export(database_url: str, bank: str, on_date: date) -> bytes | None:
    import asyncpg

    from contracts.debits import Creditor
    from services.debits.config import DebitsSettings
    from services.debits.pain.orders import run_orders
    from services.debits.pain.pain008 import render_pain008

    settings = DebitsSettings(database_url=database_url)
    creditor = Creditor(
        name=settings.creditor_name, scheme_id=settings.creditor_scheme_id, account=settings.creditor_account
    )
    conn = await asyncpg.connect(database_url)
    try:
        orders = await run_orders(conn, bank, on_date, creditor)
    finally:
        await conn.close()
    if not orders:
        return None
    return render_pain008(orders, bank=bank, on_date=on_date, created_at=datetime.now(UTC))


def export_pain008_command(
    bank: Annotated[str, typer.Option("--bank", help="code de la banque (chiffres 1 à 3 du RIB)")],
    on_date: Annotated[str, typer.Option("--date", help="date de la tournée AAAA-MM-JJ")],
    out: Annotated[Path, typer.Option("--out", dir_okay=False, help="fichier pain.008.001.02 à écrire")],
    database_url: Annotated[str, typer.Option(envvar="DATABASE_URL")] = DEFAULT_DATABASE_URL,
) -> None:
    """Écrit les ordres d'une tournée pour une banque en fichier ISO 20022 pain.008.001.02."""
    from contracts.banks import BANKS

    if bank not in BANKS:
        typer.echo(f"banque inconnue : {bank} (attendu : {', '.join(BANKS)})", err=True)
        raise typer.Exit(2)
    day = _date(on_date)
    data = asyncio.run(_export(database_url, bank, day))
    if data is None:
        typer.echo(f"aucun ordre pour la banque {bank} dans la tournée du {day.isoformat()} : pas de fichier", err=True)
        raise typer.Exit(1)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(out)  # a reader never sees half a file
    typer.echo(f"{out} écrit ({BANKS[bank]}, tournée du {day.isoformat()})")


def import_pain002_command(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="rapport pain.002.001.03 de la banque")],
    bootstrap: Annotated[str, typer.Option(envvar="KAFKA_BOOTSTRAP_SERVERS", help="serveurs Kafka")] = (
        DEFAULT_BOOTSTRAP
    ),
    bank: Annotated[str | None, typer.Option("--bank", help="code de la banque (défaut : lu dans le rapport)")] = None,
) -> None:
    """Lit le rapport d'état d'une banque et publie ses résultats comme la banque le ferait sur Kafka."""
    from services.debits.pain.pain002 import Pain002Error, parse_pain002
    from services.debits.pain.publish import publish_results
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
