"""Readiness is what serving HTTP needs: the database. A broker that goes away delays events (the
outbox keeps them) and is reported, but never takes a service out of rotation."""

from pathlib import Path

import pytest

from services.debt.config import DebtSettings
from services.debt.main import create_app
from services.stack.embedded import EmbeddedBroker, free_port
from services.stack.provisioning import provision_topics
from tests.conftest import Infra
from tests.support import eventually, running

pytestmark = pytest.mark.integration


async def test_a_broker_that_goes_away_is_reported_and_the_service_stays_ready(
    infra: Infra, database: str, tmp_path: Path
) -> None:
    broker = EmbeddedBroker(free_port(), tmp_path / "broker.log")
    broker.start()
    try:
        await provision_topics(broker.bootstrap, partitions=1)
        settings = DebtSettings(
            database_url=database, kafka_bootstrap_servers=broker.bootstrap, token_public_key_file=infra.public_key
        )
        async with running(create_app(settings)) as client:
            ready = await client.get("/health/ready")
            assert (ready.status_code, ready.json()["dependencies"]) == (200, {"broker": True, "outbox_relay": True})

            broker.stop()  # the broker dies under the running service

            async def reported() -> bool:
                details = (await client.get("/health/details")).json()
                states = {key: details[key] for key in ("database", "broker", "outbox_relay")}
                return states == {"database": True, "broker": False, "outbox_relay": True}

            await eventually(reported, timeout=30, interval=0.5)
            ready = await client.get("/health/ready")
            assert ready.status_code == 200  # still in rotation: reads and changes work, events wait
            assert ready.json()["checks"] == {"database": True}
            assert ready.json()["dependencies"]["broker"] is False
    finally:
        broker.stop()
