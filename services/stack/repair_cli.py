"""The operators' repairs that need no SQL and no kcat: parked outbox events, dead letters, replays.

``recouvrement outbox parked|requeue|discard`` (per service database), ``recouvrement dlq
list|show|replay`` (every ``.dlq`` topic of the catalogue) and ``recouvrement <service> replay``
(the outbox's log); the top-level command line assembles them.
"""

import asyncio
import json
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

import typer

from contracts.languages import in_french
from services.runtime.local import local_database

outbox_app = typer.Typer(help="Événements que le broker a refusés pour de bon (outbox_parked).", no_args_is_help=True)
dlq_app = typer.Typer(help="Messages rejetés par un consommateur (<topic>.dlq) : voir, rejouer.", no_args_is_help=True)

DatabaseOption = Annotated[
    str, typer.Option(envvar="DATABASE_URL", help="la base du service concerné, p. ex. …/debits")
]


@outbox_app.command("parked")
def outbox_parked(database_url: DatabaseOption) -> None:
    """Les événements garés : pourquoi, depuis quand, et combien attendent derrière chacun."""
    from services.runtime.parked import parked

    found = asyncio.run(parked(database_url))
    for row in found:
        typer.echo(
            f"{row['id']}\t{row['parked_at']:%Y-%m-%d %H:%M:%S}\t{row['topic']}\tclé {row['key']}\t"
            f"{row['event_type']}\t{row['held_behind']} en attente derrière\n\t{row['reason']}"
        )
    typer.echo(in_french(len(found), "événement garé", "événements garés"))


@outbox_app.command("requeue")
def outbox_requeue(
    ids: Annotated[list[int], typer.Argument(help="ids affichés par « parked »")], database_url: DatabaseOption
) -> None:
    """Remet des événements garés dans l'outbox, la cause corrigée : ils partent avant ceux qui attendaient."""
    from services.runtime.parked import requeue

    moved = asyncio.run(requeue(database_url, ids))
    said = in_french(len(moved), "événement remis", "événements remis")
    typer.echo(f"{said} dans l'outbox : {', '.join(map(str, moved)) or 'aucun'}")


@outbox_app.command("discard")
def outbox_discard(
    ids: Annotated[list[int], typer.Argument(help="ids affichés par « parked »")],
    why: Annotated[str, typer.Option("--why", help="la raison, gardée dans le journal")],
    database_url: DatabaseOption,
) -> None:
    """Abandonne des événements garés (jamais publiés) ; ceux qui attendaient derrière partent."""
    from services.runtime.parked import discard

    gone = asyncio.run(discard(database_url, ids, why))
    typer.echo(in_french(len(gone), "événement abandonné", "événements abandonnés"))


def replay_command(service: str) -> Callable[..., None]:
    """``recouvrement <service> replay``: the same command for each service, on its own database."""

    def replay(
        since: Annotated[
            datetime,
            typer.Option(
                "--since",
                formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"],
                help="depuis quand (heure de Casablanca), p. ex. 2026-12-01 ou 2026-12-01T08:00:00",
            ),
        ],
        topic: Annotated[
            list[str] | None, typer.Option("--topic", help="un sujet du catalogue (défaut : tous)")
        ] = None,
        database_url: Annotated[
            str, typer.Option(envvar="DATABASE_URL", help=f"la base du service (défaut : …/{service})")
        ] = local_database(service),
    ) -> None:
        """Republie ce que le service a publié depuis --since (journal de l'outbox, mêmes identifiants
        d'événement : chaque consommateur n'applique chaque événement qu'une fois)."""
        from contracts.topics import all_topic_names
        from services.runtime.clock import BUSINESS_TZ
        from services.runtime.outbox_log import replay_window

        unknown = sorted(set(topic or ()) - set(all_topic_names()))
        if unknown:
            raise typer.BadParameter(f"hors du catalogue : {', '.join(unknown)}", param_hint="--topic")
        when = since if since.tzinfo is not None else since.replace(tzinfo=BUSINESS_TZ)
        count = asyncio.run(replay_window(database_url, when, topic or None))
        said = in_french(count, "événement remis", "événements remis")
        typer.echo(f"{said} dans l'outbox de {service} depuis {when.isoformat()} (il les publie)")

    return replay


KafkaOption = Annotated[str, typer.Option(envvar="KAFKA_BOOTSTRAP_SERVERS", help="brokers host:port")]
TopicOption = Annotated[
    list[str] | None, typer.Option("--topic", help="un sujet du catalogue ou sa .dlq (défaut : toutes les .dlq)")
]


def _dlq_topics(topics: list[str] | None) -> list[str]:
    from contracts.topics import DLQ_SUFFIX, all_topic_names

    every = [name for name in all_topic_names() if name.endswith(DLQ_SUFFIX)]
    if not topics:
        return every
    wanted = [t if t.endswith(DLQ_SUFFIX) else t + DLQ_SUFFIX for t in topics]
    unknown = sorted(set(wanted) - set(every))
    if unknown:
        raise typer.BadParameter(f"hors du catalogue : {', '.join(unknown)}", param_hint="--topic")
    return wanted


def _dead_letters(kafka: str, topics: list[str] | None) -> list[Any]:
    from aiokafka import AIOKafkaConsumer

    from services.runtime import dead_letter_admin

    def consumer() -> AIOKafkaConsumer:
        return AIOKafkaConsumer(bootstrap_servers=kafka, enable_auto_commit=False, fetch_max_wait_ms=50)

    return asyncio.run(dead_letter_admin.read(consumer, _dlq_topics(topics)))


@dlq_app.command("list")
def dlq_list(
    kafka: KafkaOption = "127.0.0.1:19092",
    topic: TopicOption = None,
    consumer: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Chaque message rejeté : où (sujet:partition:offset), quand, par qui, son type et pourquoi."""
    letters = [d for d in _dead_letters(kafka, topic) if consumer is None or d.consumer == consumer]
    for d in letters:
        key = d.key.decode(errors="replace") if d.key is not None else "-"
        typer.echo(
            f"{d.where()}\t{d.at:%Y-%m-%d %H:%M:%S}\t{d.consumer}\t{d.event_type}\tclé {key}\n\t{d.reason[:300]}"
        )
    counts: dict[str, int] = {}
    for d in letters:
        counts[d.topic] = counts.get(d.topic, 0) + 1
    for name, count in sorted(counts.items()):
        typer.echo(f"{name}: {count}")
    typer.echo(in_french(len(letters), "message rejeté", "messages rejetés"))


def _one(kafka: str, where: str) -> Any:
    topic, _, rest = where.partition(":")
    partition, _, offset = rest.partition(":")
    if not (partition.isdigit() and offset.isdigit()):
        raise typer.BadParameter("attendu SUJET.dlq:PARTITION:OFFSET, comme l'affiche « list »")
    found = [d for d in _dead_letters(kafka, [topic]) if (d.partition, d.offset) == (int(partition), int(offset))]
    if not found:
        typer.echo(f"aucun message rejeté en {where}", err=True)
        raise typer.Exit(1)
    return found[0]


@dlq_app.command("show")
def dlq_show(
    where: Annotated[str, typer.Argument(help="SUJET.dlq:PARTITION:OFFSET")], kafka: KafkaOption = "127.0.0.1:19092"
) -> None:
    """Un message rejeté en entier : en-têtes (y compris x-dlq-*), clé et valeur d'origine."""
    d = _one(kafka, where)
    typer.echo(f"{d.where()}  {d.at.isoformat()}  rejeté par {d.consumer}, venu de {d.original_topic}")
    for name, value in d.headers:
        typer.echo(f"  {name}: {value.decode(errors='replace') if value is not None else '(nul)'}")
    typer.echo(f"clé : {d.key.decode(errors='replace') if d.key is not None else '(aucune)'}")
    try:
        typer.echo(json.dumps(json.loads(d.value or b""), ensure_ascii=False, indent=2))
    except ValueError:
        typer.echo(f"valeur (non JSON) : {d.value!r}")


@dlq_app.command("replay")
def dlq_replay(
    where: Annotated[list[str] | None, typer.Argument(help="SUJET.dlq:PARTITION:OFFSET (un ou plusieurs)")] = None,
    every: Annotated[bool, typer.Option("--all", help="tous ceux des sujets --topic (et du --consumer)")] = False,
    topic: TopicOption = None,
    consumer: Annotated[str | None, typer.Option()] = None,
    kafka: KafkaOption = "127.0.0.1:19092",
) -> None:
    """Renvoie l'original sur son sujet, la cause corrigée (même identifiant : rien ne s'applique deux fois)."""
    from aiokafka import AIOKafkaProducer

    from services.runtime import dead_letter_admin

    if every == bool(where):
        raise typer.BadParameter("donnez des positions, ou --all (avec --topic / --consumer pour choisir)")
    if every:
        letters = [d for d in _dead_letters(kafka, topic) if consumer is None or d.consumer == consumer]
    else:
        letters = [_one(kafka, w) for w in where or []]

    async def send() -> int:
        producer = AIOKafkaProducer(bootstrap_servers=kafka, acks="all")
        await producer.start()
        try:
            return await dead_letter_admin.replay(producer, letters)
        finally:
            await producer.stop()

    sent = asyncio.run(send())
    typer.echo(
        f"{in_french(sent, 'message renvoyé', 'messages renvoyés')} sur leur sujet d'origine ; "
        f"{len(letters) - sent} sans valeur (non rejouables)"
    )
