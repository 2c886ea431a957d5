"""The mark each service leaves on the broker it publishes to.

A broker that no longer holds a service's mark has lost what that service confided to it (a
memory-only broker restarted, a cluster rebuilt, the topic deleted): the service replays the events
its outbox retained and re-announces its state topics (``services/runtime/epochs.py``).
"""

from typing import Annotated, ClassVar, Literal
from uuid import UUID

from pydantic import Field

from contracts.envelope import Contract, Envelope


class EpochMark(Contract):
    service: str = Field(pattern=r"^[a-z][a-z0-9-]{0,31}$", description="le service qui a publié")
    epoch: UUID = Field(description="tiré au hasard par le service quand il adopte un broker ; gardé dans sa base")


class BrokerEpochMarked(Envelope):
    TYPE: ClassVar[str] = "platform.broker_epoch_marked"
    type: Literal["platform.broker_epoch_marked"]
    payload: EpochMark


EpochEvent = Annotated[BrokerEpochMarked, Field(discriminator="type")]
