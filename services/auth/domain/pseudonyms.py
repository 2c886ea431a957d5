"""How auth's events name a login typed at the door.

A text that matches an account is that account's login, and the events say it. A text that matches
none may be anything, and is sometimes a password typed in the wrong field: auth's events (a retained
topic, read by whoever audits) never carry it. They carry a pseudonym instead, the same for the same
text, so that repeated guesses at one unknown name still read as one name; keyed, so that nobody
without auth's secret can test candidate texts against it."""

import hashlib
import hmac
from dataclasses import dataclass

UNKNOWN_PREFIX = "inconnu:"


@dataclass(frozen=True)
class LoginPseudonyms:
    key: bytes

    def announced(self, typed: str, *, known: bool) -> str:
        """``typed`` when it is an account's login, else ``inconnu:`` and 24 hex digits of its HMAC."""
        if known:
            return typed
        return UNKNOWN_PREFIX + hmac.new(self.key, typed.encode(), hashlib.sha256).hexdigest()[:24]
