"""The portal's settings: where the services answer, its own database (sessions), cookies."""

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.runtime.local import local_database
from services.runtime.settings import TraceSampleRatio


class PortalSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", populate_by_name=True)

    service_name: str = Field(default="portal", description="the portal's name in logs and traces")
    http_host: str = Field(default="127.0.0.1", alias="HTTP_HOST", description="address the HTTP server binds")
    http_port: int = Field(default=8080, alias="HTTP_PORT", description="port of the portal's pages")
    database_url: str = Field(
        default=local_database("portal"),
        alias="DATABASE_URL",
        description="DSN of the portal's own database (its sessions)",
    )
    database_pool_size: int = Field(default=10, alias="DATABASE_POOL_SIZE", description="connections for pages")
    auth_url: str = Field(default="http://127.0.0.1:8101", alias="AUTH_URL", description="auth's HTTP API")
    debt_url: str = Field(default="http://127.0.0.1:8102", alias="DEBT_URL", description="debt's HTTP API")
    simulation_url: str = Field(
        default="http://127.0.0.1:8103", alias="SIMULATION_URL", description="simulation's HTTP API"
    )
    requests_url: str = Field(default="http://127.0.0.1:8104", alias="REQUESTS_URL", description="requests' HTTP API")
    debits_url: str = Field(default="http://127.0.0.1:8105", alias="DEBITS_URL", description="debits' HTTP API")
    notifications_url: str = Field(
        default="http://127.0.0.1:8106", alias="NOTIFICATIONS_URL", description="notifications' HTTP API"
    )
    upstream_timeout_seconds: float = Field(
        default=15.0,
        alias="UPSTREAM_TIMEOUT_SECONDS",
        description="longest wait for a service's answer (validation may wait for its quote a few seconds)",
    )
    upstream_connections: int = Field(
        default=100, alias="UPSTREAM_CONNECTIONS", description="HTTP connections kept open towards the services"
    )
    trusted_proxies: str = Field(
        default="",
        alias="TRUSTED_PROXIES",
        description="comma-separated addresses or networks (CIDR) of the proxies in front of the portal (an ingress)",
    )
    cookie_secure: bool = Field(
        default=True,
        alias="COOKIE_SECURE",
        description=(
            "Secure flag on the session cookie; false only on plain http on one machine (make run, docker-compose.yml)"
        ),
    )
    session_max_hours: float = Field(
        default=8,
        gt=0,
        alias="SESSION_MAX_HOURS",
        description=(
            "a portal session ends this long after the login however active (its access token is renewed every "
            "15 minutes meanwhile), or sooner when auth's refresh token expires or the user logs out"
        ),
    )
    otlp_endpoint: str | None = Field(
        default=None, alias="OTEL_EXPORTER_OTLP_ENDPOINT", description="OTLP/HTTP collector, e.g. http://otel:4318"
    )
    trace_sample_ratio: TraceSampleRatio = 1.0
    log_level: str = Field(default="INFO", alias="LOG_LEVEL", description="DEBUG, INFO, WARNING or ERROR")
