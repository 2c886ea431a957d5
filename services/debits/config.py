from pydantic import Field

from services.runtime.settings import ServiceSettings


class DebitsSettings(ServiceSettings):
    service_name: str = "debits"
    http_port: int = Field(default=8105, alias="HTTP_PORT")
    database_url: str = Field(default="postgresql://postgres@127.0.0.1:15432/debits", alias="DATABASE_URL")
    republish_accounts_on_start: bool = Field(
        default=False,
        alias="REPUBLISH_ACCOUNTS_ON_START",
        description="re-announce every affiliate's bank accounts at start (a memory-only broker forgot them)",
    )
