"""The door before the password: how many attempts an address, and a login, may make.

Counted in memory before anything costs (no connection, no argon2): a flood from one address is
answered 429 after its burst, and a login tried from many addresses at once slows down for everyone
trying it, its owner included, but only while the flood lasts and without locking it.

An address's admitted attempts are also worked on ``in_flight_per_address`` at a time, the others
waiting their turn up to ``queue_seconds``: argon2 costs ~0.1 s of a core, and on two cores a burst
of thirty hashed at once kept the owner's own login waiting 7 s. Colleagues behind one office
address wait their turn a moment; a flooder's queue overflows into 429s.
"""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from contracts.refusals import Refusal
from services.auth.domain.accounts import normalize_login
from services.runtime.rate_limit import Rate, RateLimiter


class TooManyAttempts(Refusal):
    def __init__(self, retry_after: int) -> None:
        super().__init__(
            "trop-de-tentatives",
            "Trop de tentatives de connexion en peu de temps.",
            kind="throttled",
            retry_after=retry_after,
        )
        self.retry_after = retry_after


@dataclass
class _Turns:
    semaphore: asyncio.Semaphore
    users: int = 0


@dataclass(frozen=True)
class LoginGate:
    by_address: RateLimiter
    by_login: RateLimiter
    in_flight_per_address: int = 1
    queue_seconds: float = 1.0
    _turns: dict[str, _Turns] = field(default_factory=dict)

    @classmethod
    def of(cls, per_address: Rate, per_login: Rate, in_flight_per_address: int = 1) -> "LoginGate":
        return cls(RateLimiter(per_address), RateLimiter(per_login), in_flight_per_address)

    @asynccontextmanager
    async def address_admitted(self, address: str) -> AsyncIterator[None]:
        """Raises ``TooManyAttempts``, else holds the address's turn while the body runs. Asked
        first, from the HTTP door before the body is even read: a flooder's refused attempts cost
        next to nothing and take nothing from the logins they name."""
        wait = self.by_address.wait_for(address)
        if wait is not None:
            raise TooManyAttempts(wait)
        turns = self._turns.setdefault(address, _Turns(asyncio.Semaphore(self.in_flight_per_address)))
        turns.users += 1
        try:
            try:
                await asyncio.wait_for(turns.semaphore.acquire(), self.queue_seconds)
            except TimeoutError:
                raise TooManyAttempts(1) from None
            try:
                yield
            finally:
                turns.semaphore.release()
        finally:
            turns.users -= 1
            if not turns.users:
                del self._turns[address]

    def admit_login(self, login: str) -> None:
        """Raises ``TooManyAttempts`` when the login, every address together, is past its rate."""
        wait = self.by_login.wait_for(normalize_login(login))
        if wait is not None:
            raise TooManyAttempts(wait)
