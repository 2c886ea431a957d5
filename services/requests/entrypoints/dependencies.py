"""What requests' HTTP handlers need, built once by the bootstrap (``main.py``), and the one function
that builds the use cases' context from settings, for the bootstrap and the one-shot runs alike."""

from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from fastapi import Depends

from services.requests.config import RequestsSettings
from services.requests.service.context import RequestsContext
from services.requests.service.quote_arrivals import QuoteArrivals
from services.runtime.clock import Clock
from services.runtime.http import dependencies_of
from services.runtime.platform import Platform
from services.runtime.seals import SealVerifier


@dataclass(frozen=True, slots=True)
class RequestsDependencies:
    platform: Platform
    context: RequestsContext
    """the programme, calendar and clock every use case applies"""
    quote_arrivals: QuoteArrivals
    """wakes a validation when the quote it waits for crosses the broker"""
    quote_wait_seconds: float
    quote_seals: SealVerifier | None
    """None: no quote seal key, validations wait for the quote's event"""


Dependencies = Annotated[RequestsDependencies, Depends(dependencies_of(RequestsDependencies))]


def context_of(settings: RequestsSettings, clock: Clock) -> RequestsContext:
    """The programme, calendar and clock every use case applies: the service and the command line
    build it here, so a sweep run by hand applies exactly what the service's own sweep would."""
    programme = settings.load_programme()
    return RequestsContext(
        programme,
        settings.business_calendar(programme),
        clock,
        reannounce_after=timedelta(minutes=settings.reannounce_after_minutes),
        guarantee_receipt_wait=timedelta(minutes=settings.guarantee_receipt_wait_minutes),
    )
