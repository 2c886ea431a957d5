from pydantic import Field

from services.runtime.settings import ProgrammeSettings, ServiceSettings


class SimulationSettings(ServiceSettings, ProgrammeSettings):
    service_name: str = "simulation"
    http_port: int = Field(default=8103, alias="HTTP_PORT")
    database_url: str = Field(default="postgresql://postgres@127.0.0.1:15432/simulation", alias="DATABASE_URL")
