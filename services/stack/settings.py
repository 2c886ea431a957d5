"""What the embedded stack's launcher reads (``recouvrement run``, ``make run``, the tests' stacks):
settings like every service's, so the configuration reference is generated from them."""

import re
from collections.abc import Mapping
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.runtime.settings import DEFAULT_DATA_DIR

SERVICE_PORTS = {
    "auth": 8101,
    "debt": 8102,
    "simulation": 8103,
    "requests": 8104,
    "debits": 8105,
    "notifications": 8106,
    "portal": 8080,
}
"""The portal is the employers' way in (http://127.0.0.1:8080); it calls the five others over HTTP."""
PARTNER_PORTS = {"perception": 8190, "bank": 8191}
SPLITTABLE = ("auth", "debt", "simulation", "requests", "debits", "notifications")
"""the services with topics to consume, which RECOUVREMENT_EVENTS_PROCESSES may run as two processes"""
"""Stand-ins for the outside world (partners/), started with the services for the demo and the tests."""
EVENTS_SUFFIX = "-events"
EVENTS_PORT_OFFSET = 10
REPLICABLE = (*SPLITTABLE, "portal")
"""what ``RECOUVREMENT_<SERVICE>_REPLICAS`` may run as several processes (the partners are one each)"""
REPLICA_PORT_STEP = 100
"""Replica k of a replicated service answers alone on the service's port + k × 100 (``requests``
8204, ``requests-2`` 8304), the service's port being the one they share. Its events processes share
nothing: replica k on the events port + (k − 1) × 100 (``requests-events`` 8114, ``requests-events-2``
8214)."""
MAX_REPLICAS = 8
_REPLICA = re.compile(r"-\d+$")
_REPLICAS_SETTING = re.compile(r"RECOUVREMENT_(\w+)_REPLICAS")


def _port(name: str, default: int) -> int:
    return Field(default=default, alias=f"RECOUVREMENT_{name.upper()}_PORT", description=f"HTTP port of {name}")


def _replicas(name: str) -> int:
    return Field(
        default=1,
        ge=1,
        le=MAX_REPLICAS,
        alias=f"RECOUVREMENT_{name.upper()}_REPLICAS",
        description=(
            f"processes of {name}, sharing its port (each replica listens on it with SO_REUSEPORT, the kernel spreads "
            "the connections; the launcher reserves it), its database and its consumer groups; each also answers "
            "alone on the port + 100 × k"
        ),
    )


class LauncherSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", populate_by_name=True, env_ignore_empty=True)

    auth_port: int = _port("auth", SERVICE_PORTS["auth"])
    debt_port: int = _port("debt", SERVICE_PORTS["debt"])
    simulation_port: int = _port("simulation", SERVICE_PORTS["simulation"])
    requests_port: int = _port("requests", SERVICE_PORTS["requests"])
    debits_port: int = _port("debits", SERVICE_PORTS["debits"])
    notifications_port: int = _port("notifications", SERVICE_PORTS["notifications"])
    portal_port: int = _port("portal", SERVICE_PORTS["portal"])
    perception_port: int = _port("perception", PARTNER_PORTS["perception"])
    auth_replicas: int = _replicas("auth")
    debt_replicas: int = _replicas("debt")
    simulation_replicas: int = _replicas("simulation")
    requests_replicas: int = _replicas("requests")
    debits_replicas: int = _replicas("debits")
    notifications_replicas: int = _replicas("notifications")
    portal_replicas: int = _replicas("portal")
    bank_port: int = _port("bank", PARTNER_PORTS["bank"])
    data_dir: Path = Field(
        default=DEFAULT_DATA_DIR,
        alias="RECOUVREMENT_DATA_DIR",
        description="where the embedded Postgres keeps its data, the logs and the development keys",
    )
    mail_port: int = Field(
        default=8025,
        alias="RECOUVREMENT_MAIL_PORT",
        description="port of the embedded mail sink (SMTP): notifications send to it, each mail kept in"
        " `<data dir>/mail/` as a .eml file",
    )
    pg_port: int = Field(default=15432, alias="RECOUVREMENT_PG_PORT", description="port of the embedded Postgres")
    kafka_port: int = Field(
        default=19092,
        alias="RECOUVREMENT_KAFKA_PORT",
        description="port of the embedded Kafka-protocol broker (Tansu, memory only)",
    )
    database_url: str | None = Field(
        default=None,
        alias="DATABASE_URL",
        description="a Postgres server URL to use instead of the embedded one (one database per service is "
        "created on it)",
    )
    kafka_bootstrap_servers: str | None = Field(
        default=None, alias="KAFKA_BOOTSTRAP_SERVERS", description="a Kafka to use instead of the embedded broker"
    )
    seed_demo: bool = Field(
        default=True,
        alias="RECOUVREMENT_SEED_DEMO",
        description="`0`, `false` or `no`: do not load the demo data (anything but a boolean stops the start)",
    )
    demo_affiliates: int = Field(
        default=20,
        alias="RECOUVREMENT_DEMO_AFFILIATES",
        description="generated demo affiliates, beside the fixed demo accounts",
    )
    demo_seed: int = Field(
        default=2024,
        alias="RECOUVREMENT_DEMO_SEED",
        description="seed of the generated demo data (same seed, same data)",
    )
    otlp_endpoint: str | None = Field(
        default=None, alias="OTEL_EXPORTER_OTLP_ENDPOINT", description="passed on to every service"
    )
    log_max_megabytes: float = Field(
        default=20,
        gt=0,
        alias="RECOUVREMENT_LOG_MAX_MEGABYTES",
        description="a log file of the launcher's children (and Postgres') larger than this is rotated",
    )
    log_keep: int = Field(
        default=3,
        ge=0,
        le=50,
        alias="RECOUVREMENT_LOG_KEEP",
        description="rotated copies kept per log file (`x.log.1` the newest); older ones are deleted",
    )

    events_processes: str = Field(
        default="",
        alias="RECOUVREMENT_EVENTS_PROCESSES",
        description=(
            "services run as two processes, e.g. `requests`: one serves HTTP on the service's port and consumes "
            "nothing, the other (`<service>-events`, port + 10) consumes its topics, so under load an event never "
            "waits behind HTTP requests in one event loop"
        ),
    )

    @field_validator("events_processes")
    @classmethod
    def _splittable(cls, value: str) -> str:
        names = [name for name in value.replace(" ", "").split(",") if name]
        unknown = sorted(set(names) - set(SPLITTABLE))
        if unknown:  # a typo fails at start, not as a stack that silently runs one process
            raise ValueError(f"services inconnus {unknown} (attendus : {', '.join(SPLITTABLE)})")
        return ",".join(names)

    def split_services(self) -> tuple[str, ...]:
        return tuple(name for name in self.events_processes.split(",") if name)

    @field_validator("database_url", "kafka_bootstrap_servers", "otlp_endpoint", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    def ports(self) -> dict[str, int]:
        return {name: getattr(self, f"{name}_port") for name in SERVICE_PORTS | PARTNER_PORTS}

    def replicas(self) -> dict[str, int]:
        """The services asked to run as more than one process, and how many."""
        counts = {name: int(getattr(self, f"{name}_replicas")) for name in REPLICABLE}
        return {name: count for name, count in counts.items() if count > 1}


def replica_name(name: str, k: int) -> str:
    """``requests``, ``requests-2``, ``requests-3``…: the first replica keeps the plain name (its log
    file, its line in the listing), so one process per service looks as it always did."""
    return name if k == 1 else f"{name}-{k}"


def service_of(name: str) -> str:
    """``requests-2``, ``requests-events`` and ``requests-events-2`` are all the requests service."""
    return _REPLICA.sub("", name).removesuffix(EVENTS_SUFFIX)


def consumes_only(name: str) -> bool:
    """an events process: it consumes the service's topics and takes none of its HTTP traffic"""
    return _REPLICA.sub("", name).endswith(EVENTS_SUFFIX)


def process_ports(
    ports: dict[str, int], split: tuple[str, ...], replicas: dict[str, int]
) -> tuple[dict[str, int], dict[str, int]]:
    """Every process of the stack with the port it answers on alone, and the ports the replicas of a
    service share (the launcher reserves them). ``ports``: the services' and partners' ports."""
    own: dict[str, int] = {}
    shared: dict[str, int] = {}
    for name, port in ports.items():
        count = replicas.get(name, 1)
        if count == 1:
            own[name] = port
        else:
            shared[name] = port
            own |= {replica_name(name, k): port + REPLICA_PORT_STEP * k for k in range(1, count + 1)}
        if name in split:
            events = port + EVENTS_PORT_OFFSET
            own |= {
                replica_name(name + EVENTS_SUFFIX, k): events + REPLICA_PORT_STEP * (k - 1) for k in range(1, count + 1)
            }
    return own, shared


def check_replica_names(environ: Mapping[str, str]) -> None:
    """``RECOUVREMENT_REQUEST_REPLICAS=2`` (a typo) or ``RECOUVREMENT_BANK_REPLICAS`` (a partner)
    would be ignored, and a bench would measure one process believing it measured two: refused."""
    for key in environ:
        match = _REPLICAS_SETTING.fullmatch(key)
        if match and match.group(1).lower() not in REPLICABLE:
            raise ValueError(f"{key} : service inconnu (attendus : {', '.join(REPLICABLE)})")
