"""``recouvrement perception ...``: run the reference perception, or answer a request by hand."""

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, TypeVar
from uuid import UUID

import typer

if TYPE_CHECKING:
    from contracts.perception import GuaranteeDeposited, GuaranteeRefused

A = TypeVar("A", "GuaranteeDeposited", "GuaranteeRefused")

DEFAULT_BOOTSTRAP = "127.0.0.1:19092"

Bootstrap = Annotated[str, typer.Option(envvar="KAFKA_BOOTSTRAP_SERVERS", help="serveurs Kafka")]
Affiliate = Annotated[str, typer.Option("--affiliate", help="numéro d'affiliation (7 chiffres)")]
PerceptionCode = Annotated[str, typer.Option("--perception", help="code de la perception")]


def serve_command() -> None:
    """Sert la perception de référence (PERCEPTION_OFFICES, PERCEPTION_DEFAULT, PERCEPTION_RULES, …)."""
    from partners.perception.config import PerceptionSettings
    from services.runtime.serving import serve

    settings = PerceptionSettings()
    serve("partners.perception.main:create_app", settings.http_host, settings.http_port)


async def _publish(bootstrap: str, message: "GuaranteeDeposited | GuaranteeRefused") -> None:
    from partners.perception.config import PerceptionSettings
    from partners.perception.main import publish_answer
    from services.runtime.kafka import create_broker
    from services.runtime.telemetry import setup_tracing

    settings = PerceptionSettings(kafka_bootstrap_servers=bootstrap)
    broker = create_broker(settings, setup_tracing(settings.service_name, settings.otlp_endpoint))
    await broker.connect()
    try:
        await publish_answer(broker, message, message.payload.affiliate)
    finally:
        await broker.stop()


def _build_or_exit(build: Callable[[], A]) -> A:
    """The answer is validated against the contract before anything is sent."""
    from pydantic import ValidationError

    from services.runtime.consumer import validation_reason

    try:
        return build()
    except ValidationError as exc:
        typer.echo(f"réponse refusée : {validation_reason(exc)}", err=True)
        raise typer.Exit(2) from None


def deposit_command(
    request_id: Annotated[UUID, typer.Argument(help="identifiant de la demande")],
    affiliate: Affiliate,
    perception: PerceptionCode,
    reference: Annotated[str | None, typer.Option(help="référence de la garantie (par défaut GAR-…)")] = None,
    guarantee_type: Annotated[str, typer.Option("--type", help="CAUTION_BANCAIRE, NANTISSEMENT, …")] = (
        "CAUTION_BANCAIRE"
    ),
    bootstrap: Bootstrap = DEFAULT_BOOTSTRAP,
) -> None:
    """Annonce que les garanties d'une demande ont été déposées à la perception."""
    from datetime import UTC, datetime

    from partners.perception.answers import deposited

    message = _build_or_exit(
        lambda: deposited(
            request_id,
            affiliate,
            perception,
            datetime.now(UTC),
            guarantee_type=guarantee_type,
            reference=reference,
        )
    )
    asyncio.run(_publish(bootstrap, message))
    typer.echo(f"garanties déposées publiées pour la demande {request_id} ({message.payload.reference})")


def refuse_command(
    request_id: Annotated[UUID, typer.Argument(help="identifiant de la demande")],
    affiliate: Affiliate,
    perception: PerceptionCode,
    reason: Annotated[str, typer.Option(help="motif du refus")] = "Garanties refusées par la perception.",
    bootstrap: Bootstrap = DEFAULT_BOOTSTRAP,
) -> None:
    """Annonce que la perception refuse les garanties d'une demande."""
    from datetime import UTC, datetime

    from partners.perception.answers import refused

    message = _build_or_exit(lambda: refused(request_id, affiliate, perception, datetime.now(UTC), reason))
    asyncio.run(_publish(bootstrap, message))
    typer.echo(f"refus publié pour la demande {request_id}")
