"""The topics catalogue: every topic, its key, its partitions, its retention and the messages on it.

Provisioning (``recouvrement topics provision``), the AsyncAPI document and the committed JSON Schemas
are all generated from this one list, so a topic cannot exist in one place and not in another.
"""

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import TypeAdapter

from contracts.auth import AuthEvent
from contracts.debt import LedgerEntry, PositionEvent

DLQ_SUFFIX = ".dlq"


@dataclass(frozen=True)
class Topic:
    name: str
    key: str
    producers: tuple[str, ...]
    consumers: tuple[str, ...]
    message: Any
    description: str
    partitions: int = 12
    cleanup_policy: Literal["delete", "compact"] = "delete"

    @property
    def dlq(self) -> str:
        return self.name + DLQ_SUFFIX

    def adapter(self) -> TypeAdapter[Any]:
        return TypeAdapter(self.message)


AUTH_EVENTS = Topic(
    name="auth.events.v1",
    key="account (login)",
    producers=("auth",),
    consumers=("audit",),
    message=AuthEvent,
    description="Connexions, échecs, verrouillages et imports de comptes Damancom.",
)
DEBT_LEDGER = Topic(
    name="debt.ledger.v1",
    key="affiliate",
    producers=("cnss-core", "seeder"),
    consumers=("debt",),
    message=LedgerEntry,
    description="Écritures des systèmes centraux : cotisations dues, pénalités, paiements, arrangements.",
)
DEBT_POSITIONS = Topic(
    name="debt.positions.v1",
    key="affiliate",
    producers=("debt",),
    consumers=("simulation", "requests"),
    message=PositionEvent,
    description="La créance consolidée entière d'un affilié après chaque changement, avec sa version.",
    cleanup_policy="compact",
)

CATALOGUE: tuple[Topic, ...] = (AUTH_EVENTS, DEBT_LEDGER, DEBT_POSITIONS)


def all_topic_names() -> list[str]:
    """Every topic to provision, dead-letter topics included."""
    names: list[str] = []
    for topic in CATALOGUE:
        names += [topic.name, topic.dlq]
    return names
