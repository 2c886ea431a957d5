"""Settings shared by every service, read from the environment with embedded-stack defaults."""

from datetime import date
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts.calendar import BusinessCalendar
from contracts.programme import CURRENT_PROGRAMME, Programme, load_programme, shipped_programme

DEFAULT_DATA_DIR = Path(__file__).resolve().parents[2] / ".data"


class ServiceSettings(BaseSettings):
    """Each service subclasses this with its own ``env_prefix`` defaults for port and database."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", populate_by_name=True)

    service_name: str = "service"
    http_host: str = Field(default="127.0.0.1", alias="HTTP_HOST")
    http_port: int = Field(default=8100, alias="HTTP_PORT")
    database_url: str = Field(
        default="postgresql://postgres@127.0.0.1:15432/postgres",
        alias="DATABASE_URL",
        description="DSN of this service's own database",
    )
    database_pool_size: int = Field(default=10, alias="DATABASE_POOL_SIZE")
    kafka_group_id: str | None = Field(
        default=None, alias="KAFKA_GROUP_ID", description="consumer group; defaults to the service name"
    )
    kafka_bootstrap_servers: str = Field(default="127.0.0.1:19092", alias="KAFKA_BOOTSTRAP_SERVERS")
    kafka_security_protocol: str = Field(default="PLAINTEXT", alias="KAFKA_SECURITY_PROTOCOL")
    kafka_sasl_mechanism: str | None = Field(default=None, alias="KAFKA_SASL_MECHANISM")
    kafka_sasl_username: str | None = Field(default=None, alias="KAFKA_SASL_USERNAME")
    kafka_sasl_password: str | None = Field(default=None, alias="KAFKA_SASL_PASSWORD")
    kafka_fetch_max_wait_ms: int = Field(default=10, alias="KAFKA_FETCH_MAX_WAIT_MS")
    kafka_session_timeout_ms: int = Field(default=6000, alias="KAFKA_SESSION_TIMEOUT_MS")
    kafka_heartbeat_interval_ms: int = Field(default=500, alias="KAFKA_HEARTBEAT_INTERVAL_MS")
    otlp_endpoint: str | None = Field(
        default=None, alias="OTEL_EXPORTER_OTLP_ENDPOINT", description="OTLP/HTTP collector, e.g. http://otel:4318"
    )
    log_level: str = Field(default="INFO", alias="LOG_LEVEL")
    token_public_key_file: Path = Field(
        default=DEFAULT_DATA_DIR / "keys" / "token-signing.pub.pem",
        alias="TOKEN_PUBLIC_KEY_FILE",
        description="Ed25519 public key (PEM) that verifies access tokens",
    )
    token_issuer: str = Field(default="espace-recouvrement/auth", alias="TOKEN_ISSUER")
    token_audience: str = Field(default="espace-recouvrement", alias="TOKEN_AUDIENCE")
    outbox_batch_size: int = Field(default=500, alias="OUTBOX_BATCH_SIZE")


class ProgrammeSettings(BaseSettings):
    """For the services that apply the programme's rules (simulation, requests, debits)."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", populate_by_name=True)

    programme_code: str = Field(
        default=CURRENT_PROGRAMME, alias="PROGRAMME", description="code of a programme shipped in contracts/programmes"
    )
    programme_file: Path | None = Field(
        default=None, alias="PROGRAMME_FILE", description="a programme JSON file; wins over PROGRAMME"
    )
    extra_holidays: list[date] = Field(
        default_factory=list,
        alias="EXTRA_HOLIDAYS",
        description='public holidays added to the calendar, JSON list: ["2027-03-10"]',
    )

    def load_programme(self) -> Programme:
        if self.programme_file is not None:
            return load_programme(self.programme_file)
        return shipped_programme(self.programme_code)

    def business_calendar(self, programme: Programme) -> BusinessCalendar:
        return BusinessCalendar([*programme.extra_holidays, *self.extra_holidays])
