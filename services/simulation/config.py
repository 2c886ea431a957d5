from pathlib import Path

from pydantic import Field

from services.runtime.local import local_database
from services.runtime.settings import ProgrammeSettings, ServiceSettings


class SimulationSettings(ServiceSettings, ProgrammeSettings):
    service_name: str = "simulation"
    http_port: int = Field(default=8103, alias="HTTP_PORT")
    database_url: str = Field(default=local_database("simulation"), alias="DATABASE_URL")
    quote_retention_days: float = Field(
        default=30,
        gt=0,
        alias="QUOTE_RETENTION_DAYS",
        description="how long quotes are kept after they expired (the retention job purges them)",
    )
    quote_signing_key_file: Path | None = Field(
        default=None,
        alias="QUOTE_SIGNING_KEY_FILE",
        description=(
            "Ed25519 private key (PEM) that seals every quote, so requests can validate one before its event "
            "arrives; a secret in production (make run generates one). Unset: quotes go out unsealed (validation "
            "then waits for the event)"
        ),
    )
