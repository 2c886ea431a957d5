from pydantic import Field

from services.runtime.settings import ServiceSettings


class DebtSettings(ServiceSettings):
    service_name: str = "debt"
    http_port: int = Field(default=8102, alias="HTTP_PORT")
    database_url: str = Field(default="postgresql://postgres@127.0.0.1:15432/debt", alias="DATABASE_URL")
    eligibility_cutoff: str = Field(
        default="2024-12",
        alias="PROGRAMME_ELIGIBILITY_CUTOFF",
        pattern=r"^\d{4}-(0[1-9]|1[0-2])$",
        description="last period covered by the remission programme (DEC-05-2023: 2024-12)",
    )
    ledger_batch_size: int = Field(
        default=2000,
        alias="LEDGER_BATCH_SIZE",
        description="ledger entries applied per transaction (one position event per touched affiliate)",
    )
    republish_positions_on_start: bool = Field(
        default=False,
        alias="REPUBLISH_POSITIONS_ON_START",
        description="re-announce every position at start (a memory-only broker forgot them)",
    )
