"""Settings shared by every service, read from the environment with embedded-stack defaults."""

import json
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Self

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from contracts.calendar import BusinessCalendar
from contracts.programme import CURRENT_PROGRAMME, Programme, load_programme, shipped_programme
from services.runtime.local import local_database

DEFAULT_DATA_DIR = Path(__file__).resolve().parents[2] / ".data"


TraceSampleRatio = Annotated[
    float,
    Field(
        ge=0,
        le=1,
        alias="OTEL_TRACES_SAMPLER_ARG",
        description=(
            "share of traces recorded (parent-based: decided where a trace starts, followed by every hop); "
            "unsampled calls keep their trace id in the logs. 1 in development, e.g. 0.1 under campaign load"
        ),
    ),
]
"""every process's sampling setting (the services' and the portal's settings)"""


class ServiceSettings(BaseSettings):
    """Each service subclasses this with its own ``env_prefix`` defaults for port and database."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", populate_by_name=True)

    service_name: str = Field(
        default="service",
        description="the service's name in logs, traces, dead letters and the default consumer group",
    )
    http_host: str = Field(default="127.0.0.1", alias="HTTP_HOST", description="address the HTTP server binds")
    http_port: int = Field(default=8100, alias="HTTP_PORT", description="port of the HTTP server")
    http_shared_port: int | None = Field(
        default=None,
        alias="HTTP_SHARED_PORT",
        description=(
            "read by `recouvrement serve`: a port every replica of the service listens on with SO_REUSEPORT, the "
            "kernel spreading the connections (`RECOUVREMENT_<SERVICE>_REPLICAS` in the embedded stack); the "
            "replica also serves HTTP_PORT alone"
        ),
    )
    database_url: str = Field(
        default=local_database("postgres"),
        alias="DATABASE_URL",
        description="DSN of this service's own database",
    )
    database_pool_size: int = Field(
        default=10,
        alias="DATABASE_POOL_SIZE",
        description="connections for the HTTP requests (the outbox relay and LISTENs open a few more of their own)",
    )
    database_acquire_timeout_seconds: float = Field(
        default=5.0,
        gt=0,
        alias="DATABASE_ACQUIRE_TIMEOUT_SECONDS",
        description="how long an HTTP request waits for a pooled connection before a 503 with Retry-After",
    )
    database_background_pool_size: int = Field(
        default=3,
        alias="DATABASE_BACKGROUND_POOL_SIZE",
        description="connections for the Kafka consumers, the outbox relay and scheduled work, apart from HTTP",
    )
    trusted_proxies: str = Field(
        default="",
        alias="TRUSTED_PROXIES",
        description=(
            "comma-separated addresses or networks (CIDR) whose X-Forwarded-For is believed, e.g. the portal's; "
            "any other caller is known by its own address"
        ),
    )
    kafka_group_id: str | None = Field(
        default=None, alias="KAFKA_GROUP_ID", description="consumer group; defaults to the service name"
    )
    kafka_bootstrap_servers: str = Field(
        default="127.0.0.1:19092", alias="KAFKA_BOOTSTRAP_SERVERS", description="Kafka brokers, host:port,host:port"
    )
    kafka_security_protocol: str = Field(
        default="PLAINTEXT",
        alias="KAFKA_SECURITY_PROTOCOL",
        description="PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL",
    )
    kafka_sasl_mechanism: str | None = Field(
        default=None, alias="KAFKA_SASL_MECHANISM", description="PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (with SASL_*)"
    )
    kafka_sasl_username: str | None = Field(
        default=None, alias="KAFKA_SASL_USERNAME", description="the service's Kafka principal"
    )
    kafka_sasl_password: str | None = Field(
        default=None, alias="KAFKA_SASL_PASSWORD", description="its password: a secret in production"
    )
    kafka_fetch_max_wait_ms: int = Field(
        default=100,
        ge=0,
        alias="KAFKA_FETCH_MAX_WAIT_MS",
        description=(
            "how long a fetch waits for data while messages flow (a fetch that finds data returns at once); "
            "Tansu answers a waiting fetch at halves of its wait, not when a message arrives, so a hop can "
            "take up to half of this, and each of its looks reads every partition asked: at 10 ms the embedded "
            "broker's looks were a fifth of the flows' CPU under load"
        ),
    )
    kafka_idle_after_ms: int = Field(
        default=2000,
        ge=0,
        alias="KAFKA_IDLE_AFTER_MS",
        description="how long without a message before a consumer's fetches wait longer (an eighth of its quiet time)",
    )
    kafka_idle_fetch_max_wait_ms: int = Field(
        default=4000,
        ge=0,
        alias="KAFKA_IDLE_FETCH_MAX_WAIT_MS",
        description=(
            "the longest an idle consumer's fetch waits: an idle stack costs almost nothing, and a message after "
            "a silence arrives at most a sixteenth of the silence later, never more than half of this"
        ),
    )
    kafka_session_timeout_ms: int = Field(
        default=6000,
        alias="KAFKA_SESSION_TIMEOUT_MS",
        description="consumer session timeout: a dead member's partitions move after it",
    )
    kafka_heartbeat_interval_ms: int = Field(
        default=2000,
        alias="KAFKA_HEARTBEAT_INTERVAL_MS",
        description=(
            "consumer heartbeat period, a third of the session timeout as Kafka advises: a member hears of a "
            "rebalance (a replica joining or gone) within it; shorter costs the broker at idle (issue 14)"
        ),
    )
    consume_events: bool = Field(
        default=True,
        alias="CONSUME_EVENTS",
        description=(
            "false: this process serves HTTP and consumes no topic, another process of the service (the same "
            "image, true) consumes them: event handling then never queues behind HTTP requests in one event loop"
        ),
    )
    consumer_max_attempts: int = Field(
        default=5,
        ge=1,
        alias="CONSUMER_MAX_ATTEMPTS",
        description=(
            "tries of one message whose handler keeps failing with a transient error (timeout, lost connection) "
            "while the database and the broker answer; then it is dead-lettered"
        ),
    )
    otlp_endpoint: str | None = Field(
        default=None, alias="OTEL_EXPORTER_OTLP_ENDPOINT", description="OTLP/HTTP collector, e.g. http://otel:4318"
    )
    trace_sample_ratio: TraceSampleRatio = 1.0
    log_level: str = Field(default="INFO", alias="LOG_LEVEL", description="DEBUG, INFO, WARNING or ERROR")
    token_public_key_file: Path = Field(
        default=DEFAULT_DATA_DIR / "keys" / "token-signing.pub.pem",
        alias="TOKEN_PUBLIC_KEY_FILE",
        description="Ed25519 public key (PEM) that verifies access tokens, when TOKEN_PUBLIC_KEY_FILES is empty",
    )
    token_public_key_files: Annotated[list[Path], NoDecode] = Field(
        default_factory=list,
        alias="TOKEN_PUBLIC_KEY_FILES",
        description=(
            "public keys that verify access tokens, PEM files or folders of *.pub.pem, as a JSON list or "
            "comma-separated (several during a key rotation); when set, replaces TOKEN_PUBLIC_KEY_FILE"
        ),
    )
    token_issuer: str = Field(
        default="espace-recouvrement/auth", alias="TOKEN_ISSUER", description="the tokens' iss claim"
    )
    token_audience: str = Field(
        default="espace-recouvrement", alias="TOKEN_AUDIENCE", description="the tokens' aud claim"
    )
    outbox_batch_size: int = Field(
        default=500, alias="OUTBOX_BATCH_SIZE", description="outbox rows the relay sends per batch"
    )
    outbox_max_attempts: int = Field(
        default=10,
        ge=1,
        alias="OUTBOX_MAX_ATTEMPTS",
        description="tries after which an event the broker keeps refusing, while it takes others, is parked",
    )
    outbox_lookup_margin_seconds: float = Field(
        default=300,
        ge=0,
        alias="OUTBOX_LOOKUP_MARGIN_SECONDS",
        description=(
            "how far before an interrupted batch's hand-over the relay reads its topics' tails to find what "
            "the broker already holds (clock skew between the relay and the broker's timestamps)"
        ),
    )
    outbox_retention_days: float = Field(
        default=7,
        gt=0,
        alias="OUTBOX_RETENTION_DAYS",
        description=(
            "how long published events stay in the outbox's log, to be replayed to a broker that lost them "
            "(or by `recouvrement <service> replay`)"
        ),
    )
    broker_check_interval_seconds: float = Field(
        default=30,
        gt=0,
        alias="BROKER_CHECK_INTERVAL_SECONDS",
        description="how often the relay looks for the service's mark on the broker (without it: our events were lost)",
    )
    inbox_retention_days: float = Field(
        default=30,
        gt=0,
        alias="INBOX_RETENTION_DAYS",
        description=(
            "how long a consumer remembers the events it applied; longer than every producer's "
            "OUTBOX_RETENTION_DAYS and the topics' retention, so no replay or re-read applies one twice"
        ),
    )
    idempotency_key_hours: float = Field(
        default=24,
        gt=0,
        alias="IDEMPOTENCY_KEY_HOURS",
        description=(
            "how long the first answer to a POST sent with an Idempotency-Key is given again to the same key "
            "and request (docs/gateways.md)"
        ),
    )
    retention_interval_seconds: float = Field(
        default=3600,
        ge=0,
        alias="RETENTION_INTERVAL_SECONDS",
        description="how often the retention job purges what outlived its window (0: never, e.g. in tests)",
    )
    kafka_idempotent_producer: bool = Field(
        default=False,
        alias="KAFKA_IDEMPOTENT_PRODUCER",
        description=(
            "Kafka's idempotent producer (no duplicate from the producer's own retries); true on Apache Kafka, "
            "false on Tansu, which cannot issue producer ids"
        ),
    )
    fault_injection: str | None = Field(
        default=None,
        alias="FAULT_INJECTION",
        description=(
            "crash tests only, never in production: 'point:n' kills the process the n-th time it reaches "
            "that point (outbox.handed, outbox.sent, outbox.acknowledged; debits: debit-run.page)"
        ),
    )

    @field_validator("token_public_key_files", mode="before")
    @classmethod
    def _paths_list(cls, value: Any) -> Any:
        """A JSON list, or comma-separated paths (easier in a ConfigMap); empty means none."""
        if not isinstance(value, str):
            return value
        text = value.strip()
        if text.startswith("["):
            return json.loads(text)
        return [part.strip() for part in text.split(",") if part.strip()]

    @model_validator(mode="after")
    def _inbox_outlives_the_log(self) -> Self:
        """An inbox that forgets an event before the log stops replaying it would apply it twice."""
        if self.inbox_retention_days <= self.outbox_retention_days:
            raise ValueError(
                f"INBOX_RETENTION_DAYS ({self.inbox_retention_days}) must exceed "
                f"OUTBOX_RETENTION_DAYS ({self.outbox_retention_days})"
            )
        return self

    def token_public_keys(self) -> list[Path] | None:
        """The public key files to verify tokens with; None when there is none (every authenticated
        call then answers 401, as before any key was configured).

        ``TOKEN_PUBLIC_KEY_FILES`` (files, or folders whose ``*.pub.pem`` are all taken) wins over
        ``TOKEN_PUBLIC_KEY_FILE``. A key file that was configured (either setting) and does not exist
        is a configuration error, raised at start: a wrongly mounted Secret must stop a rollout, not
        leave a ready service that refuses every token. Only the unconfigured default may be missing
        (a laptop before its first ``make run``).
        """
        if not self.token_public_key_files:
            if self.token_public_key_file.exists():
                return [self.token_public_key_file]
            if "token_public_key_file" in self.model_fields_set:
                raise FileNotFoundError(f"TOKEN_PUBLIC_KEY_FILE: {self.token_public_key_file} does not exist")
            return None
        files: list[Path] = []
        for path in self.token_public_key_files:
            if path.is_dir():
                # *.pub.pem only: a folder laid out like .data/keys also holds the private key.
                files.extend(sorted(path.glob("*.pub.pem")))
            elif path.is_file():
                files.append(path)
            else:
                raise FileNotFoundError(f"TOKEN_PUBLIC_KEY_FILES: {path} does not exist")
        if not files:
            raise FileNotFoundError(f"TOKEN_PUBLIC_KEY_FILES: no *.pub.pem in {self.token_public_key_files}")
        return files


class ProgrammeSettings(BaseSettings):
    """For the services that apply the programme's rules (simulation, requests, debits) or show its periods (debt)."""

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

    worked_days: list[date] = Field(
        default_factory=list,
        alias="WORKED_DAYS",
        description="days the holidays calendar gives as public holidays that are worked (an estimated"
        ' Islamic holiday observed on another day, which goes in EXTRA_HOLIDAYS), JSON list: ["2027-03-09"]',
    )

    def load_programme(self) -> Programme:
        if self.programme_file is not None:
            return load_programme(self.programme_file)
        return shipped_programme(self.programme_code)

    def business_calendar(self, programme: Programme) -> BusinessCalendar:
        return BusinessCalendar([*programme.extra_holidays, *self.extra_holidays], self.worked_days)
