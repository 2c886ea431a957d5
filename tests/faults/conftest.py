"""Hostile and careless inputs, each sent through the public door of a real embedded stack.

The faults get a stack of their own: what they leave behind (dead letters, parked rows, locked
logins) must not be seen by the e2e tests that assert a clean stack.
"""

from collections.abc import Iterator

import pytest

from tests.e2e.conftest import RunningStack, launch, stop_stack
from tests.e2e.otlp_receiver import OtlpReceiver


@pytest.fixture(scope="package")
def faults_otlp() -> Iterator[OtlpReceiver]:
    receiver = OtlpReceiver()
    receiver.start()
    yield receiver
    receiver.stop()


# Package scope: the stack stops when the last test of this folder is done, so its eight processes
# do not share the machine with the tests that come after (on two cores they slowed them to failing).
@pytest.fixture(scope="package")
def faults_stack(tmp_path_factory: pytest.TempPathFactory, faults_otlp: OtlpReceiver) -> Iterator[RunningStack]:
    running = launch(tmp_path_factory.mktemp("faults-stack"), faults_otlp)
    yield running
    if running.process.poll() is None:
        stop_stack(running.process)
