"""Demo data goes in the way real data would: accounts through auth's import, bank accounts through
debits' import, debt through the ledger topic."""

from dataclasses import asdict

from aiokafka import AIOKafkaProducer

from contracts.topics import DEBT_LEDGER
from services.auth.entrypoints.operations import import_export
from services.debits.entrypoints.operations import import_bank_accounts
from services.stack.demo_data import DemoDataset, generate


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


async def seed_demo(
    auth_database_url: str, debits_database_url: str, bootstrap: str, *, affiliates: int, seed: int
) -> DemoDataset:
    dataset = generate(affiliates, seed)
    await import_export(auth_database_url, dataset.export)
    await import_bank_accounts(debits_database_url, [asdict(b) for b in dataset.bank_accounts])
    await publish_ledger(bootstrap, dataset)
    return dataset
