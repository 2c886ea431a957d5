from pydantic import Field

from services.runtime.settings import ProgrammeSettings, ServiceSettings


class RequestsSettings(ServiceSettings, ProgrammeSettings):
    service_name: str = "requests"
    http_port: int = Field(default=8104, alias="HTTP_PORT")
    database_url: str = Field(default="postgresql://postgres@127.0.0.1:15432/requests", alias="DATABASE_URL")
    quote_wait_seconds: float = Field(
        default=5.0,
        alias="QUOTE_WAIT_SECONDS",
        description="how long a validation waits for the quote it names to arrive from simulation",
    )
    sweep_interval_seconds: float = Field(
        default=60.0,
        alias="SWEEP_INTERVAL_SECONDS",
        description="period of the sweep that expires guarantees and cancels idle drafts (0: never)",
    )
