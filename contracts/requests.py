"""``requests.events.v1`` (the request lifecycle) and ``requests.guarantees.<office>.v1`` (one topic per
perception office, ``contracts/perceptions.py``): what an office hears of its affiliates' guarantees,
from the request (required) to what becomes of them (released, enforced; or nothing held: withdrawn,
deadline passed)."""

from datetime import date
from typing import Annotated, ClassVar, Literal, Self
from uuid import UUID

from pydantic import AwareDatetime, Field, model_validator

from contracts.debt import Perception
from contracts.envelope import Contract, Envelope
from contracts.identifiers import AffiliateNumber, Period
from contracts.money import PositiveMoney
from contracts.programme import Modality
from contracts.simulation import Quote, RemiseAmounts, ScheduledDebit

RequestState = Literal[
    "DRAFT",
    "AWAITING_GUARANTEE",
    "VALIDATED",
    "IN_PROGRESS",
    "COMPLETED",
    "EXPIRED",
    "REJECTED",
    "CANCELLED",
    "DEFAULTED",
]
TERMINAL_STATES: frozenset[str] = frozenset({"COMPLETED", "EXPIRED", "REJECTED", "CANCELLED", "DEFAULTED"})

GuaranteeType = Literal["CAUTION_BANCAIRE", "NANTISSEMENT", "HYPOTHEQUE", "AUTRE"]

REASON_MAX_LENGTH = 500
"""Why a request changed: what its own events carry at most (a partner's text copied in is cut to it)."""


class Actor(Contract):
    """Who made a transition: the affiliate's account, a perception, or the system (a sweep, a debit)."""

    kind: Literal["affiliate", "perception", "system"]
    id: str = Field(min_length=1, max_length=128)


class Guarantee(Contract):
    reference: str = Field(min_length=1, max_length=64)
    type: GuaranteeType
    perception: str = Field(min_length=1, max_length=16, description="code de la perception")
    deposited_at: AwareDatetime


class Plan(Contract):
    """What a validated request commits to: the bound quote, the account to debit, the accepted CG."""

    quote: Quote
    bank_account_id: str
    cg_version: str
    validation_date: date = Field(description="V : la date dont partent les prélèvements")
    schedule: list[ScheduledDebit] = Field(description="l'échéancier du devis, daté à partir de V")
    guarantee: Guarantee | None = None


# --- requests.events.v1 ------------------------------------------------------------------------


class GuaranteeDue(Contract):
    """What the affiliate must deposit, where and by when: the guarantee request as its office got it."""

    perception: Perception
    amount: PositiveMoney = Field(description="montant à garantir : le reste à payer après l'avance")
    deadline: date = Field(description="dernier jour pour déposer les garanties")


class ContributionsNotice(Contract):
    """Article 2: a current period's contributions unpaid after their grace. The plan goes on if they are
    paid by ``cure_deadline``; the day after, it is defaulted."""

    period: Period
    amount: PositiveMoney = Field(description="les cotisations (principal) restant dues sur la période")
    due_on: date = Field(description="leur date d'exigibilité")
    cure_deadline: date = Field(description="dernier jour pour les régler")


class RequestStateChangedPayload(Contract):
    request_id: UUID
    affiliate: AffiliateNumber
    programme: str
    state: RequestState
    previous_state: RequestState | None
    at: AwareDatetime
    actor: Actor
    reason: str = Field(max_length=REASON_MAX_LENGTH)
    modality: Modality | None = None
    plan: Plan | None = Field(default=None, description="présent dès que la demande est VALIDATED")
    guarantee_due: GuaranteeDue | None = Field(
        default=None, description="présent quand la demande passe en AWAITING_GUARANTEE (ce que l'affilié doit déposer)"
    )
    notice: ContributionsNotice | None = Field(
        default=None,
        description="une mise en demeure (article 2) : l'état ne change pas (state = previous_state), rien d'autre ne"
        " bouge ; seul l'affilié est prévenu",
    )

    @model_validator(mode="after")
    def _validated_has_plan(self) -> Self:
        if self.state == "VALIDATED" and self.plan is None and self.notice is None:
            raise ValueError("une demande VALIDATED porte son plan")
        if self.notice is not None and self.state != self.previous_state:
            raise ValueError("une mise en demeure ne change pas l'état de la demande")
        return self


class RequestStateChanged(Envelope):
    TYPE: ClassVar[str] = "requests.state_changed"
    type: Literal["requests.state_changed"]
    payload: RequestStateChangedPayload


RequestEvent = Annotated[RequestStateChanged, Field(discriminator="type")]


# --- requests.guarantees.<office>.v1 -----------------------------------------------------------


class GuaranteeRequiredPayload(Contract):
    request_id: UUID
    affiliate: AffiliateNumber
    raison_sociale: str | None = None
    perception: Perception
    amount: PositiveMoney = Field(description="montant à garantir : le reste à payer après l'avance")
    installments: int = Field(ge=1)
    deadline: date = Field(description="dernier jour pour déposer les garanties")
    quote_id: UUID


class GuaranteeRequired(Envelope):
    TYPE: ClassVar[str] = "requests.guarantee_required"
    type: Literal["requests.guarantee_required"]
    payload: GuaranteeRequiredPayload


class GuaranteeClosedPayload(Contract):
    request_id: UUID
    affiliate: AffiliateNumber
    perception: Perception
    deadline: date
    reason: str = Field(max_length=REASON_MAX_LENGTH)


class GuaranteeDeadlinePassed(Envelope):
    TYPE: ClassVar[str] = "requests.guarantee_deadline_passed"
    type: Literal["requests.guarantee_deadline_passed"]
    payload: GuaranteeClosedPayload


class GuaranteeWithdrawn(Envelope):
    """The affiliate withdrew its request: the perception stops waiting for the guarantees."""

    TYPE: ClassVar[str] = "requests.guarantee_withdrawn"
    type: Literal["requests.guarantee_withdrawn"]
    payload: GuaranteeClosedPayload


class GuaranteeReleasedPayload(Contract):
    request_id: UUID
    affiliate: AffiliateNumber
    perception: Perception
    guarantee: Guarantee = Field(description="les garanties déposées, à restituer")
    at: AwareDatetime = Field(description="quand la demande est devenue COMPLETED")
    reason: str = Field(max_length=REASON_MAX_LENGTH)


class GuaranteeReleased(Envelope):
    """Every debit of the plan is paid (COMPLETED): the remise is definitive, the office may release
    the guarantees it holds."""

    TYPE: ClassVar[str] = "requests.guarantee_released"
    type: Literal["requests.guarantee_released"]
    payload: GuaranteeReleasedPayload


class GuaranteeEnforcedPayload(Contract):
    request_id: UUID
    affiliate: AffiliateNumber
    perception: Perception
    guarantee: Guarantee = Field(description="les garanties déposées, à mettre en jeu")
    reinstated: RemiseAmounts = Field(
        description="la remise du plan validé, due de nouveau (article 4), par catégorie et au total"
    )
    at: AwareDatetime = Field(description="quand la demande est devenue DEFAULTED")
    reason: str = Field(max_length=REASON_MAX_LENGTH, description="pourquoi le plan est déchu")


class GuaranteeEnforced(Envelope):
    """The plan defaulted (DEFAULTED): every remitted amount is owed again, the office enforces the
    guarantees it holds for it."""

    TYPE: ClassVar[str] = "requests.guarantee_enforced"
    type: Literal["requests.guarantee_enforced"]
    payload: GuaranteeEnforcedPayload


GuaranteeRequestMessage = (
    GuaranteeRequired | GuaranteeDeadlinePassed | GuaranteeWithdrawn | GuaranteeReleased | GuaranteeEnforced
)
GuaranteeRequestEvent = Annotated[GuaranteeRequestMessage, Field(discriminator="type")]
