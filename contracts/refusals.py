"""A business rule says no: one type for every service, answered as problem+json by one handler
(``services/runtime/problems.py``). It lives beside the messages because the domains raise it and
the domains may import nothing but contracts."""

from typing import Any, Literal

RefusalKind = Literal["conflict", "invalid"]


class Refusal(Exception):
    """``code`` is stable, for programs; ``message`` is French, for people; ``details`` are
    JSON-ready figures (the allowed range, the state in the way). ``kind`` says how HTTP answers:
    ``conflict`` (the state of things forbids it: 409) or ``invalid`` (the input is wrong: 422)."""

    def __init__(self, code: str, message: str, *, kind: RefusalKind = "conflict", **details: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.kind: RefusalKind = kind
        self.details: dict[str, Any] = details

    @property
    def status(self) -> int:
        return 409 if self.kind == "conflict" else 422
