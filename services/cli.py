"""``recouvrement``: the operators' command line."""

import asyncio
import json
import os
import signal
import time
from pathlib import Path
from typing import Annotated

import typer

from partners.bank import cli as bank_cli
from partners.perception import cli as perception_cli
from services.debits import cli as debits_cli
from services.debits.cli import import_accounts_command as import_bank_accounts_command
from services.debits.pain import cli as pain_cli
from services.simulation.cli import simulate_command
from services.stack import repair_cli

app = typer.Typer(help="CNSS Espace Recouvrement : commandes d'exploitation.", no_args_is_help=True)
topics_app = typer.Typer(help="Topics Kafka du catalogue.", no_args_is_help=True)
auth_app = typer.Typer(help="Comptes Damancom.", no_args_is_help=True)
debt_app = typer.Typer(help="Créance consolidée.", no_args_is_help=True)
demo_app = typer.Typer(help="Données de démonstration (développement uniquement).", no_args_is_help=True)
keys_app = typer.Typer(help="Clés de signature des jetons.", no_args_is_help=True)
requests_app = typer.Typer(help="Demandes de remise.", no_args_is_help=True)
debits_app = typer.Typer(help="Comptes bancaires et prélèvements.", no_args_is_help=True)
perception_app = typer.Typer(help="Perception de référence (partenaire de démonstration).", no_args_is_help=True)
bank_app = typer.Typer(help="Banque de référence (partenaire de démonstration).", no_args_is_help=True)
app.add_typer(topics_app, name="topics")
app.add_typer(auth_app, name="auth")
app.add_typer(debt_app, name="debt")
app.add_typer(demo_app, name="demo")
app.add_typer(keys_app, name="keys")
app.add_typer(requests_app, name="requests")
app.add_typer(debits_app, name="debits")
app.add_typer(perception_app, name="perception")
app.add_typer(bank_app, name="bank")
app.add_typer(repair_cli.outbox_app, name="outbox")
app.add_typer(repair_cli.dlq_app, name="dlq")

app.command("simulate")(simulate_command)
debits_app.command("import-accounts")(import_bank_accounts_command)
debits_app.command("run")(debits_cli.run_command)
debits_app.command("export-pain008")(pain_cli.export_pain008_command)
debits_app.command("import-pain002")(pain_cli.import_pain002_command)
perception_app.command("serve")(perception_cli.serve_command)
perception_app.command("deposit")(perception_cli.deposit_command)
perception_app.command("refuse")(perception_cli.refuse_command)
bank_app.command("serve")(bank_cli.serve_command)


@app.command()
def run() -> None:
    """Démarre toute la pile : Postgres et broker embarqués, topics, services, données de démo."""
    from services.stack.launcher import Say, Stack, StackConfig, service_urls
    from services.stack.provisioning import database_url

    def interrupt(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt  # SIGTERM and SIGHUP stop the stack as cleanly as Ctrl-C

    # SIGINT too: a shell starting us in the background leaves it ignored, and Ctrl-C must still work.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, interrupt)
    say = Say()
    config = StackConfig.from_env()
    stack = Stack(config)
    try:
        stack.start(say)
        marker = config.data_dir / "demo-seeded"
        if config.seed_demo and not marker.exists():
            from services.stack.seed import seed_demo

            dataset = asyncio.run(
                seed_demo(
                    database_url(stack.database_server_url, "auth"),
                    database_url(stack.database_server_url, "debits"),
                    stack.bootstrap,
                    affiliates=config.demo_affiliates,
                    seed=config.demo_seed,
                )
            )
            marker.write_text(json.dumps({"affiliates": config.demo_affiliates, "seed": config.demo_seed}))
            say(f"données de démo chargées : {len(dataset.export.accounts)} comptes, {len(dataset.ledger)} écritures")
        urls = service_urls(config)
        say("prêt.")
        say(f"  PORTAIL    {urls.pop('portal')}   (ouvrez-le dans un navigateur)")
        for name, url in urls.items():
            say(f"  {name:<10} {url}   (OpenAPI : {url}/docs)")
        say(f"  postgres {stack.database_server_url}   kafka {stack.bootstrap}")
        say(f"  journaux : {config.data_dir / 'logs'}")
        say("  comptes de démo (DÉVELOPPEMENT UNIQUEMENT) : demo.simple / Demo-2024!   demo.groupe / Demo-2024!")
        say("Ctrl-C pour tout arrêter.")
        while not (dead := stack.dead_services()):
            time.sleep(0.5)
        say(f"service arrêté de façon inattendue : {', '.join(dead)} ; voir les journaux. Arrêt de la pile.")
        raise typer.Exit(1)
    except KeyboardInterrupt:
        say("arrêt demandé…")
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_IGN)  # a second Ctrl-C must not cut the stop short
        stack.stop()
        say("pile arrêtée.")


@app.command()
def serve(
    service: Annotated[str, typer.Argument(help="auth | debt | simulation | requests | debits | portal")],
) -> None:
    """Sert un service (HTTP, et ses consommateurs Kafka) ; configuration par variables d'environnement."""
    import uvicorn

    from services.stack.launcher import SERVICE_PORTS

    if service not in SERVICE_PORTS:
        raise typer.BadParameter(f"service inconnu : {service} (attendu : {', '.join(SERVICE_PORTS)})")
    host = os.environ.get("HTTP_HOST", "127.0.0.1")
    port = int(os.environ.get("HTTP_PORT", SERVICE_PORTS[service]))
    uvicorn.run(
        f"services.{service}.main:create_app",
        factory=True,
        host=host,
        port=port,
        log_config=None,
        timeout_graceful_shutdown=10,
    )


@topics_app.command("provision")
def provision(
    bootstrap: Annotated[str, typer.Option(envvar="KAFKA_BOOTSTRAP_SERVERS")] = "127.0.0.1:19092",
    partitions: Annotated[int | None, typer.Option(envvar="TOPIC_PARTITIONS")] = None,
    replication: Annotated[int, typer.Option(envvar="TOPIC_REPLICATION_FACTOR")] = 1,
    min_insync: Annotated[int, typer.Option(envvar="TOPIC_MIN_INSYNC_REPLICAS")] = 1,
    retention_hours: Annotated[
        int, typer.Option(envvar="TOPIC_RETENTION_HOURS", help="retention.ms of the event topics (not compacted)")
    ] = 7 * 24,
    dlq_retention_hours: Annotated[
        int, typer.Option(envvar="TOPIC_DLQ_RETENTION_HOURS", help="retention.ms of the .dlq topics")
    ] = 30 * 24,
) -> None:
    """Crée les topics du catalogue (et leurs .dlq) qui manquent.

    Connexion comme les services : KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME,
    KAFKA_SASL_PASSWORD (un principal autorisé à créer les topics).
    """
    from services.runtime.kafka import client_security
    from services.runtime.settings import ServiceSettings
    from services.stack.provisioning import provision_topics

    outcome = asyncio.run(
        provision_topics(
            bootstrap,
            partitions=partitions,
            replication=replication,
            min_insync=min_insync,
            retention_hours=retention_hours,
            dlq_retention_hours=dlq_retention_hours,
            client_options=client_security(ServiceSettings(kafka_bootstrap_servers=bootstrap)),
        )
    )
    for name, state in sorted(outcome.items()):
        typer.echo(f"{name}: {state}")


@auth_app.command("import")
def import_accounts_command(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="export Damancom (JSON)")],
    database_url: Annotated[str, typer.Option(envvar="DATABASE_URL")] = "postgresql://postgres@127.0.0.1:15432/auth",
) -> None:
    """Importe des comptes Damancom et leurs affiliés (création ou mise à jour)."""
    from pydantic import ValidationError

    from services.auth.service.import_accounts import DamancomExport
    from services.stack.operations import import_export

    try:
        export = DamancomExport.model_validate_json(file.read_bytes())
    except ValidationError as exc:
        typer.echo(f"fichier refusé, rien n'est importé :\n{exc}", err=True)
        raise typer.Exit(2) from None
    count = asyncio.run(import_export(database_url, export))
    typer.echo(f"{count} comptes importés")


@debt_app.command("republish")
def republish(
    database_url: Annotated[str, typer.Option(envvar="DATABASE_URL")] = "postgresql://postgres@127.0.0.1:15432/debt",
) -> None:
    """Ré-annonce toutes les positions (pour reconstruire les projections des autres services)."""
    from services.stack.operations import republish

    typer.echo(f"{asyncio.run(republish(database_url))} positions mises dans l'outbox (le service debt les publie)")


@demo_app.command("seed")
def seed(
    affiliates: Annotated[int, typer.Option(help="affiliés générés en plus des comptes fixes")] = 20,
    seed_value: Annotated[int, typer.Option("--seed")] = 2024,
    auth_database_url: Annotated[str, typer.Option()] = "postgresql://postgres@127.0.0.1:15432/auth",
    debits_database_url: Annotated[str, typer.Option()] = "postgresql://postgres@127.0.0.1:15432/debits",
    bootstrap: Annotated[str, typer.Option(envvar="KAFKA_BOOTSTRAP_SERVERS")] = "127.0.0.1:19092",
) -> None:
    """Génère et charge des données de démo déterministes (comptes, écritures, comptes bancaires)."""
    from services.stack.seed import seed_demo

    dataset = asyncio.run(
        seed_demo(auth_database_url, debits_database_url, bootstrap, affiliates=affiliates, seed=seed_value)
    )
    typer.echo(
        f"{len(dataset.export.accounts)} comptes, {len(dataset.bank_accounts)} comptes bancaires, "
        f"{len(dataset.ledger)} écritures publiées sur debt.ledger.v1"
    )


@requests_app.command("sweep")
def sweep_requests(
    on: Annotated[
        str | None,
        typer.Option("--date", help="AAAA-MM-JJ : balayer comme si l'on était ce jour à 00:00 (Casablanca)"),
    ] = None,
    database_url: Annotated[
        str, typer.Option(envvar="DATABASE_URL")
    ] = "postgresql://postgres@127.0.0.1:15432/requests",
) -> None:
    """Expire les demandes dont le délai de garanties est passé et annule les brouillons inactifs."""
    from services.requests.operations import run_sweep

    try:
        done = asyncio.run(run_sweep(database_url, on))
    except ValueError as exc:
        typer.echo(f"date refusée : {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"{done['expired']} demandes expirées, {done['cancelled']} brouillons annulés")
    if done["failed"]:
        typer.echo(f"{done['failed']} demandes n'ont pas pu être traitées : voir le journal", err=True)
        raise typer.Exit(1)


@keys_app.command("generate")
def generate_keys(
    private_key: Annotated[Path, typer.Argument()],
    public_key: Annotated[Path, typer.Argument()],
) -> None:
    """Génère une paire de clés Ed25519 pour signer les jetons."""
    from services.runtime.tokens import generate_keypair

    generate_keypair(private_key, public_key)
    typer.echo(f"clé privée : {private_key}\nclé publique : {public_key}")


@keys_app.command("kid")
def key_ids(files: Annotated[list[Path], typer.Argument(exists=True, dir_okay=False)]) -> None:
    """Affiche le kid (identifiant dans l'en-tête des jetons) de clés publiques ou privées."""
    from services.runtime.tokens import pem_key_id

    for file in files:
        typer.echo(f"{pem_key_id(file.read_bytes())}  {file}")


if __name__ == "__main__":
    app()
