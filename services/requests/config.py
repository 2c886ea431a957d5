from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, field_validator
from pydantic_settings import NoDecode

from services.runtime.local import local_database
from services.runtime.settings import ProgrammeSettings, ServiceSettings


class RequestsSettings(ServiceSettings, ProgrammeSettings):
    service_name: str = "requests"
    http_port: int = Field(default=8104, alias="HTTP_PORT")
    database_url: str = Field(default=local_database("requests"), alias="DATABASE_URL")
    quote_retention_days: float = Field(
        default=30,
        gt=0,
        alias="QUOTE_RETENTION_DAYS",
        description="how long quotes are kept after they were issued (a request keeps its own copy of its quote)",
    )
    quote_wait_seconds: float = Field(
        default=5.0,
        alias="QUOTE_WAIT_SECONDS",
        description="how long a validation waits for the quote it names to arrive from simulation",
    )
    reannounce_after_minutes: float = Field(
        default=60,
        gt=0,
        alias="REANNOUNCE_AFTER_MINUTES",
        description=(
            "a VALIDATED request without a plan from debits after this long is announced again by the sweep "
            "(three times at most)"
        ),
    )
    guarantee_receipt_wait_minutes: float = Field(
        default=60,
        gt=0,
        alias="GUARANTEE_RECEIPT_WAIT_MINUTES",
        description=(
            "a guarantee request its perception office has not acknowledged after this long is sent to it again"
            " by the sweep (three times at most)"
        ),
    )
    sweep_interval_seconds: float = Field(
        default=60.0,
        alias="SWEEP_INTERVAL_SECONDS",
        description="period of the sweep that expires guarantees and cancels idle drafts (0: never)",
    )
    quote_public_key_files: Annotated[list[Path], NoDecode] = Field(
        default_factory=list,
        alias="QUOTE_PUBLIC_KEY_FILES",
        description=(
            "simulation's public keys (PEM, comma-separated or a JSON list; several during a rotation) that "
            "open the quote seal a validation hands back (make run sets it); none: validations wait for the "
            "quote's event"
        ),
    )

    @field_validator("quote_public_key_files", mode="before")
    @classmethod
    def _key_list(cls, value: Any) -> Any:
        return cls._paths_list(value)
