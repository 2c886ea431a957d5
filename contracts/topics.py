"""The topics catalogue: every topic, its key, its partitions, its retention and the messages on it.

Provisioning (``recouvrement topics provision``), the AsyncAPI document and the committed JSON Schemas
are all generated from this one list, so a topic cannot exist in one place and not in another.
"""

from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

from pydantic import TypeAdapter

from contracts.auth import AffiliateEvent, AffiliateRegistered, AuthEvent, AuthMessage
from contracts.banks import BANKS, orders_topic
from contracts.debits import (
    BankAccountsChanged,
    BankAccountsEvent,
    DebitOrder,
    DebitOrderEvent,
    DebitResult,
    DebitResultMessage,
    DebitsEvent,
    DebitsMessage,
)
from contracts.debt import LedgerEntry, LedgerMessage, PositionChanged, PositionEvent
from contracts.epochs import BrokerEpochMarked, EpochEvent
from contracts.perception import PerceptionEvent, PerceptionMessage
from contracts.perceptions import PERCEPTIONS, guarantees_topic
from contracts.requests import GuaranteeRequestEvent, GuaranteeRequestMessage, RequestEvent, RequestStateChanged
from contracts.simulation import QuoteEvent, QuoteIssued

DLQ_SUFFIX = ".dlq"


M = TypeVar("M")
"""What a topic carries: the union of its message models (``message`` is the same union, annotated
with its discriminator, which is what validates a record)."""


@dataclass(frozen=True)
class Topic(Generic[M]):
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

    def adapter(self) -> TypeAdapter[M]:
        """Validates a record's bytes into one of the topic's models."""
        adapter: TypeAdapter[M] = TypeAdapter(self.message)
        return adapter


AUTH_EVENTS: Topic[AuthMessage] = Topic(
    name="auth.events.v1",
    key="account (login)",
    producers=("auth",),
    consumers=("audit",),
    message=AuthEvent,
    description="Connexions, échecs, verrouillages et imports de comptes Damancom.",
)
DEBT_LEDGER: Topic[LedgerMessage] = Topic(
    name="debt.ledger.v1",
    key="affiliate",
    producers=("cnss-core", "seeder"),
    consumers=("debt",),
    message=LedgerEntry,
    description="Écritures des systèmes centraux : cotisations dues, pénalités, paiements, arrangements.",
)
DEBT_POSITIONS: Topic[PositionChanged] = Topic(
    name="debt.positions.v1",
    key="affiliate",
    producers=("debt",),
    consumers=("simulation", "requests"),
    message=PositionEvent,
    description="La créance consolidée entière d'un affilié après chaque changement, avec sa version.",
    cleanup_policy="compact",
)

AUTH_AFFILIATES: Topic[AffiliateRegistered] = Topic(
    name="auth.affiliates.v1",
    key="affiliate",
    producers=("auth",),
    consumers=("requests", "debits", "debt", "notifications"),
    message=AffiliateEvent,
    description="Qui est chaque affilié : raison sociale, ICE, perception qui le gère (dernier état).",
    cleanup_policy="compact",
)
SIMULATION_QUOTES: Topic[QuoteIssued] = Topic(
    name="simulation.quotes.v1",
    key="affiliate",
    producers=("simulation",),
    consumers=("requests",),
    message=QuoteEvent,
    description="Chaque devis de remise émis, que la validation d'une demande lie.",
)
REQUESTS_EVENTS: Topic[RequestStateChanged] = Topic(
    name="requests.events.v1",
    key="affiliate",
    producers=("requests",),
    consumers=("debt", "debits", "notifications"),
    message=RequestEvent,
    description="Chaque transition du cycle de vie d'une demande de remise, avec qui, quand et pourquoi.",
)
GUARANTEE_REQUESTS: tuple[Topic[GuaranteeRequestMessage], ...] = tuple(
    Topic(
        name=guarantees_topic(code),
        key="affiliate",
        producers=("requests",),
        consumers=(f"perception {code}",),
        message=GuaranteeRequestEvent,
        description=(
            f"Garanties des affiliés de la {name} (code {code}), cette perception seule les lit : exigées pour un"
            " plan par acomptes, délai dépassé, demande retirée ; puis à restituer (plan soldé) ou à mettre en"
            " jeu (plan déchu, avec la remise due de nouveau)."
        ),
    )
    for code, name in PERCEPTIONS.items()
)


def guarantee_requests(office_code: str) -> Topic[GuaranteeRequestMessage]:
    """The topic of one office of the registry (``contracts/perceptions.csv``); ``ValueError`` otherwise."""
    name = guarantees_topic(office_code)
    return next(topic for topic in GUARANTEE_REQUESTS if topic.name == name)


PERCEPTION_GUARANTEES: Topic[PerceptionMessage] = Topic(
    name="perception.guarantees.v1",
    key="affiliate",
    producers=("perception",),
    consumers=("requests",),
    message=PerceptionEvent,
    description=(
        "Réponse de la perception : demande de garanties reçue (accusé de réception), garanties déposées"
        " (référence, type) ou refusées."
    ),
)
DEBITS_ACCOUNTS: Topic[BankAccountsChanged] = Topic(
    name="debits.accounts.v1",
    key="affiliate",
    producers=("debits",),
    consumers=("requests", "notifications"),
    message=BankAccountsEvent,
    description="Les comptes bancaires enregistrés d'un affilié (RIB masqué), dernier état.",
    cleanup_policy="compact",
)

DEBITS_EVENTS: Topic[DebitsMessage] = Topic(
    name="debits.events.v1",
    key="affiliate",
    producers=("debits",),
    consumers=("requests", "debt", "notifications"),
    message=DebitsEvent,
    description="Échéancier d'un plan, chaque prélèvement ordonné, payé, rejeté ou annulé ; plan soldé ou déchu.",
)
BANK_RESULTS: Topic[DebitResultMessage] = Topic(
    name="banks.debit-results.v1",
    key="affiliate",
    producers=("banks",),
    consumers=("debits",),
    message=DebitResult,
    description="Réponse des banques : prélèvement exécuté, ou rejeté avec un code motif ISO 20022.",
)
BANK_ORDERS: tuple[Topic[DebitOrder], ...] = tuple(
    Topic(
        name=orders_topic(code),
        key="affiliate",
        producers=("debits",),
        consumers=(f"bank {code}",),
        message=DebitOrderEvent,
        description=f"Ordres de prélèvement (champs pain.008) pour {name} (code {code}) : cette banque seule les lit.",
    )
    for code, name in BANKS.items()
)

PLATFORM_EPOCHS: Topic[BrokerEpochMarked] = Topic(
    name="platform.epochs.v1",
    key="service",
    producers=("auth", "debt", "simulation", "requests", "debits", "notifications"),
    consumers=("auth", "debt", "simulation", "requests", "debits", "notifications"),
    message=EpochEvent,
    description=(
        "La marque de chaque service sur le broker auquel il publie : un broker qui ne la porte plus a "
        "perdu ce qu'on lui a confié, et le service rejoue son outbox."
    ),
    partitions=1,
    cleanup_policy="compact",
)

CATALOGUE: tuple[Topic[Any], ...] = (
    AUTH_EVENTS,
    AUTH_AFFILIATES,
    DEBT_LEDGER,
    DEBT_POSITIONS,
    SIMULATION_QUOTES,
    REQUESTS_EVENTS,
    *GUARANTEE_REQUESTS,
    PERCEPTION_GUARANTEES,
    DEBITS_ACCOUNTS,
    DEBITS_EVENTS,
    BANK_RESULTS,
    *BANK_ORDERS,
    PLATFORM_EPOCHS,
)


@dataclass(frozen=True)
class RetiredTopic:
    """A ``v1`` topic no longer in the catalogue: nothing produces to it or reads it, it is not
    provisioned, and its committed schema (``contracts/schemas/<name>.json``) stays as the record of
    what was on the wire. Each message type it carried lives on in ``replaced_by``, whose schemas
    must accept every message the retired one did (``tests/unit/test_contracts.py``)."""

    name: str
    replaced_by: tuple[Topic[Any], ...]
    why: str


RETIRED: tuple[RetiredTopic, ...] = (
    RetiredTopic(
        name="requests.guarantees.v1",
        replaced_by=GUARANTEE_REQUESTS,
        why=(
            "issue 16 : une perception ne lit plus que les demandes de garanties de ses affiliés, sur son"
            " propre topic requests.guarantees.<code>.v1"
        ),
    ),
)


def all_topic_names() -> list[str]:
    """Every topic to provision, dead-letter topics included."""
    names: list[str] = []
    for topic in CATALOGUE:
        names += [topic.name, topic.dlq]
    return names
