"""A business rule says no: one type for every service, answered as problem+json by one handler
(``services/runtime/problems.py``). It lives beside the messages because the domains raise it and
the domains may import nothing but contracts."""

from typing import Any, Literal

RefusalKind = Literal["conflict", "invalid", "not-found", "unauthenticated", "locked", "throttled"]

_STATUS: dict[RefusalKind, int] = {
    "conflict": 409,  # the state of things forbids it
    "invalid": 422,  # the input is wrong
    "not-found": 404,  # nothing of that name, or nothing the caller may see: the same answer
    "unauthenticated": 401,  # who is asking could not be established
    "locked": 423,  # the door is locked for a while (a login after too many failures)
    "throttled": 429,  # too many attempts in a short time: ``retry_after`` seconds
}


class Refusal(Exception):
    """``code`` is stable, for programs; ``message`` is French, for people; ``details`` are
    JSON-ready figures (the allowed range, the state in the way). ``kind`` says how HTTP answers
    (``_STATUS``); a ``retry_after`` detail (seconds) is also said as the ``Retry-After`` header.
    Outside HTTP (a message, a file), the code and message are the dead letter's or the command's reason."""

    def __init__(self, code: str, message: str, *, kind: RefusalKind = "conflict", **details: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.kind: RefusalKind = kind
        self.details: dict[str, Any] = details

    @property
    def status(self) -> int:
        return _STATUS[self.kind]
