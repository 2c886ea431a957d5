"""Issue a quote: read the projected debt, apply the programme, store the quote and announce it."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from uuid import UUID, uuid4

import asyncpg

from contracts.calendar import BusinessCalendar
from contracts.envelope import Envelope
from contracts.programme import Modality, Programme
from contracts.refusals import Refusal
from contracts.simulation import Quote, QuoteIssued
from contracts.topics import SIMULATION_QUOTES
from services.runtime.clock import Clock, business_date
from services.runtime.db import snapshot
from services.runtime.outbox import OutgoingMessage
from services.simulation.adapters.repository import ProjectedPosition, SimulationRepository
from services.simulation.domain.eligible_debt import EligibleDebt, eligible_debt
from services.simulation.domain.quote_terms import quote_terms

PRODUCER = "simulation"


class UnknownPosition(Refusal):
    """No position of this affiliate reached simulation (nothing booked, or not announced yet)."""

    def __init__(self, affiliate: str) -> None:
        super().__init__("creance-introuvable", "Aucune créance connue pour cet affilié.", kind="not-found")
        self.affiliate = affiliate


@dataclass(frozen=True, slots=True)
class QuoteRequest:
    affiliate: str
    modality: Modality
    advance: Decimal
    installments: int


@dataclass(frozen=True, slots=True)
class Rules:
    """What the programme in force fixes for the whole life of the process."""

    programme: Programme
    calendar: BusinessCalendar


def quote_issued_json(event_id: UUID, occurred_at: datetime, quote_json: str) -> bytes:
    """``QuoteIssued(event_id, occurred_at, payload=quote).model_dump_json()``, byte for byte, around the
    quote's JSON already serialized for the HTTP answer instead of serializing the quote a second time."""
    envelope = Envelope.model_construct(
        event_id=event_id, type=QuoteIssued.TYPE, occurred_at=occurred_at, producer=PRODUCER, correlation_id=None
    ).model_dump_json()
    # The envelope's fields come first in ``QuoteIssued``, then ``payload``: drop the closing brace.
    return f'{envelope[:-1]},"payload":{quote_json}}}'.encode()


async def current_debt(
    conn: asyncpg.Connection, programme: Programme, affiliate: str
) -> tuple[ProjectedPosition, EligibleDebt]:
    """The affiliate's projected position and its eligible part under ``programme``; ``UnknownPosition``."""
    repository = SimulationRepository(conn)
    position = await repository.position_of(affiliate)
    if position is None:
        raise UnknownPosition(affiliate)
    if position.eligible_until == programme.eligible_until:
        return position, position.debt
    # Projected under another programme's cut-off (the service restarted with a new one): the
    # position and its periods read again as of one instant, or a new version landing between two
    # reads would quote its amounts under the version before.
    async with snapshot(conn):
        position = await repository.position_of(affiliate)
        assert position is not None  # positions are replaced, never deleted
        return position, eligible_debt(programme, await repository.outstanding_of(affiliate))


async def issue_quote(
    conn: asyncpg.Connection, rules: Rules, clock: Clock, quote_request: QuoteRequest
) -> tuple[Quote, str]:
    """The quote and its JSON; raises ``UnknownPosition`` or a ``Refusal``."""
    repository = SimulationRepository(conn)
    programme = rules.programme
    position, debt = await current_debt(conn, programme, quote_request.affiliate)
    now = clock.now()
    terms = quote_terms(
        programme,
        rules.calendar,
        debt,
        quote_request.modality,
        business_date(clock),
        advance=quote_request.advance,
        installments=quote_request.installments,
    )
    # Every field is already validated (terms by the domain, the rest built here): no second pass.
    quote = Quote.model_construct(
        **dict(terms),
        quote_id=uuid4(),
        affiliate=quote_request.affiliate,
        debt_version=position.version,
        issued_at=now,
        expires_at=now + timedelta(minutes=programme.quote_validity_minutes),
    )
    body = quote.model_dump_json()
    event_id = uuid4()
    announcement = OutgoingMessage(
        SIMULATION_QUOTES.name,
        quote_request.affiliate,
        event_id,
        QuoteIssued.TYPE,
        quote_issued_json(event_id, now, body),
    )
    await repository.save_quote(quote, body, announcement)
    return quote, body


async def read_quote(conn: asyncpg.Connection, quote_id: UUID) -> tuple[str, str] | None:
    return await SimulationRepository(conn).quote_of(quote_id)
