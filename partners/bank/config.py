from pydantic import Field, field_validator

from contracts.banks import BANKS
from partners.bank.rules import BankRules, parse_rules
from services.runtime.settings import ServiceSettings


class BankSettings(ServiceSettings):
    """Kafka settings as every service reads them (``KAFKA_*``), plus which banks it plays and how they answer."""

    service_name: str = "bank"
    http_port: int = Field(default=8191, alias="BANK_HTTP_PORT")
    bank_codes: str = Field(
        default="",
        alias="BANK_CODES",
        description="codes des banques jouées, p. ex. 007,011 (vide : toutes celles du registre)",
    )
    rules: str = Field(
        default="",
        alias="BANK_RULES",
        description="réponses par affilié, RIB ou * : 1000003=AC04,1000004=AM04-once,*=pay (sans règle : payé)",
    )
    delay_ms: int = Field(default=0, ge=0, alias="BANK_DELAY_MS", description="attente avant de répondre à un ordre")

    kafka_fetch_max_wait_ms: int = Field(
        default=250,
        alias="KAFKA_FETCH_MAX_WAIT_MS",
        description="attente d'un fetch quand des messages arrivent : une banque n'a pas besoin de 10 ms, et une "
        "consommation par banque à 10 ms coûte au broker embarqué (Tansu) sous charge "
        "(au repos, l'attente s'allonge jusqu'à KAFKA_IDLE_FETCH_MAX_WAIT_MS)",
    )

    @field_validator("rules")
    @classmethod
    def _rules_parse(cls, value: str) -> str:
        parse_rules(value)  # a typo fails at start, not at the first order
        return value

    @field_validator("bank_codes")
    @classmethod
    def _codes_known(cls, value: str) -> str:
        unknown = [code for code in _split(value) if code not in BANKS]
        if unknown:
            raise ValueError(f"banque inconnue : {', '.join(unknown)} (attendu : {', '.join(BANKS)})")
        return value

    def codes(self) -> list[str]:
        return _split(self.bank_codes) or list(BANKS)

    def bank_rules(self) -> BankRules:
        return BankRules.from_text(self.rules)

    def group_id(self, code: str) -> str:
        """One consumer group per bank: each bank reads, commits and lags on its own topic."""
        return f"{self.kafka_group_id or self.service_name}-{code}"


def _split(value: str) -> list[str]:
    return list(dict.fromkeys(code.strip() for code in value.split(",") if code.strip()))
