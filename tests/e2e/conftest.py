"""The whole stack as a newcomer runs it: ``recouvrement run`` in a process, services in theirs."""

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from services.stack.embedded import free_ports
from services.stack.provisioning import database_url
from tests.e2e.otlp_receiver import OtlpReceiver

# Demo affiliates (20 generated, seed 2024) with penalties to remit, and the perception's rule for each.
REFUSED_BY_PERCEPTION = "1000111"
IGNORED_BY_PERCEPTION = "1000115"
# ... and the reference bank's: one affiliate's debits are always rejected AC04 (account closed: no
# re-presentation), another's first attempt of each debit AM04 (insufficient funds: presented again).
REJECTED_BY_BANK = "1000002"
REJECTED_ONCE_BY_BANK = "1000118"
# ... and one affiliate whose guarantees nobody deposits but the test, by hand, and whose debits are
# rejected AM04 once each (the notifications flow: a reminder, the deposit, a rejection, completion).
NOTIFIED = "1000107"


@dataclass
class RunningStack:
    process: subprocess.Popen[str]
    env: dict[str, str]
    data_dir: Path
    auth: str
    debt: str
    simulation: str
    requests: str
    debits: str
    bootstrap: str
    output: list[str]
    urls: dict[str, str]
    """every process the launcher serves, partners included"""

    def last_words(self, lines: int = 40) -> str:
        """What a failed test needs when the stack is gone: the launcher's end and each log's errors."""
        said = "".join(self.output[-lines:])
        errors = []
        for log in sorted((self.data_dir / "logs").glob("*.log")):
            bad = [line for line in log.read_text(errors="replace").splitlines() if '"level": "ERROR"' in line]
            errors += [f"{log.name}: {line}" for line in bad[-5:]]
        return said + "\n".join(errors)


def operator_command(stack: "RunningStack", database: str, *args: str, timeout: float = 180) -> str:
    """``recouvrement <args>`` as an operator runs it, on the service's own database; its output."""
    pg = stack.env.get("DATABASE_URL") or f"postgresql://postgres@127.0.0.1:{stack.env['RECOUVREMENT_PG_PORT']}"
    done = subprocess.run(
        [sys.executable, "-m", "services.cli", *args],
        env=stack.env | {"DATABASE_URL": database_url(pg, database), "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def start_stack(env: dict[str, str], timeout: float = 300) -> tuple[subprocess.Popen[str], list[str]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "services.cli", "run"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    output: list[str] = []
    stdout = process.stdout
    # A thread reads the launcher's lines as they come (select() cannot see lines already buffered).
    threading.Thread(target=lambda: output.extend(iter(stdout.readline, "")), daemon=True).start()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        if any("Ctrl-C" in line for line in list(output)):
            return process, output
        time.sleep(0.1)
    process.send_signal(signal.SIGINT)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
    raise AssertionError("the stack did not start:\n" + "".join(output))


def stop_stack(process: subprocess.Popen[str], timeout: float = 60) -> int:
    process.send_signal(signal.SIGINT)
    return process.wait(timeout)


@pytest.fixture(scope="package")
def otlp() -> Iterator[OtlpReceiver]:
    receiver = OtlpReceiver()
    receiver.start()
    yield receiver
    receiver.stop()


LOGINS_UNLIMITED = {
    "LOGIN_BURST_PER_ADDRESS": "1000000",
    "LOGIN_RATE_PER_ADDRESS": "1000000",
    "LOGIN_BURST_PER_LOGIN": "1000000",
    "LOGIN_RATE_PER_LOGIN": "1000000",
    "LOGIN_IN_FLIGHT_PER_ADDRESS": "1000000",
}

STACK_NAMES = ("auth", "debt", "simulation", "requests", "debits", "notifications", "portal", "perception", "bank")


def launch(data_dir: Path, otlp: OtlpReceiver, rules: dict[str, str] | None = None) -> RunningStack:
    """``recouvrement run`` on free ports in ``data_dir``; ``rules`` set the partners' answers."""
    names = (*STACK_NAMES, "pg", "kafka", "mail")
    ports = dict(zip(names, free_ports(len(names)), strict=True))
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS")}
    env |= {
        "RECOUVREMENT_DATA_DIR": str(data_dir),
        **{f"RECOUVREMENT_{name.upper()}_PORT": str(ports[name]) for name in STACK_NAMES},
        "RECOUVREMENT_PG_PORT": str(ports["pg"]),
        "RECOUVREMENT_KAFKA_PORT": str(ports["kafka"]),
        "RECOUVREMENT_MAIL_PORT": str(ports["mail"]),
        "RECOUVREMENT_DEMO_AFFILIATES": "20",
        # The tests replay months ahead (requests sweep --date): their ledger entries are dated then.
        "LEDGER_DAYS_AHEAD": "400",
        "OTEL_EXPORTER_OTLP_ENDPOINT": otlp.endpoint,
        **(rules or {}),
    }
    for name in ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS"):
        if name in os.environ:  # external infrastructure: the stack uses it instead of embedded ones
            env[name] = os.environ[name]
    process, output = start_stack(env)
    return RunningStack(
        process=process,
        env=env,
        data_dir=data_dir,
        auth=f"http://127.0.0.1:{ports['auth']}",
        debt=f"http://127.0.0.1:{ports['debt']}",
        simulation=f"http://127.0.0.1:{ports['simulation']}",
        requests=f"http://127.0.0.1:{ports['requests']}",
        debits=f"http://127.0.0.1:{ports['debits']}",
        urls={name: f"http://127.0.0.1:{ports[name]}" for name in STACK_NAMES},
        bootstrap=env.get("KAFKA_BOOTSTRAP_SERVERS", f"127.0.0.1:{ports['kafka']}"),
        output=output,
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """A test that fails on a stack that has stopped says why the stack stopped."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if report.failed:
        for value in getattr(item, "funcargs", {}).values():
            if isinstance(value, RunningStack) and value.process.poll() is not None:
                report.sections.append(("the stack had stopped", value.last_words()))


# Package scope: the stack stops when the last test of this folder is done, so its eight processes
# do not share the machine with the tests that come after (on two cores they slowed them to failing).
@pytest.fixture(scope="package")
def stack(tmp_path_factory: pytest.TempPathFactory, otlp: OtlpReceiver) -> Iterator[RunningStack]:
    rules = {
        # the reference perception refuses one affiliate's guarantees and never answers another's
        "PERCEPTION_RULES": f"{REFUSED_BY_PERCEPTION}=refuse,{IGNORED_BY_PERCEPTION}=ignore,{NOTIFIED}=ignore",
        "BANK_RULES": f"{REJECTED_BY_BANK}=AC04,{REJECTED_ONCE_BY_BANK}=AM04-once,{NOTIFIED}=AM04-once",
        # every e2e test logs in from 127.0.0.1, often as the same demo logins: auth's flood limits
        # are proven on the faults stack (tests/faults/test_login_flood.py), which keeps the defaults
        **LOGINS_UNLIMITED,
    }
    running = launch(tmp_path_factory.mktemp("stack"), otlp, rules)
    yield running
    if running.process.poll() is None:
        stop_stack(running.process)
