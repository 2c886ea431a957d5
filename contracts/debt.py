"""``debt.ledger.v1`` (what the CNSS core systems book) and ``debt.positions.v1`` (what debt concludes)."""

from datetime import date
from typing import Annotated, ClassVar, Literal

from pydantic import Field

from contracts.envelope import Contract, Envelope
from contracts.identifiers import AffiliateNumber, Period
from contracts.money import Money, PositiveMoney

Category = Literal["principal", "majorations", "astreintes", "frais"]
"""The four parts of a créance: cotisations (principal), majorations de retard, astreintes, frais."""

CATEGORIES: tuple[Category, ...] = ("principal", "majorations", "astreintes", "frais")

EntryId = Annotated[
    str,
    Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$", description="identifiant de l'écriture"),
]


class Perception(Contract):
    code: str = Field(min_length=1, max_length=16)
    name: str = Field(min_length=1, max_length=128)


# --- debt.ledger.v1 ----------------------------------------------------------------------------


class ChargeBookedPayload(Contract):
    """An amount owed: a contribution due (principal), a majoration, an astreinte or collection fees."""

    entry_id: EntryId
    affiliate: AffiliateNumber
    period: Period
    category: Category
    amount: PositiveMoney
    booked_on: date


class ChargeBooked(Envelope):
    TYPE: ClassVar[str] = "ledger.charge_booked"
    type: Literal["ledger.charge_booked"]
    payload: ChargeBookedPayload


class PaymentReceivedPayload(Contract):
    """A payment, already imputed by the core system to one period and category."""

    entry_id: EntryId
    affiliate: AffiliateNumber
    period: Period
    category: Category
    amount: PositiveMoney
    received_on: date


class PaymentReceived(Envelope):
    TYPE: ClassVar[str] = "ledger.payment_received"
    type: Literal["ledger.payment_received"]
    payload: PaymentReceivedPayload


class ArrangementOpenedPayload(Contract):
    """A payment plan agreed at the perception, outside the remission programme."""

    entry_id: EntryId
    affiliate: AffiliateNumber
    arrangement_id: str = Field(min_length=1, max_length=64)
    perception: Perception
    opened_on: date


class ArrangementOpened(Envelope):
    TYPE: ClassVar[str] = "ledger.arrangement_opened"
    type: Literal["ledger.arrangement_opened"]
    payload: ArrangementOpenedPayload


class ArrangementClosedPayload(Contract):
    entry_id: EntryId
    affiliate: AffiliateNumber
    arrangement_id: str = Field(min_length=1, max_length=64)
    closed_on: date


class ArrangementClosed(Envelope):
    TYPE: ClassVar[str] = "ledger.arrangement_closed"
    type: Literal["ledger.arrangement_closed"]
    payload: ArrangementClosedPayload


LedgerMessage = ChargeBooked | PaymentReceived | ArrangementOpened | ArrangementClosed
LedgerEntry = Annotated[
    LedgerMessage,
    Field(discriminator="type"),
]


# --- debt.positions.v1 -------------------------------------------------------------------------


class AmountLine(Contract):
    due: Money
    paid: Money
    outstanding: Money


class PeriodPosition(Contract):
    period: Period
    principal: AmountLine
    majorations: AmountLine
    astreintes: AmountLine
    frais: AmountLine
    principal_paid_on: date | None = Field(
        default=None,
        description=(
            "date de réception du dernier paiement des cotisations (principal) de la période ; une fois"
            " le principal payé en entier, le jour où il l'a été"
        ),
    )


class ActiveArrangement(Contract):
    arrangement_id: str
    perception: Perception
    opened_on: date


class PositionPayload(Contract):
    """The whole consolidated position of one affiliate; a newer ``version`` replaces an older one."""

    affiliate: AffiliateNumber
    version: int = Field(ge=1)
    periods: list[PeriodPosition]
    arrangement: ActiveArrangement | None


class PositionChanged(Envelope):
    TYPE: ClassVar[str] = "debt.position_changed"
    type: Literal["debt.position_changed"]
    payload: PositionPayload


PositionEvent = Annotated[PositionChanged, Field(discriminator="type")]
