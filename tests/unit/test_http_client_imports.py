"""A call through the portal's HTTP client searches for no module.

httpcore asks which async library runs it with ``import sniffio`` inside a function, several times
per request, and falls back to asyncio when the import fails. anyio stopped depending on sniffio
(anyio#1021), and Python does not remember a failed import: each call searched every folder of
``sys.path`` again, 38 µs a time on this machine, and a page of the portal paid it for each of its
calls to the services (8 % of the portal's samples under ``bench.portal_pages``, py-spy, 2026-12-08;
encode/httpcore#1103). sniffio is a dependency of ours since, pinned in ``uv.lock``.

Against a real server on the loopback (the portal's client, keep-alive connections, as it calls the
services), not a stand-in transport: the searches happen in httpcore's connection pool."""

import asyncio
import importlib.abc
import sys
from collections.abc import Sequence
from types import ModuleType

from services.portal.api import Services
from services.portal.config import PortalSettings

ANSWER = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"


class Searches(importlib.abc.MetaPathFinder):
    """Records every module Python looks for on disk (a module already imported is not looked for)."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def find_spec(self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None) -> None:
        self.names.append(fullname)


async def _serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while await reader.readuntil(b"\r\n\r\n"):
            writer.write(ANSWER)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionResetError):
        pass
    writer.close()


async def _searched_during_calls(calls: int) -> list[str]:
    server = await asyncio.start_server(_serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    searches = Searches()
    async with server, Services.client_for(PortalSettings()) as client:
        await client.get(f"http://127.0.0.1:{port}/")  # what a first call imports is not the point
        sys.meta_path.insert(0, searches)
        try:
            for _ in range(calls):
                answer = await client.get(f"http://127.0.0.1:{port}/v1/anything")
                assert answer.status_code == 200 and answer.json() == {}
            await asyncio.gather(*(client.get(f"http://127.0.0.1:{port}/v1/at-once") for _ in range(4)))
        finally:
            sys.meta_path.remove(searches)
    return searches.names


def test_calls_through_the_portals_client_search_for_no_module() -> None:
    assert asyncio.run(_searched_during_calls(5)) == []
