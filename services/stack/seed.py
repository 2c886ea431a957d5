"""Demo data goes in the way real data would: accounts through auth's import, bank accounts through
debits' import, debt through the ledger topic."""

from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from contracts.topics import DEBT_LEDGER
from services.auth.entrypoints.operations import import_export
from services.auth.service.import_accounts import DamancomExport
from services.auth.service.passwords import Passwords
from services.debits.entrypoints.operations import import_bank_accounts
from services.stack.demo_data import DemoDataset, generate

LEDGER_ATTEMPTS = 30

BrokerDown = Callable[[Exception, int], Awaitable[None]]
"""Told each time the broker did not take the demo ledger (the error, the attempt): the launcher
restarts a dead broker there and waits a moment."""


async def publish_ledger(bootstrap: str, dataset: DemoDataset, broker_down: BrokerDown | None = None) -> int:
    """The whole ledger, again from its first entry after a failure (a broker killed while it was
    taking it comes back empty): debt applies each entry once, by its id, so what went through
    before the failure counts once. ``LEDGER_ATTEMPTS`` failures in a row stop the seeding."""
    for attempt in range(1, LEDGER_ATTEMPTS + 1):
        try:
            return await _publish_ledger(bootstrap, dataset)
        except (KafkaError, OSError, TimeoutError) as exc:
            if broker_down is None or attempt == LEDGER_ATTEMPTS:
                raise
            await broker_down(exc, attempt)
    raise AssertionError("unreachable")


async def _publish_ledger(bootstrap: str, dataset: DemoDataset) -> int:
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", linger_ms=5, max_batch_size=256 * 1024, request_timeout_ms=10_000
    )
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


def hashed_once(export: DamancomExport) -> DamancomExport:
    """The export with each demo password hashed once for all the accounts that have it (the demo
    accounts share the one the README publishes): argon2id takes about 110 ms a hash here, and hashed
    per account the import of 24 accounts took 2.6 s of ``make run``'s first start. The accounts
    then share a salt, which tells nothing the README does not; a real import hashes each account's
    own (``import_accounts``)."""
    passwords = Passwords()
    hashes: dict[str, str] = {}
    for password in {a.password for a in export.accounts if a.password is not None}:
        hashes[password] = passwords.hash(password)
    accounts = [
        a if a.password is None else a.model_copy(update={"password": None, "password_hash": hashes[a.password]})
        for a in export.accounts
    ]
    return export.model_copy(update={"accounts": accounts})


@dataclass(frozen=True)
class PreparedDemo:
    dataset: DemoDataset
    export: DamancomExport
    """the dataset's export, its passwords hashed once (``hashed_once``)"""


def prepared_demo(affiliates: int, seed: int) -> PreparedDemo:
    """What needs neither database nor broker: the data and its one argon2id hash. The launcher makes
    it on a thread while the services start (``services/cli.py``)."""
    dataset = generate(affiliates, seed)
    return PreparedDemo(dataset, hashed_once(dataset.export))


async def seed_demo(
    auth_database_url: str,
    debits_database_url: str,
    bootstrap: str,
    prepared: PreparedDemo,
    *,
    broker_down: BrokerDown | None = None,
) -> DemoDataset:
    """Accounts and bank accounts go to the databases (their events leave by the outboxes, which
    survive a broker's death); the ledger goes to the broker directly, tried again while it fails."""
    dataset = prepared.dataset
    await import_export(auth_database_url, prepared.export)
    await import_bank_accounts(debits_database_url, [asdict(b) for b in dataset.bank_accounts])
    await publish_ledger(bootstrap, dataset, broker_down)
    return dataset
