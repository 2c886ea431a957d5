"""The envelope every message carries, whatever its topic."""

from datetime import datetime
from typing import ClassVar, Self
from uuid import UUID, uuid4

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class Contract(BaseModel):
    """Base of every payload and message: frozen, and strict about unknown fields.

    Strictness catches a producer that drifted from the shared contract (its message goes to the
    dead-letter topic with the reason) instead of silently dropping what it meant to say.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)


class Envelope(Contract):
    """``event_id`` is the idempotence key consumers record in their inbox."""

    event_id: UUID = Field(description="identifiant unique du message; clé de déduplication")
    type: str = Field(description="type du message, p. ex. 'debt.position_changed'")
    occurred_at: AwareDatetime
    producer: str = Field(min_length=1, max_length=64, description="service ou système émetteur")
    correlation_id: str | None = Field(default=None, max_length=128)

    TYPE: ClassVar[str]

    @classmethod
    def build(
        cls,
        payload: Contract,
        *,
        producer: str,
        occurred_at: datetime,
        correlation_id: str | None = None,
        event_id: UUID | None = None,
    ) -> Self:
        return cls.model_validate(
            {
                "event_id": event_id or uuid4(),
                "type": cls.TYPE,
                "occurred_at": occurred_at,
                "producer": producer,
                "correlation_id": correlation_id,
                "payload": payload,
            }
        )
