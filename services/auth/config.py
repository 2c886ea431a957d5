from pathlib import Path

from pydantic import Field

from services.runtime.settings import DEFAULT_DATA_DIR, ServiceSettings


class AuthSettings(ServiceSettings):
    service_name: str = "auth"
    http_port: int = Field(default=8101, alias="HTTP_PORT")
    database_url: str = Field(default="postgresql://postgres@127.0.0.1:15432/auth", alias="DATABASE_URL")
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
    lockout_threshold: int = Field(
        default=5, alias="LOCKOUT_THRESHOLD", description="failed logins in a row that lock a login"
    )
    lockout_minutes: int = Field(
        default=15, alias="LOCKOUT_MINUTES", description="how long a locked login stays locked"
    )
    republish_affiliates_on_start: bool = Field(
        default=False,
        alias="REPUBLISH_AFFILIATES_ON_START",
        description="re-announce every affiliate profile at start (a memory-only broker forgot them)",
    )
