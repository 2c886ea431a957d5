"""The launcher refuses what would make a stack look ready without one of its services."""

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from services.stack.embedded import free_ports
from services.stack.launcher import (
    PARTNER_PORTS,
    SERVICE_PORTS,
    Child,
    Stack,
    StackConfig,
    _child_setup,
    listing,
    service_urls,
)
from services.stack.logs import LogRotation
from services.stack.settings import consumes_only, service_of


def test_two_processes_given_one_port_are_refused_before_anything_starts(tmp_path: Path) -> None:
    ports = dict(SERVICE_PORTS) | PARTNER_PORTS | {"debt": SERVICE_PORTS["auth"]}
    with pytest.raises(ValueError, match=f"le port {SERVICE_PORTS['auth']} est donné à la fois à auth et à debt"):
        StackConfig(data_dir=tmp_path, ports=ports)
    with pytest.raises(ValueError, match="à la fois à portal et à kafka"):
        StackConfig(data_dir=tmp_path, kafka_port=SERVICE_PORTS["portal"])


def test_an_external_broker_frees_the_embedded_ones_port(tmp_path: Path) -> None:
    config = StackConfig(data_dir=tmp_path, kafka_port=SERVICE_PORTS["portal"], external_kafka="kafka:9092")
    assert config.external_kafka == "kafka:9092"


def test_free_ports_are_distinct() -> None:
    ports = free_ports(64)
    assert len(set(ports)) == 64
    assert all(1024 <= port <= 65535 for port in ports)


class _AnswersAsAuth(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps({"status": "ok", "service": "auth"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def auth_on_a_port() -> Iterator[int]:
    server = HTTPServer(("127.0.0.1", 0), _AnswersAsAuth)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_a_health_answer_from_another_service_is_not_taken_for_ready(tmp_path: Path, auth_on_a_port: int) -> None:
    # What happened in CI: debt was told auth's port, died on bind, and auth's answer made it "ready".
    stack = Stack(StackConfig(data_dir=tmp_path, ports={"debt": auth_on_a_port}))
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    stack.processes["debt"] = alive
    try:
        with pytest.raises(RuntimeError, match=f"le port {auth_on_a_port} de debt est tenu par un autre processus"):
            stack._wait_ready(timeout=10)
    finally:
        alive.kill()
        alive.wait()


def test_the_launcher_reads_its_settings_like_a_service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECOUVREMENT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("recouvrement_debt_port", "18102")  # case-insensitive, as every service's settings
    monkeypatch.setenv("RECOUVREMENT_SEED_DEMO", "no")
    monkeypatch.setenv("DATABASE_URL", "")  # empty is unset: the embedded Postgres
    config = StackConfig.from_env()
    assert (config.data_dir, config.ports["debt"], config.ports["auth"]) == (tmp_path.resolve(), 18102, 8101)
    assert (config.seed_demo, config.external_database_url) == (False, None)


def test_a_typo_in_a_launcher_variable_stops_the_start() -> None:
    # before: anything but 0/false/no meant "seed", and "nom" seeded the demo into a stack meant empty
    with pytest.raises(ValueError, match="RECOUVREMENT_SEED_DEMO"):
        StackConfig.from_env({"RECOUVREMENT_SEED_DEMO": "nom"})
    with pytest.raises(ValueError, match="RECOUVREMENT_PG_PORT"):
        StackConfig.from_env({"RECOUVREMENT_PG_PORT": "15432x"})


def test_a_child_that_keeps_dying_young_waits_longer_each_time_and_one_that_lived_is_restarted_at_once() -> None:
    child = Child(started_at=0.0)
    delays = []
    for _ in range(8):
        delays.append(child.died(child.started_at + 1.0))
        child.restarted(child.restart_due or 0.0)
    assert delays == [0.0, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    assert child.died(child.started_at + 120.0) == 0.0  # it had lived two minutes: a fresh start


def test_the_supervisor_restarts_a_killed_child_and_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stack = Stack(StackConfig(data_dir=tmp_path, ports={"debt": 1}))
    spawned: list[subprocess.Popen[bytes]] = []

    def spawn(name: str, command: list[str]) -> subprocess.Popen[bytes]:
        assert (name, command) == ("debt", ["serve", "debt"])
        spawned.append(subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]))
        return spawned[-1]

    monkeypatch.setattr(stack, "_spawn", spawn)
    stack.processes["debt"] = spawn("debt", ["serve", "debt"])
    stack.children["debt"] = Child()
    said: list[str] = []
    try:
        assert stack.supervise(said.append) == []
        spawned[0].kill()
        spawned[0].wait()
        assert stack.supervise(said.append) == ["debt"]  # first death: at once
        assert stack.processes["debt"] is spawned[1] and spawned[1].poll() is None
        spawned[1].kill()
        spawned[1].wait()
        assert stack.supervise(said.append) == []  # died young: one second first
        assert stack.supervise(said.append, now=time.monotonic() + 1.1) == ["debt"]
        assert stack.restarts == {"debt": 2}
        assert said[0].startswith("debt s'est arrêté (code -9) ; redémarrage dans 0 s")
        assert said[-1] == "debt redémarré (redémarrages depuis le lancement : 2)"
    finally:
        for process in spawned:
            process.kill()
            process.wait()


LISTENING = """
import signal, sys, time
signal.signal(signal.SIGUSR1, lambda *_: print("looking at the broker now", flush=True))
print("listening", flush=True)
time.sleep(30)
"""


def test_after_restarting_its_broker_the_launcher_tells_every_child_and_none_dies_of_it(tmp_path: Path) -> None:
    """A service listening (its platform up) is told; a child that does not listen (a partner, a
    service still starting) keeps running: it inherited the launcher's ``SIG_IGN``, where SIGUSR1's
    default action would have killed it."""
    stack = Stack(StackConfig(data_dir=tmp_path, ports={"debt": 1, "bank": 2}))
    # spawned as the launcher spawns (no thread runs in this test, as none in the launcher then)
    listening = [sys.executable, "-c", LISTENING]
    service = subprocess.Popen(listening, stdout=subprocess.PIPE, text=True, preexec_fn=_child_setup)  # noqa: PLW1509
    deaf = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"], preexec_fn=_child_setup)  # noqa: PLW1509
    stack.processes |= {"debt": service, "bank": deaf}
    try:
        assert service.stdout is not None and service.stdout.readline().strip() == "listening"
        stack.tell_broker_replaced()
        assert service.stdout.readline().strip() == "looking at the broker now"
        time.sleep(0.3)
        assert (service.poll(), deaf.poll()) == (None, None)
    finally:
        for process in (service, deaf):
            process.kill()
            process.wait()


def test_a_log_grown_past_its_bound_is_rotated_under_its_running_writer(tmp_path: Path) -> None:
    """The child keeps its file open for appending: after the copy and the truncation its next line
    lands at the start of the emptied file; three copies at most are kept."""
    logs = tmp_path / "logs"
    logs.mkdir()
    stack = Stack(StackConfig(data_dir=tmp_path, ports={}, logs=LogRotation(max_bytes=100, keep=2)))
    path = logs / "debt.log"
    writer = subprocess.Popen(
        [sys.executable, "-u", "-c", "import sys\nfor line in sys.stdin: print(line, end='', flush=True)"],
        stdin=subprocess.PIPE,
        stdout=path.open("ab"),
        text=True,
    )
    assert writer.stdin is not None

    def write(text: str) -> None:
        assert writer.stdin is not None
        writer.stdin.write(text)
        writer.stdin.flush()
        deadline = time.monotonic() + 5
        while text.rstrip("\n").encode() not in path.read_bytes() and time.monotonic() < deadline:
            time.sleep(0.01)

    try:
        write("a" * 80 + "\n")
        assert stack.supervise(lambda _: None) == [] and not (logs / "debt.log.1").exists()  # under the bound
        for round_ in ("b", "c", "d"):
            write(round_ * 120 + "\n")
            stack.supervise(lambda _: None)
            assert path.stat().st_size == 0
            write(f"after {round_}\n")
            assert path.read_text() == f"after {round_}\n"  # the writer goes on at the start, no hole
        assert (logs / "debt.log.1").read_text().startswith("after c\n" + "d" * 120)
        assert "c" * 120 in (logs / "debt.log.2").read_text()
        assert not (logs / "debt.log.3").exists()  # keep=2: the oldest went
    finally:
        writer.stdin.close()
        writer.wait(5)


def test_a_split_service_runs_as_an_http_process_and_an_events_process(tmp_path: Path) -> None:
    """``RECOUVREMENT_EVENTS_PROCESSES=requests``: the HTTP process consumes nothing, the second one,
    on the port + 10 and the same database, consumes requests' topics (issue 14)."""
    config = StackConfig.from_env({"RECOUVREMENT_DATA_DIR": str(tmp_path), "RECOUVREMENT_EVENTS_PROCESSES": "requests"})
    assert config.split == ("requests",)
    assert config.ports["requests-events"] == SERVICE_PORTS["requests"] + 10
    stack = Stack(config)
    stack.database_server_url = "postgresql://postgres@127.0.0.1:1"
    http, events = stack.service_env("requests"), stack.service_env("requests-events")
    assert (http["CONSUME_EVENTS"], http["HTTP_PORT"]) == ("false", str(SERVICE_PORTS["requests"]))
    assert (events["CONSUME_EVENTS"], events["HTTP_PORT"]) == ("true", str(SERVICE_PORTS["requests"] + 10))
    assert events["DATABASE_URL"] == http["DATABASE_URL"]
    assert events["QUOTE_PUBLIC_KEY_FILES"] == http["QUOTE_PUBLIC_KEY_FILES"]
    assert Stack._command("requests-events") == ["serve", "requests"]
    assert "CONSUME_EVENTS" not in stack.service_env("debt")  # not split: one process does both


def test_an_unknown_service_to_split_stops_the_start(tmp_path: Path) -> None:
    for value in ("request", "portal", "requests,bank"):
        with pytest.raises(ValueError, match="services inconnus"):
            StackConfig.from_env({"RECOUVREMENT_DATA_DIR": str(tmp_path), "RECOUVREMENT_EVENTS_PROCESSES": value})
    assert StackConfig.from_env({"RECOUVREMENT_DATA_DIR": str(tmp_path)}).split == ()


def replicated(tmp_path: Path, **env: str) -> StackConfig:
    return StackConfig.from_env({"RECOUVREMENT_DATA_DIR": str(tmp_path), **env})


def test_replicas_share_the_services_port_and_each_answers_alone_on_its_own(tmp_path: Path) -> None:
    """``RECOUVREMENT_REQUESTS_REPLICAS=2`` (issue 14): both replicas listen on 8104; ``requests``
    answers alone on 8204, ``requests-2`` on 8304, so each one's health is its own."""
    config = replicated(tmp_path, RECOUVREMENT_REQUESTS_REPLICAS="2")
    assert config.shared == {"requests": SERVICE_PORTS["requests"]}
    assert (config.ports["requests"], config.ports["requests-2"]) == (8204, 8304)
    assert config.traffic_port("requests") == 8104 and config.traffic_port("debt") == SERVICE_PORTS["debt"]
    assert [name for name in config.ports if name.startswith("requests")] == ["requests", "requests-2"]

    stack = Stack(config)
    stack.database_server_url = "postgresql://postgres@127.0.0.1:1"
    first, second = stack.service_env("requests"), stack.service_env("requests-2")
    assert (first["HTTP_PORT"], second["HTTP_PORT"]) == ("8204", "8304")
    assert first["HTTP_SHARED_PORT"] == second["HTTP_SHARED_PORT"] == "8104"
    assert first["DATABASE_URL"] == second["DATABASE_URL"]  # one service: its database, its groups
    assert "CONSUME_EVENTS" not in second  # each replica serves and consumes (the group splits partitions)
    assert Stack._command("requests-2") == ["serve", "requests"]
    assert stack.service_env("portal")["REQUESTS_URL"] == "http://127.0.0.1:8104"
    assert "HTTP_SHARED_PORT" not in stack.service_env("debt")
    assert service_urls(config)["requests"] == "http://127.0.0.1:8104"
    assert set(service_urls(config)) == set(SERVICE_PORTS) | set(PARTNER_PORTS)  # one URL per service


def test_replicas_of_a_split_service_double_both_kinds_of_process(tmp_path: Path) -> None:
    config = replicated(tmp_path, RECOUVREMENT_REQUESTS_REPLICAS="2", RECOUVREMENT_EVENTS_PROCESSES="requests")
    assert {name: port for name, port in config.ports.items() if service_of(name) == "requests"} == {
        "requests": 8204,
        "requests-2": 8304,
        "requests-events": 8114,
        "requests-events-2": 8214,
    }
    stack = Stack(config)
    stack.database_server_url = "postgresql://postgres@127.0.0.1:1"
    http, events = stack.service_env("requests-2"), stack.service_env("requests-events-2")
    assert (http["CONSUME_EVENTS"], http["HTTP_SHARED_PORT"]) == ("false", "8104")
    assert (events["CONSUME_EVENTS"], "HTTP_SHARED_PORT" in events) == ("true", False)  # takes no HTTP traffic
    assert events["HTTP_PORT"] == "8214"
    lines = listing(config)
    assert any("requests-events-2" in line and "8214" in line and "consomme" in line for line in lines)
    assert any(line.split()[:2] == ["requests-2", "http://127.0.0.1:8304"] for line in lines)


def test_a_replica_count_out_of_bounds_stops_the_start(tmp_path: Path) -> None:
    for value in ("0", "9", "deux", "-1"):
        with pytest.raises(ValueError, match="RECOUVREMENT_DEBT_REPLICAS"):
            replicated(tmp_path, RECOUVREMENT_DEBT_REPLICAS=value)
    for typo in ("RECOUVREMENT_REQUEST_REPLICAS", "RECOUVREMENT_BANK_REPLICAS"):  # ignored, it would run one
        with pytest.raises(ValueError, match=f"{typo} : service inconnu"):
            replicated(tmp_path, **{typo: "2"})


def test_a_replicas_port_taken_by_another_process_is_refused(tmp_path: Path) -> None:
    """The portal on 8004 with two replicas would answer alone on 8104, requests' port; the portal
    on 8104 would take the port requests' replicas share: both refused before anything starts."""
    portal_twice = {"RECOUVREMENT_PORTAL_PORT": "8004", "RECOUVREMENT_PORTAL_REPLICAS": "2"}
    with pytest.raises(ValueError, match=r"le port 8104 est donné à la fois à requests et à portal$"):
        replicated(tmp_path, **portal_twice)
    with pytest.raises(ValueError, match=r"le port 8104 est donné à la fois à portal et à requests \(port partagé\)"):
        replicated(tmp_path, RECOUVREMENT_REQUESTS_REPLICAS="2", RECOUVREMENT_PORTAL_PORT="8104")


def test_process_names_say_their_service() -> None:
    assert [service_of(n) for n in ("requests", "requests-2", "requests-events", "requests-events-12")] == [
        "requests"
    ] * 4
    assert [consumes_only(n) for n in ("requests-2", "requests-events", "requests-events-2")] == [False, True, True]


def test_what_the_launcher_gives_a_process_is_written_down_for_its_user_only(tmp_path: Path) -> None:
    stack = Stack(StackConfig(data_dir=tmp_path, ports={"debt": 1}))
    stack._write_down("debt", dict(os.environ) | {"DATABASE_URL": "postgresql://x/debt", "HTTP_PORT": "1"})
    written = tmp_path / "run" / "debt.env"
    assert written.read_text() == "DATABASE_URL=postgresql://x/debt\nHTTP_PORT=1\n"  # only what differs
    assert written.stat().st_mode & 0o777 == 0o600 and (tmp_path / "run").stat().st_mode & 0o777 == 0o700
