from pathlib import Path

from pydantic import Field

from services.runtime.local import local_database
from services.runtime.settings import DEFAULT_DATA_DIR, ServiceSettings


class AuthSettings(ServiceSettings):
    service_name: str = "auth"
    http_port: int = Field(default=8101, alias="HTTP_PORT")
    database_url: str = Field(default=local_database("auth"), alias="DATABASE_URL")
    login_attempt_retention_days: float = Field(
        default=30,
        gt=0,
        alias="LOGIN_ATTEMPT_RETENTION_DAYS",
        description="how long an untouched failure counter (login, address) is kept once no lock runs",
    )
    token_private_key_file: Path = Field(
        default=DEFAULT_DATA_DIR / "keys" / "token-signing.pem",
        alias="TOKEN_PRIVATE_KEY_FILE",
        description="Ed25519 private key (PEM) that signs access tokens (its kid goes in every token); a secret",
    )
    token_ttl_minutes: int = Field(
        default=15,
        alias="TOKEN_TTL_MINUTES",
        description="lifetime of an access token; also how long an old public key stays after a rotation",
    )
    refresh_token_days: float = Field(
        default=30,
        gt=0,
        alias="REFRESH_TOKEN_DAYS",
        description=(
            "lifetime of a refresh token (POST /v1/sessions/refresh): each refresh gives the next one, so a session "
            "used at least this often lasts; one unused this long is over"
        ),
    )
    session_max_age_days: float = Field(
        default=30,
        gt=0,
        alias="SESSION_MAX_AGE_DAYS",
        description="how long a session lasts from its login at most, refreshed or not: then the login again",
    )
    lockout_threshold: int = Field(
        default=5, alias="LOCKOUT_THRESHOLD", description="failed logins in a row that lock a login"
    )
    lockout_minutes: int = Field(
        default=15, alias="LOCKOUT_MINUTES", description="how long a locked login stays locked"
    )
    login_burst_per_address: int = Field(
        default=30, ge=1, alias="LOGIN_BURST_PER_ADDRESS", description="login attempts an address may make at once"
    )
    login_rate_per_address: float = Field(
        default=30,
        gt=0,
        alias="LOGIN_RATE_PER_ADDRESS",
        description="login attempts a minute an address may make after its burst (beyond: 429 with Retry-After)",
    )
    login_in_flight_per_address: int = Field(
        default=1,
        ge=1,
        alias="LOGIN_IN_FLIGHT_PER_ADDRESS",
        description="an address's login attempts worked on at once (argon2 is costly); the others wait up to 1 s",
    )
    login_burst_per_login: int = Field(
        default=20,
        ge=1,
        alias="LOGIN_BURST_PER_LOGIN",
        description="attempts on one login at once, every address together",
    )
    login_rate_per_login: float = Field(
        default=2,
        gt=0,
        alias="LOGIN_RATE_PER_LOGIN",
        description="attempts a minute on one login after its burst, every address together (a distributed guess)",
    )
    republish_affiliates_on_start: bool = Field(
        default=False,
        alias="REPUBLISH_AFFILIATES_ON_START",
        description="re-announce every affiliate profile at start (a memory-only broker forgot them)",
    )
