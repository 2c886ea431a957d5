"""Use case: log in to the Espace Recouvrement with a Damancom account."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal
from uuid import uuid4

import asyncpg

from contracts.auth import (
    LoginFailed,
    LoginFailedPayload,
    LoginLocked,
    LoginLockedPayload,
    LoginPayload,
    LoginSucceeded,
)
from contracts.envelope import Envelope
from contracts.refusals import Refusal
from contracts.topics import AUTH_EVENTS
from services.auth.adapters.repository import AccountRepository
from services.auth.domain.accounts import Account, normalize_login
from services.auth.domain.lockout import LockoutPolicy
from services.auth.domain.pseudonyms import LoginPseudonyms
from services.auth.service.gate import LoginGate
from services.auth.service.passwords import Passwords
from services.auth.service.sessions import Issued, SessionPolicy, issue
from services.runtime.clock import Clock
from services.runtime.outbox import enqueue
from services.runtime.tokens import TokenIssuer

PRODUCER = "auth"


class InvalidCredentials(Refusal):
    """Wrong password or unknown login: deliberately indistinguishable."""

    def __init__(self) -> None:
        super().__init__("identifiants-invalides", "Identifiant ou mot de passe incorrect.", kind="unauthenticated")


class LoginIsLocked(Refusal):
    def __init__(self, locked_until: datetime, now: datetime) -> None:
        super().__init__(
            "compte-verrouille",
            "Trop de tentatives échouées : l'accès est temporairement verrouillé.",
            kind="locked",
            locked_until=locked_until.isoformat(),
            retry_after=max(1, int((locked_until - now).total_seconds())),
        )
        self.locked_until = locked_until


Session = Issued
"""what a login hands the client: the access token, the first refresh token of a new session"""


@dataclass(frozen=True)
class LoginDependencies:
    passwords: Passwords
    tokens: TokenIssuer
    clock: Clock
    policy: LockoutPolicy
    gate: LoginGate
    pseudonyms: LoginPseudonyms
    refresh_ttl: timedelta = timedelta(days=30)
    session_max_age: timedelta = timedelta(days=30)

    @property
    def sessions(self) -> SessionPolicy:
        return SessionPolicy(self.tokens, self.clock, self.refresh_ttl, self.session_max_age)


async def login(pool: asyncpg.Pool, deps: LoginDependencies, login: str, password: str, address: str) -> Session:
    """Raises ``TooManyAttempts`` before any work, else ``InvalidCredentials`` or ``LoginIsLocked``
    after the attempt is recorded and announced. The caller has let ``address`` through the gate.

    ``address`` is the caller's (see ``services.runtime.client_address``): failures lock a login for
    the address they came from, not for its owner elsewhere."""
    deps.gate.admit_login(login)
    name = normalize_login(login)
    async with pool.acquire() as conn:
        account = await AccountRepository(conn).by_login(name)
        before = await AccountRepository(conn).attempts(name, address)
    if before.is_locked(deps.clock.now()):
        valid = False  # a locked login is not even hashed
    else:
        # No connection held and no row locked while argon2 works (tens of milliseconds): a flood of
        # guesses can neither drain the pool nor queue the owner's attempt behind a lock.
        valid = await deps.passwords.verify(account.password_hash if account else None, password)
    upgraded = None
    if valid and account is not None:
        upgraded = await deps.passwords.upgraded(account.password_hash, password)
    async with pool.acquire() as conn, conn.transaction():
        outcome = await _record(AccountRepository(conn), conn, deps, name, address, account, valid)
        if upgraded is not None and account is not None and not isinstance(outcome, Exception):
            await AccountRepository(conn).upgrade_password_hash(account, upgraded)
    if isinstance(outcome, Exception):
        raise outcome
    return outcome


async def _record(
    repo: AccountRepository,
    conn: asyncpg.Connection,
    deps: LoginDependencies,
    name: str,
    address: str,
    account: Account | None,
    valid: bool,
) -> Session | Exception:
    """The attempt's outcome, under the (login, address) row lock: parallel guesses count one by one."""
    now = deps.clock.now()
    before = await repo.lock_attempts(name, address)
    account_id = account.id if account else None

    said = deps.pseudonyms.announced(name, known=account is not None)  # never a password typed as a login

    async def announce(event: Envelope) -> None:
        await enqueue(conn, AUTH_EVENTS.name, said, event)

    def failed(consecutive_failures: int, reason: Literal["bad_credentials", "locked"]) -> LoginFailed:
        payload = LoginFailedPayload(
            login=said, account_id=account_id, consecutive_failures=consecutive_failures, reason=reason
        )
        return LoginFailed.build(payload, producer=PRODUCER, occurred_at=now)

    if before.is_locked(now):  # locked before, or by a parallel guess while this one was hashed
        assert before.locked_until is not None
        await announce(failed(before.consecutive_failures, "locked"))
        return LoginIsLocked(before.locked_until, now)

    if account is not None and valid:
        await repo.save_attempts(name, address, before.after_success())
        affiliates = await repo.affiliates_of(account.id)
        payload = LoginPayload(login=said, account_id=account_id)
        await announce(LoginSucceeded.build(payload, producer=PRODUCER, occurred_at=now))
        return await issue(conn, deps.sessions, account, affiliates, uuid4(), now)  # a new session

    after = before.after_failure(now, deps.policy)
    await repo.save_attempts(name, address, after)
    await announce(failed(after.consecutive_failures, "bad_credentials"))
    if after.just_locked(before, now):
        assert after.locked_until is not None
        locked = LoginLockedPayload(login=said, account_id=account_id, locked_until=after.locked_until)
        await announce(LoginLocked.build(locked, producer=PRODUCER, occurred_at=now))
        return LoginIsLocked(after.locked_until, now)
    return InvalidCredentials()
