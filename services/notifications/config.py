from pathlib import Path

from pydantic import Field

from services.runtime.local import local_database
from services.runtime.settings import DEFAULT_DATA_DIR, ProgrammeSettings, ServiceSettings


class NotificationsSettings(ServiceSettings, ProgrammeSettings):
    service_name: str = "notifications"
    http_port: int = Field(default=8106, alias="HTTP_PORT")
    database_url: str = Field(default=local_database("notifications"), alias="DATABASE_URL")
    smtp_host: str = Field(
        default="127.0.0.1", alias="SMTP_HOST", description="the mail relay notifications send through"
    )
    smtp_port: int = Field(
        default=8025, alias="SMTP_PORT", description="its port (the embedded stack's mail sink: 8025)"
    )
    smtp_from: str = Field(
        default="Espace Recouvrement CNSS <ne-pas-repondre@recouvrement.cnss.ma>",
        alias="SMTP_FROM",
        description="the From: of every mail",
    )
    smtp_username: str | None = Field(default=None, alias="SMTP_USERNAME", description="relay login (none: no AUTH)")
    smtp_password: str | None = Field(default=None, alias="SMTP_PASSWORD", description="its password: a secret")
    smtp_starttls: bool = Field(default=False, alias="SMTP_STARTTLS", description="STARTTLS before AUTH (production)")
    sms_provider: str = Field(
        default="file",
        alias="SMS_PROVIDER",
        pattern="^(file|http|none)$",
        description="`file`: each SMS a JSON line in SMS_FILE (development); `http`: POST to SMS_HTTP_URL; `none`: kept"
        " waiting",
    )
    sms_file: Path | None = Field(
        default=None,
        alias="SMS_FILE",
        description="where `file` writes the SMS (unset: `sms/sms.jsonl` in the embedded stack's data directory)",
    )
    sms_http_url: str | None = Field(default=None, alias="SMS_HTTP_URL", description="the provider's send endpoint")
    sms_http_token: str | None = Field(default=None, alias="SMS_HTTP_TOKEN", description="its bearer token: a secret")
    send_interval_seconds: float = Field(
        default=5.0, alias="SEND_INTERVAL_SECONDS", description="period of the sender that sends what is due (0: never)"
    )
    send_max_attempts: int = Field(
        default=8,
        ge=1,
        le=50,
        alias="SEND_MAX_ATTEMPTS",
        description="attempts of one notification (30 s, then twice as long each time, at most an hour apart) before"
        " it is recorded FAILED",
    )
    sweep_interval_seconds: float = Field(
        default=3600.0,
        alias="NOTIFICATIONS_SWEEP_INTERVAL_SECONDS",
        description="period of the sweep that finds the reminders due today (0: never)",
    )
    guarantee_reminder_days: list[int] = Field(
        default_factory=lambda: [7, 1],
        alias="GUARANTEE_REMINDER_DAYS",
        description="days before a guarantee deadline a reminder goes out, JSON list",
    )
    prenotification_business_days: int = Field(
        default=5,
        ge=1,
        le=20,
        alias="PRENOTIFICATION_BUSINESS_DAYS",
        description="business days before a collection the affiliate is told of it (amount, masked account)",
    )

    notification_retention_days: int = Field(
        default=400,
        ge=30,
        alias="NOTIFICATION_RETENTION_DAYS",
        description='how long what was told stays listed ("Mes notifications"), then purged; a notification still'
        " to send is never purged",
    )

    def sms_path(self) -> Path:
        return self.sms_file or DEFAULT_DATA_DIR / "sms" / "sms.jsonl"
