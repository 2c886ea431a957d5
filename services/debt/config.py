from functools import cached_property

from pydantic import Field

from services.runtime.local import local_database
from services.runtime.settings import ProgrammeSettings, ServiceSettings


class DebtSettings(ServiceSettings, ProgrammeSettings):
    service_name: str = "debt"
    http_port: int = Field(default=8102, alias="HTTP_PORT")
    database_url: str = Field(default=local_database("debt"), alias="DATABASE_URL")
    ledger_batch_size: int = Field(
        default=2000,
        alias="LEDGER_BATCH_SIZE",
        description="ledger entries applied per transaction (one position event per touched affiliate)",
    )
    ledger_days_ahead: int = Field(
        default=1,
        ge=0,
        alias="LEDGER_DAYS_AHEAD",
        description=(
            "a ledger entry dated more than this many days after today (Casablanca) goes to debt.ledger.v1.dlq:"
            " a payment typed with a future date would leave its period unpaid until then (article 2)"
        ),
    )
    republish_positions_on_start: bool = Field(
        default=False,
        alias="REPUBLISH_POSITIONS_ON_START",
        description="re-announce every position at start (a memory-only broker forgot them)",
    )
    plan_event_max_wait_seconds: float = Field(
        default=3600.0,
        gt=0,
        alias="PLAN_EVENT_MAX_WAIT_SECONDS",
        description=(
            "how long a plan event (debit settled, plan completed or defaulted) may wait for its request's "
            "VALIDATED before it goes to debits.events.v1.dlq"
        ),
    )
    pending_sweep_interval_seconds: float = Field(
        default=30.0,
        alias="PENDING_SWEEP_INTERVAL_SECONDS",
        description=(
            "period of the sweep that dead-letters plan events waited too long and logs how many wait (0: never)"
        ),
    )

    @cached_property
    def eligibility_cutoff(self) -> str:
        """The last period the programme covers (``eligible_until`` in its file): what debt shows as
        eligible, from the same file simulation and requests apply, never a setting of its own."""
        return self.load_programme().eligible_until
