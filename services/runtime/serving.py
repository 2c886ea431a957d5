"""How every process of the stack serves its app: one place for uvicorn's options."""

import gc
import socket
import sys
from collections.abc import Callable
from typing import Any

STARTUP_FAILURE = 3
"""uvicorn's exit code when the app did not start (its lifespan failed)"""

YOUNG_COLLECTION_THRESHOLD = 20_000
"""Allocations between two collections of CPython's youngest generation (its default: 700)."""


def built_then_settled(factory: str) -> Callable[[], Any]:
    """The app factory as uvicorn calls it, followed by the garbage collector's settings for a
    long-running service. Measured under the flows bench (1,000 flows, 100 in flight, 2026-12-07)
    with CPython's defaults, the collector took 7-19 % of each service's CPU: requests made 1,306
    young, 118 middle and 10 full collections in 30 s, and each full one walked every object its
    imports left (FastAPI's and pydantic's schemas, OpenTelemetry, aiokafka), which never become
    garbage. So, once the app is built: ``gc.freeze()`` moves what exists to a generation no
    collection walks (what the Python docs advise for servers), and the youngest generation is
    collected every 20,000 allocations instead of 700: most of a request's objects are freed by
    their reference counts before a collection, so each walks about as many survivors and they
    come 30 times less often (0.4-2 % of the CPU in the same bench). Only cyclic garbage waits
    longer for its collection."""

    def build() -> Any:
        from uvicorn.importer import import_from_string

        app = import_from_string(factory)()
        gc.freeze()
        _, middle, oldest = gc.get_threshold()
        gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, middle, oldest)
        return app

    return build


def serve(factory: str, host: str, port: int, shared_port: int | None = None) -> None:
    """Runs ``factory`` ("module:function" building the app) with uvicorn: our JSON logs
    (``log_config=None``), and 10 s for requests in flight when asked to stop.

    ``shared_port``: the port every replica of the service listens on (``RECOUVREMENT_<SERVICE>_REPLICAS``),
    each with its own socket in one ``SO_REUSEPORT`` group, so the kernel spreads the connections
    evenly, as a Kubernetes Service would. (One socket inherited by all was tried first: whichever
    process woke first accepted a whole burst of connections.) The replica also serves ``port``
    alone, so that its health and its metrics are asked of it, not of whichever replica accepts."""
    import uvicorn  # here: the command line starts without loading the server

    app = built_then_settled(factory)
    if shared_port is None:
        uvicorn.run(app, factory=True, host=host, port=port, log_config=None, timeout_graceful_shutdown=10)
        return
    config = uvicorn.Config(app, factory=True, host=host, port=port, log_config=None, timeout_graceful_shutdown=10)
    server = uvicorn.Server(config)
    server.run(sockets=[reuse_port_socket(host, shared_port), config.bind_socket()])
    if not server.started:  # as uvicorn.run: the launcher sees a replica that could not start
        sys.exit(STARTUP_FAILURE)


def reuse_port_socket(host: str, port: int, *, reuse_address: bool = True) -> socket.socket:
    """Bound, not listening: asyncio listens when it serves it. The launcher binds one too and never
    listens on it, which keeps the port from any process outside the group (only sockets of the same
    user with ``SO_REUSEPORT`` may join, and only listening ones are given connections). The
    launcher's own socket is made without ``SO_REUSEADDR`` (``reuse_address=False``): with it, a
    process of another user setting ``SO_REUSEADDR`` could bind the port while no replica listens."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    if reuse_address:  # a replica restarting binds at once; the launcher's socket does without it
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock
