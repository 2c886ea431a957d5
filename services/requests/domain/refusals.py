"""Why the system says no: a stable code for programs, a French sentence for people."""

from typing import Any


class Refusal(Exception):
    """A business rule refuses the action. ``kind`` tells the gateway how to answer:
    ``conflict`` (the state of things forbids it: 409) or ``invalid`` (the input is wrong: 422)."""

    def __init__(self, code: str, message: str, *, kind: str = "conflict", **details: Any) -> None:
        super().__init__(code)
        self.code = code
        self.message = message
        self.kind = kind
        self.details = details
