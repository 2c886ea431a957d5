"""Use case: log in to the Espace Recouvrement with a Damancom account."""

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from contracts.auth import LoginFailed, LoginLocked, LoginSucceeded
from contracts.envelope import Envelope
from contracts.topics import AUTH_EVENTS
from services.auth.adapters.repository import AccountRepository
from services.auth.domain.accounts import Account, Affiliate, normalize_login
from services.auth.domain.lockout import LockoutPolicy
from services.auth.service.passwords import Passwords
from services.runtime.clock import Clock
from services.runtime.outbox import enqueue
from services.runtime.tokens import Principal, TokenIssuer

PRODUCER = "auth"


class InvalidCredentials(Exception):
    """Wrong password or unknown login: deliberately indistinguishable."""


class LoginIsLocked(Exception):
    def __init__(self, locked_until: datetime) -> None:
        super().__init__(locked_until.isoformat())
        self.locked_until = locked_until


@dataclass(frozen=True)
class Session:
    access_token: str
    expires_at: datetime
    account: Account
    affiliates: list[Affiliate]


@dataclass(frozen=True)
class LoginDependencies:
    passwords: Passwords
    tokens: TokenIssuer
    clock: Clock
    policy: LockoutPolicy


async def login(conn: asyncpg.Connection, deps: LoginDependencies, login: str, password: str) -> Session:
    """Raises ``InvalidCredentials`` or ``LoginIsLocked`` after the attempt is recorded and announced."""
    async with conn.transaction():
        outcome = await _attempt(AccountRepository(conn), conn, deps, normalize_login(login), password)
    if isinstance(outcome, Exception):
        raise outcome
    return outcome


async def _attempt(
    repo: AccountRepository, conn: asyncpg.Connection, deps: LoginDependencies, name: str, password: str
) -> Session | Exception:
    now = deps.clock.now()
    before = await repo.lock_attempts(name)
    account = await repo.by_login(name)
    account_id = account.id if account else None

    async def announce(event_type: type[Envelope], **payload: object) -> None:
        event = event_type.build(
            {"login": name, "account_id": account_id} | payload, producer=PRODUCER, occurred_at=now
        )
        await enqueue(conn, AUTH_EVENTS.name, name, event)

    if before.is_locked(now):
        assert before.locked_until is not None
        await announce(LoginFailed, consecutive_failures=before.consecutive_failures, reason="locked")
        return LoginIsLocked(before.locked_until)

    # Unknown logins are checked against a decoy hash: same work, same time, same answer.
    valid = await deps.passwords.verify(account.password_hash if account else None, password)
    if account is not None and valid:
        await repo.save_attempts(name, before.after_success())
        affiliates = await repo.affiliates_of(account.id)
        await announce(LoginSucceeded)
        principal = Principal(account.id, account.login, frozenset(a.numero for a in affiliates))
        token, expires_at = deps.tokens.issue(principal, now)
        return Session(token, expires_at, account, affiliates)

    after = before.after_failure(now, deps.policy)
    await repo.save_attempts(name, after)
    await announce(LoginFailed, consecutive_failures=after.consecutive_failures, reason="bad_credentials")
    if after.just_locked(before, now):
        assert after.locked_until is not None
        await announce(LoginLocked, locked_until=after.locked_until)
        return LoginIsLocked(after.locked_until)
    return InvalidCredentials()
