"""The stack's first processes, forked from a launcher that has already imported what they all import.

Every service and partner process imports the same libraries before its own code (FastAPI,
pydantic, FastStream, aiokafka, OpenTelemetry, asyncpg, uvicorn...): 2.3-3.1 s of CPU each, then
0.2-0.5 s for the service's own modules (measured 2026-12-07, ``python -X importtime``). Nine such
interpreters on two cores spent about 15 s of ``make run``'s start importing the same files nine
times. The launcher imports them once, on a thread while Postgres and the broker start, and forks
each process from there: it begins with them in memory (shared with the launcher until written).

A fork copies one thread only, with every lock as it was: a lock another thread held at that moment
stays held forever in the child. So a process is forked only while the launcher has no other thread
(``fork`` answers ``None`` otherwise, and the caller spawns a new interpreter as before): the
stack's first start forks every process before the mail relay's and the demo data's threads exist;
a process the supervisor restarts later is spawned afresh.
"""

import atexit
import contextlib
import gc
import importlib
import os
import runpy
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import NoReturn, Protocol

from setproctitle import setproctitle

PRELOADED = (
    "pydantic",
    "pydantic_settings",
    "fastapi",
    "fastapi.routing",
    "starlette.middleware.base",
    "faststream.kafka",
    "aiokafka",
    "asyncpg",
    "uvicorn.main",
    "uvicorn.protocols.http.httptools_impl",
    "opentelemetry.sdk.trace",
    "opentelemetry.sdk.trace.export",
    "opentelemetry.exporter.otlp.proto.http.trace_exporter",
    "opentelemetry.instrumentation.asyncpg",
    "cryptography.hazmat.primitives.asymmetric.ed25519",
    "jwt",
    "prometheus_client",
    "httpx",
    "aiosql",
    "multipart",
    "typer",
)
"""third-party modules only: none reads the environment at import (ours do, in their settings, which
each child builds after its environment is set)"""


class Process(Protocol):
    """What the launcher asks of a child, as ``subprocess.Popen`` offers it."""

    @property
    def pid(self) -> int: ...

    def poll(self) -> int | None: ...

    def wait(self, timeout: float | None = None) -> int: ...

    def send_signal(self, sig: int) -> None: ...

    def kill(self) -> None: ...


class Forked:
    """A child this process forked: ``Popen``'s answers (negative code: the signal that ended it)."""

    def __init__(self, pid: int, args: Sequence[str]) -> None:
        self.pid = pid
        self.args = list(args)
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:  # reaped elsewhere: gone, its code unknown
                self.returncode = -signal.SIGKILL
                return self.returncode
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while (code := self.poll()) is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(self.args, timeout or 0)
            time.sleep(0.02)
        return code

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


class Preloader:
    """Imports ``PRELOADED`` on a thread of its own, so that the launcher's start goes on meanwhile."""

    def __init__(self, modules: Sequence[str] = PRELOADED) -> None:
        self._thread = threading.Thread(target=self._load, args=(modules,), name="preload", daemon=True)
        self._thread.start()

    @staticmethod
    def _load(modules: Sequence[str]) -> None:
        for module in modules:
            with contextlib.suppress(ImportError):  # a library gone from the lock: its processes import it later
                importlib.import_module(module)

    def done(self) -> None:
        """Waits for the imports: once this returns, the thread is gone."""
        self._thread.join()


def fork(
    module: str, command: Sequence[str], env: Mapping[str, str], log_path: Path, setup: Callable[[], None]
) -> Forked | None:
    """``python -m module *command`` in a forked child writing to ``log_path``, with exactly ``env`` as
    its environment and ``setup`` run first; ``None`` (nothing forked) while another thread runs here."""
    if threading.active_count() > 1:
        return None
    sys.stdout.flush()  # else what the launcher had not yet written would be written by the child too
    sys.stderr.flush()
    gc.collect()  # the launcher's garbage is collected here, not in a child that would close its files
    gc.freeze()  # and what is left is never walked by a child's collector: its pages stay shared
    pid = os.fork()
    if pid:
        return Forked(pid, command)
    _child(module, command, env, log_path, setup)


def _child(
    module: str, command: Sequence[str], env: Mapping[str, str], log_path: Path, setup: Callable[[], None]
) -> NoReturn:
    code = 1
    try:
        atexit._clear()  # the launcher's own (an embedded server's cleanup) are not the child's to run
        os.setsid()
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_DFL)  # the launcher's handlers raise into its own loop
        log = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.closerange(3, os.sysconf("SC_OPEN_MAX"))  # the launcher's sockets, pipes and logs, as Popen does
        sys.stdout = open(1, "w", buffering=1, encoding="utf-8", errors="backslashreplace", closefd=False)  # noqa: SIM115
        sys.stderr = open(2, "w", buffering=1, encoding="utf-8", errors="backslashreplace", closefd=False)  # noqa: SIM115
        # ``ps`` and ``top`` show what a spawned child would show, not the launcher's command line
        setproctitle(" ".join([sys.executable, "-m", module, *command]))
        setup()
        os.environ.clear()
        os.environ.update(env)
        sys.argv = [module, *command]
        runpy.run_module(module, run_name="__main__", alter_sys=True)  # as ``python -m`` would
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        traceback.print_exc()
    finally:
        with contextlib.suppress(BaseException):
            atexit._run_exitfuncs()  # the child's own: its spans' last export, its logs' flush
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)  # never back into the launcher's frames
