from pydantic import Field, field_validator

from contracts.perceptions import PERCEPTIONS
from contracts.requests import GuaranteeType
from partners.perception.rules import AnswerRules, Issue, parse_rules
from services.runtime.settings import ServiceSettings


class PerceptionSettings(ServiceSettings):
    """Kafka settings as every service reads them (``KAFKA_*``), plus which offices it plays and the
    rules of the answers."""

    service_name: str = "perception"
    http_port: int = Field(default=8190, alias="PERCEPTION_HTTP_PORT")
    office_codes: str = Field(
        default="",
        alias="PERCEPTION_OFFICES",
        description="codes des perceptions jouées, p. ex. CAS-01,RAB-02 (vide : toutes celles du registre)",
    )
    default_outcome: Issue = Field(
        default="deposit", alias="PERCEPTION_DEFAULT", description="réponse aux affiliés sans règle propre"
    )
    rules: str = Field(
        default="", alias="PERCEPTION_RULES", description="réponses par affilié : 1000003=refuse,1000004=ignore"
    )
    delay_ms: int = Field(default=0, ge=0, alias="PERCEPTION_DELAY_MS", description="attente avant de répondre")
    guarantee_type: GuaranteeType = Field(
        default="CAUTION_BANCAIRE", alias="PERCEPTION_GUARANTEE_TYPE", description="type des garanties déposées"
    )
    refusal_reason: str = Field(
        default="Garanties non conformes : la perception refuse le plan par acomptes.",
        alias="PERCEPTION_REFUSAL_REASON",
        min_length=1,
        max_length=500,
        description="motif des refus",
    )

    kafka_fetch_max_wait_ms: int = Field(
        default=250,
        alias="KAFKA_FETCH_MAX_WAIT_MS",
        description="attente d'un fetch quand des messages arrivent : une perception n'a pas besoin de 10 ms, et une "
        "consommation par perception à 10 ms coûte au broker embarqué (Tansu) sous charge "
        "(au repos, l'attente s'allonge jusqu'à KAFKA_IDLE_FETCH_MAX_WAIT_MS)",
    )

    @field_validator("rules")
    @classmethod
    def _rules_parse(cls, value: str) -> str:
        parse_rules(value)  # a typo fails at start, not at the first request
        return value

    @field_validator("office_codes")
    @classmethod
    def _offices_known(cls, value: str) -> str:
        unknown = [code for code in _split(value) if code not in PERCEPTIONS]
        if unknown:
            raise ValueError(f"perception inconnue : {', '.join(unknown)} (attendu : {', '.join(PERCEPTIONS)})")
        return value

    def offices(self) -> list[str]:
        return _split(self.office_codes) or list(PERCEPTIONS)

    def group_id(self, code: str) -> str:
        """One consumer group per office: each office reads, commits and lags on its own topic."""
        return f"{self.kafka_group_id or self.service_name}-{code}"

    def answer_rules(self) -> AnswerRules:
        return AnswerRules(self.default_outcome, parse_rules(self.rules))


def _split(value: str) -> list[str]:
    return list(dict.fromkeys(code.strip() for code in value.split(",") if code.strip()))
