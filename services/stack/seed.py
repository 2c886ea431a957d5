"""Demo data goes in the way real data would: accounts through auth's import, debt through the ledger topic."""

import json
from dataclasses import asdict
from pathlib import Path

from aiokafka import AIOKafkaProducer

from contracts.topics import DEBT_LEDGER
from services.stack.demo_data import DemoDataset, generate
from services.stack.operations import import_export


async def publish_ledger(bootstrap: str, dataset: DemoDataset) -> int:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5, max_batch_size=256 * 1024)
    await producer.start()
    try:
        for key, message in dataset.ledger:
            await producer.send(
                DEBT_LEDGER.name,
                value=message.model_dump_json().encode(),
                key=key.encode(),
                headers=[("content-type", b"application/json")],
            )
        await producer.flush()
    finally:
        await producer.stop()
    return len(dataset.ledger)


async def seed_demo(auth_database_url: str, bootstrap: str, *, affiliates: int, seed: int) -> DemoDataset:
    dataset = generate(affiliates, seed)
    await import_export(auth_database_url, dataset.export)
    await publish_ledger(bootstrap, dataset)
    return dataset


def keep_bank_accounts(dataset: DemoDataset, out_dir: Path) -> Path:
    """Bank accounts wait for the debits service; kept beside the data so nothing is lost meanwhile."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "bank-accounts.json"
    path.write_text(json.dumps([asdict(b) for b in dataset.bank_accounts], ensure_ascii=False, indent=1))
    return path
