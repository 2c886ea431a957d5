"""The embedded stack's mail relay (``recouvrement run``): an SMTP server (``aiosmtpd``) on
127.0.0.1 that keeps every mail it is given as a ``.eml`` file in ``<data dir>/mail/``, where a
developer reads what the affiliates would have received. Development only: production settings point
notifications at a real relay (``SMTP_HOST``)."""

import time
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


class _Keep:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"{time.time_ns()}-{len(list(self.directory.iterdir())):06d}.eml"
        (self.directory / name).write_bytes(envelope.original_content or envelope.content)
        return "250 Message accepted for delivery"


class MailSink:
    def __init__(self, port: int, directory: Path) -> None:
        self.port = port
        self.directory = directory
        self._controller = Controller(_Keep(directory), hostname="127.0.0.1", port=port)

    def start(self) -> None:
        """Serves in a thread of the launcher until ``stop``: it lives and dies with the stack."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()
