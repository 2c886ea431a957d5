"""argon2id hashing, off the event loop (a verification costs tens of milliseconds of CPU)."""

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError


class Passwords:
    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self._hasher = hasher or PasswordHasher()  # argon2id, RFC 9106 low-memory profile
        # Verifying unknown logins against a real hash makes them cost the same time as known ones.
        self._decoy = self._hasher.hash("decoy password that matches nothing")

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        def check() -> bool:
            try:
                return self._hasher.verify(password_hash or self._decoy, password) and password_hash is not None
            except (VerificationError, InvalidHashError):
                return False

        return await asyncio.to_thread(check)

    async def upgraded(self, password_hash: str, password: str) -> str | None:
        """A new hash of a password just verified, when its stored hash was made with other
        parameters than ours (an account imported from Damancom's own hashes, or ours before a change
        of parameters); ``None`` when it is already current. Without it such hashes would stay as
        imported forever, and a login's time would tell an attacker which accounts carry them."""
        if not self._hasher.check_needs_rehash(password_hash):
            return None
        return await asyncio.to_thread(self._hasher.hash, password)
