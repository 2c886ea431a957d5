from pydantic import Field

from services.runtime.local import local_database
from services.runtime.settings import ProgrammeSettings, ServiceSettings


class DebitsSettings(ServiceSettings, ProgrammeSettings):
    service_name: str = "debits"
    http_port: int = Field(default=8105, alias="HTTP_PORT")
    database_url: str = Field(default=local_database("debits"), alias="DATABASE_URL")
    republish_accounts_on_start: bool = Field(
        default=False,
        alias="REPUBLISH_ACCOUNTS_ON_START",
        description="re-announce every affiliate's bank accounts at start (a memory-only broker forgot them)",
    )
    debit_run_interval_seconds: float = Field(
        default=300.0,
        alias="DEBIT_RUN_INTERVAL_SECONDS",
        description="period of the debit run that orders every debit due by today's business date (0: never)",
    )
    debit_run_page_size: int = Field(
        default=500,
        alias="DEBIT_RUN_PAGE_SIZE",
        ge=1,
        description="debits ordered per transaction of a debit run",
    )
    order_answer_wait_business_days: int = Field(
        default=3,
        alias="ORDER_ANSWER_WAIT_BUSINESS_DAYS",
        ge=1,
        le=30,
        description="business days after its collection date (or its last sending) a bank may take to answer an"
        " order; past them the same order is sent again",
    )
    order_resends: int = Field(
        default=2,
        alias="ORDER_RESENDS",
        ge=0,
        le=10,
        description="how many times an unanswered order is sent again (same message) before it is flagged to operators",
    )
    creditor_name: str = Field(
        default="Caisse Nationale de Sécurité Sociale",
        alias="CREDITOR_NAME",
        max_length=140,
        description="the creditor named on every debit order (pain.008 Cdtr)",
    )
    creditor_scheme_id: str = Field(
        default="MA00ZZZCNSS000001",
        alias="CREDITOR_SCHEME_ID",
        max_length=35,
        description="the creditor identifier the banks know CNSS by (pain.008 CdtrSchmeId); a placeholder by default",
    )
    creditor_account: str = Field(
        default="011780000000000123456706",
        alias="CREDITOR_ACCOUNT",
        max_length=34,
        description="CNSS's account that receives the funds (pain.008 CdtrAcct); a placeholder RIB by default",
    )
