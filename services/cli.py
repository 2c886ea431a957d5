"""``recouvrement``: the operators' command line.

Each service's commands live in its ``entrypoints/cli.py``; this file mounts them and keeps what
belongs to no one service: ``run``, ``serve``, ``topics``, ``keys``, ``demo`` and the repairs.
"""

import asyncio
import json
import signal
import threading
import time
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from partners.bank import cli as bank_cli
from partners.perception import cli as perception_cli
from services.auth.entrypoints import cli as auth_cli
from services.debits.entrypoints import cli as debits_cli
from services.debt.entrypoints import cli as debt_cli
from services.notifications.entrypoints import cli as notifications_cli
from services.requests.entrypoints import cli as requests_cli
from services.runtime.local import local_database
from services.simulation.entrypoints.cli import simulate_command
from services.stack import repair_cli

if TYPE_CHECKING:
    from services.stack.seed import PreparedDemo

app = typer.Typer(help="CNSS Espace Recouvrement : commandes d'exploitation.", no_args_is_help=True)
topics_app = typer.Typer(help="Topics Kafka du catalogue.", no_args_is_help=True)
demo_app = typer.Typer(help="Données de démonstration (développement uniquement).", no_args_is_help=True)
keys_app = typer.Typer(help="Clés de signature des jetons.", no_args_is_help=True)
perception_app = typer.Typer(help="Perception de référence (partenaire de démonstration).", no_args_is_help=True)
bank_app = typer.Typer(help="Banque de référence (partenaire de démonstration).", no_args_is_help=True)
simulation_app = typer.Typer(help="Devis de remise.", no_args_is_help=True)
app.add_typer(topics_app, name="topics")
app.add_typer(auth_cli.cli, name="auth")
app.add_typer(debt_cli.cli, name="debt")
app.add_typer(demo_app, name="demo")
app.add_typer(keys_app, name="keys")
app.add_typer(requests_cli.cli, name="requests")
app.add_typer(simulation_app, name="simulation")
app.add_typer(debits_cli.cli, name="debits")
app.add_typer(notifications_cli.cli, name="notifications")
app.add_typer(perception_app, name="perception")
app.add_typer(bank_app, name="bank")
app.add_typer(repair_cli.outbox_app, name="outbox")
app.add_typer(repair_cli.dlq_app, name="dlq")

app.command("simulate")(simulate_command)
perception_app.command("serve")(perception_cli.serve_command)
perception_app.command("deposit")(perception_cli.deposit_command)
perception_app.command("refuse")(perception_cli.refuse_command)
bank_app.command("serve")(bank_cli.serve_command)
for service, service_app in (
    ("auth", auth_cli.cli),
    ("debt", debt_cli.cli),
    ("simulation", simulation_app),
    ("requests", requests_cli.cli),
    ("debits", debits_cli.cli),
):
    service_app.command("replay")(repair_cli.replay_command(service))


def _demo_prepared_meanwhile(affiliates: int, seed: int) -> "Future[PreparedDemo]":
    """The first start's demo data, made on a thread once the services are spawned, while they start,
    rather than after them: its import of auth's and debits' operations, the data and its one argon2id
    hash are about 1.5 s of CPU that need neither database nor broker. Not earlier: the launcher's own
    start of Postgres, the broker and the topics comes first (one GIL). A daemon thread: Ctrl-C does
    not wait for it."""
    made: Future[PreparedDemo] = Future()

    def prepare() -> None:
        try:
            from services.stack.seed import prepared_demo

            made.set_result(prepared_demo(affiliates, seed))
        except BaseException as exc:  # handed to whoever asks for the result
            made.set_exception(exc)

    threading.Thread(target=prepare, name="demo", daemon=True).start()
    return made


@app.command()
def run() -> None:
    """Démarre toute la pile : Postgres et broker embarqués, topics, services, données de démo."""
    from services.stack.launcher import Say, Stack, StackConfig, listing
    from services.stack.provisioning import database_url

    def interrupt(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt  # SIGTERM and SIGHUP stop the stack as cleanly as Ctrl-C

    # SIGINT too: a shell starting us in the background leaves it ignored, and Ctrl-C must still work.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, interrupt)
    say = Say()
    config = StackConfig.from_env()
    stack = Stack(config)
    marker = config.data_dir / "demo-seeded"
    demo: Future[PreparedDemo] | None = None

    def prepare_demo() -> None:
        nonlocal demo
        if config.seed_demo and not marker.exists():
            demo = _demo_prepared_meanwhile(config.demo_affiliates, config.demo_seed)

    try:
        stack.start(say, meanwhile=prepare_demo)
        if demo is not None:
            from services.stack.seed import seed_demo

            async def broker_down(exc: Exception, attempt: int) -> None:
                say(f"le broker n'a pas pris le grand livre de démo ({type(exc).__name__}) ; essai {attempt + 1}")
                await asyncio.to_thread(stack.supervise, say)  # a dead broker is restarted (and provisioned)
                await asyncio.sleep(1)

            dataset = asyncio.run(
                seed_demo(
                    database_url(stack.database_server_url, "auth"),
                    database_url(stack.database_server_url, "debits"),
                    stack.bootstrap,
                    demo.result(),
                    broker_down=broker_down,
                )
            )
            marker.write_text(json.dumps({"affiliates": config.demo_affiliates, "seed": config.demo_seed}))
            say(f"données de démo chargées : {len(dataset.export.accounts)} comptes, {len(dataset.ledger)} écritures")
        say("prêt.")
        for line in listing(config):
            say(line)
        say(f"  postgres {stack.database_server_url}   kafka {stack.bootstrap}")
        say(f"  journaux : {config.data_dir / 'logs'}")
        say(f"  mails envoyés aux affiliés : {config.mail_dir}   SMS : {config.sms_file}")
        say("  comptes de démo (DÉVELOPPEMENT UNIQUEMENT) : demo.simple / Demo-2024!   demo.groupe / Demo-2024!")
        say("Ctrl-C pour tout arrêter.")
        while True:  # a crashed service, partner or broker is restarted (with backoff) until Ctrl-C
            stack.supervise(say)
            time.sleep(0.5)
    except KeyboardInterrupt:
        say("arrêt demandé…")
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_IGN)  # a second Ctrl-C must not cut the stop short
        stack.stop()
        say("pile arrêtée.")


@app.command()
def serve(
    service: Annotated[
        str, typer.Argument(help="auth | debt | simulation | requests | debits | notifications | portal")
    ],
    host: Annotated[str, typer.Option(envvar="HTTP_HOST")] = "127.0.0.1",
    port: Annotated[int | None, typer.Option(envvar="HTTP_PORT", help="défaut : le port du service")] = None,
    shared_port: Annotated[
        int | None,
        typer.Option(envvar="HTTP_SHARED_PORT", help="le port que les répliques du service partagent (SO_REUSEPORT)"),
    ] = None,
) -> None:
    """Sert un service (HTTP, et ses consommateurs Kafka) ; configuration par variables d'environnement."""
    from services.runtime.serving import serve
    from services.stack.settings import SERVICE_PORTS

    if service not in SERVICE_PORTS:
        raise typer.BadParameter(f"service inconnu : {service} (attendu : {', '.join(SERVICE_PORTS)})")
    serve(
        f"services.{service}.main:create_app", host, port if port is not None else SERVICE_PORTS[service], shared_port
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


@demo_app.command("seed")
def seed(
    affiliates: Annotated[int, typer.Option(help="affiliés générés en plus des comptes fixes")] = 20,
    seed_value: Annotated[int, typer.Option("--seed")] = 2024,
    auth_database_url: Annotated[str, typer.Option()] = local_database("auth"),
    debits_database_url: Annotated[str, typer.Option()] = local_database("debits"),
    bootstrap: Annotated[str, typer.Option(envvar="KAFKA_BOOTSTRAP_SERVERS")] = "127.0.0.1:19092",
) -> None:
    """Génère et charge des données de démo déterministes (comptes, écritures, comptes bancaires)."""
    from services.stack.seed import prepared_demo, seed_demo

    prepared = prepared_demo(affiliates, seed_value)
    dataset = asyncio.run(seed_demo(auth_database_url, debits_database_url, bootstrap, prepared))
    typer.echo(
        f"{len(dataset.export.accounts)} comptes, {len(dataset.bank_accounts)} comptes bancaires, "
        f"{len(dataset.ledger)} écritures publiées sur debt.ledger.v1"
    )


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
