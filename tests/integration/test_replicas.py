"""A service as several processes (``RECOUVREMENT_<SERVICE>_REPLICAS``, issue 14): the launcher's
replicas share the service's port and its consumer groups, each answers alone on its own port, and
one dying leaves the port served and its partitions to the others until it is restarted."""

import collections
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from contracts.topics import AUTH_AFFILIATES, REQUESTS_EVENTS
from services.stack.embedded import free_ports
from services.stack.launcher import Stack, StackConfig
from tests.conftest import Infra

pytestmark = pytest.mark.integration

CONNECTIONS = 40


@pytest.fixture
def debt_twice(infra: Infra, tmp_path: Path) -> Iterator[tuple[Stack, dict[str, int]]]:
    shared, first, second = free_ports(3)
    config = StackConfig(
        data_dir=tmp_path,
        ports={"debt": first, "debt-2": second},
        shared={"debt": shared},
        external_database_url=infra.postgres_url,
        external_kafka=infra.bootstrap,
        seed_demo=False,
    )
    stack = Stack(config)
    stack.start(lambda _: None)
    try:
        yield stack, {"shared": shared, "debt": first, "debt-2": second}
    finally:
        stack.stop()


def details(port: int) -> dict[str, object]:
    # a new connection each time: the kernel chooses the replica per connection
    return httpx.get(f"http://127.0.0.1:{port}/health/details", timeout=5).json()  # type: ignore[no-any-return]


def wait_for(check: object, timeout: float = 40.0) -> object:
    deadline = time.monotonic() + timeout
    while True:
        value = check()  # type: ignore[operator]
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


def split_between(ports: list[int]) -> bool:
    """Every partition of two of debt's topics is held by exactly one of these processes."""
    held = [details(port)["partitions"] for port in ports]
    for topic in (REQUESTS_EVENTS, AUTH_AFFILIATES):
        parts = [p for h in held for p in h.get(topic.name, [])]  # type: ignore[attr-defined]
        if sorted(parts) != list(range(3)):  # the tests' broker: three partitions per topic
            return False
    return True


def test_replicas_share_the_port_and_the_partitions_and_survive_one_dying(
    debt_twice: tuple[Stack, dict[str, int]],
) -> None:
    stack, ports = debt_twice
    alone = {name: details(ports[name])["instance"] for name in ("debt", "debt-2")}
    assert alone["debt"] != alone["debt-2"]
    assert alone["debt"].endswith(f"/{stack.processes['debt'].pid}")  # type: ignore[union-attr]

    answered = collections.Counter(details(ports["shared"])["instance"] for _ in range(CONNECTIONS))
    assert set(answered) == set(alone.values())
    assert min(answered.values()) >= CONNECTIONS // 8, answered  # spread by the kernel, not one taking all

    assert wait_for(lambda: split_between([ports["debt"], ports["debt-2"]])), [
        details(ports[n])["partitions"] for n in ("debt", "debt-2")
    ]
    assert all(details(ports[n])["partitions"] for n in ("debt", "debt-2"))  # both got a share

    os.kill(stack.processes["debt"].pid, signal.SIGKILL)
    stack.processes["debt"].wait(5)
    survivors = collections.Counter(details(ports["shared"])["instance"] for _ in range(CONNECTIONS))
    assert survivors == {alone["debt-2"]: CONNECTIONS}  # no connection refused, none lost to the dead one
    assert wait_for(lambda: split_between([ports["debt-2"]])), details(ports["debt-2"])["partitions"]

    assert stack.supervise(lambda _: None) == ["debt"]  # first death: restarted at once
    restarted = wait_for(lambda: _instance(ports["debt"]))
    assert restarted and restarted != alone["debt"]
    assert wait_for(lambda: split_between([ports["debt"], ports["debt-2"]]))


def _instance(port: int) -> object:
    try:
        return details(port)["instance"]
    except httpx.HTTPError:
        return None
