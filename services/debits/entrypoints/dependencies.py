"""What debits' HTTP handlers need, built once by the bootstrap (``main.py``), and the one function
that builds the use cases' context from settings, for the bootstrap and the one-shot runs alike."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from contracts.debits import Creditor
from services.debits.config import DebitsSettings
from services.debits.domain.follow_up import FollowUpPolicy
from services.debits.service.context import DebitsContext
from services.runtime.clock import Clock
from services.runtime.http import dependencies_of
from services.runtime.platform import Platform


@dataclass(frozen=True, slots=True)
class DebitsDependencies:
    platform: Platform
    context: DebitsContext
    """the programme, calendar, clock and creditor the use cases apply"""


Dependencies = Annotated[DebitsDependencies, Depends(dependencies_of(DebitsDependencies))]


def context_of(settings: DebitsSettings, clock: Clock) -> DebitsContext:
    """The programme, calendar, clock and creditor every use case applies: the service and the
    command line build it here, so a one-shot run applies exactly what the service would."""
    programme = settings.load_programme()
    creditor = Creditor(
        name=settings.creditor_name, scheme_id=settings.creditor_scheme_id, account=settings.creditor_account
    )
    return DebitsContext(
        programme,
        settings.business_calendar(programme),
        clock,
        creditor,
        settings.debit_run_page_size,
        FollowUpPolicy(settings.order_answer_wait_business_days, settings.order_resends),
    )
