"""Sessions a phone can keep (issue 17): login opens a family of refresh tokens; each refresh uses
one token once and gets a new access token and the next refresh token; a token used twice was
copied, and the whole family is revoked (the thief's and the owner's sessions end together, the
owner logs in again), unless it comes back within ``REUSE_LEEWAY``: a retry whose answer was lost;
logout revokes the family. A session's changes take its family's advisory lock first.

A refresh token is 256 random bits, kept as its SHA-256 only. An access token names its family
(``sid``) so that logout can end it; the access tokens already issued stay valid until they expire
(``TOKEN_TTL_MINUTES``): the other services verify them without calling auth.
"""

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID, uuid4

import asyncpg

from contracts.refusals import Refusal
from services.auth.adapters.refresh_repository import RefreshRepository
from services.auth.adapters.repository import AccountRepository
from services.auth.domain.accounts import Account, Affiliate
from services.runtime.clock import Clock
from services.runtime.tokens import Principal, TokenIssuer

log = logging.getLogger(__name__)

REUSE_LEEWAY = timedelta(seconds=30)
"""a refresh token spent again this soon is a retry (the answer was lost), not a copy"""


class SessionInvalid(Refusal):
    def __init__(self) -> None:
        super().__init__(
            "session-invalide",
            "Session expirée ou fermée. Veuillez vous reconnecter.",
            kind="unauthenticated",
        )


@dataclass(frozen=True)
class Issued:
    """What a login or a refresh hands the client."""

    access_token: str
    expires_at: datetime
    refresh_token: str
    refresh_expires_at: datetime
    account: Account
    affiliates: list[Affiliate]


@dataclass(frozen=True)
class SessionPolicy:
    tokens: TokenIssuer
    clock: Clock
    refresh_ttl: timedelta
    session_max_age: timedelta = timedelta(days=30)
    """no refresh token outlives its session's start + this: refreshed or not, a session ends"""


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


async def issue(
    conn: asyncpg.Connection,
    policy: SessionPolicy,
    account: Account,
    affiliates: list[Affiliate],
    family_id: UUID,
    now: datetime,
    session_started_at: datetime | None = None,
) -> Issued:
    """An access token for ``account`` and the next refresh token of ``family_id`` (a session that
    began at ``session_started_at``; ``None``: a new one, now), in the caller's transaction."""
    principal = Principal(account.id, account.login, frozenset(a.numero for a in affiliates), str(family_id))
    access, expires_at = policy.tokens.issue(principal, now)
    refresh = secrets.token_urlsafe(32)
    started = session_started_at or now
    refresh_expires_at = min(now + policy.refresh_ttl, started + policy.session_max_age)
    await RefreshRepository(conn).insert(
        uuid4(), family_id, account.id, token_hash(refresh), now, refresh_expires_at, started
    )
    return Issued(access, expires_at, refresh, refresh_expires_at, account, affiliates)


async def refresh(pool: asyncpg.Pool, policy: SessionPolicy, refresh_token: str) -> Issued:
    """Raises ``SessionInvalid`` for a token unknown, expired, revoked or used before (which revokes
    its family: the revocation is committed before the refusal)."""
    now = policy.clock.now()
    async with pool.acquire() as conn, conn.transaction():
        outcome = await _rotate(conn, policy, token_hash(refresh_token), now)
    if isinstance(outcome, Exception):
        raise outcome
    return outcome


async def _rotate(conn: asyncpg.Connection, policy: SessionPolicy, digest: bytes, now: datetime) -> Issued | Exception:
    tokens = RefreshRepository(conn)
    if await tokens.lock_family_of(digest) is None:  # the session's lock first, as logout takes it
        return SessionInvalid()
    stored = await tokens.lock(digest)
    if stored is None or stored.revoked_at is not None or stored.expires_at <= now:
        return SessionInvalid()
    if stored.used_at is not None and now - stored.used_at <= REUSE_LEEWAY:
        # The same token again within seconds: a client whose answer was lost (a timeout, a cut
        # connection) tries again. It gets the next pair; the pair it lost is never seen by anyone.
        log.info("refresh token retried within the leeway", extra={"family_id": str(stored.family_id)})
    elif stored.used_at is not None:
        revoked = await tokens.revoke_family(stored.family_id, now)
        log.warning(
            "refresh token used twice: its session is revoked",
            extra={"family_id": str(stored.family_id), "account_id": stored.account_id, "revoked": revoked},
        )
        return SessionInvalid()
    account = await tokens.account(stored.account_id)
    if account is None:
        return SessionInvalid()
    if stored.used_at is None:
        await tokens.mark_used(stored.id, now)
    # The affiliates as they are now: an account that lost one no longer gets it with the next token.
    affiliates = await AccountRepository(conn).affiliates_of(account.id)
    return await issue(conn, policy, account, affiliates, stored.family_id, now, stored.session_started_at)


async def revoke(conn: asyncpg.Connection, session_id: str | None, now: datetime) -> int:
    """Logout: the family's refresh tokens, every one; 0 for a token that names no session."""
    if session_id is None:
        return 0
    try:
        family = UUID(session_id)
    except ValueError:
        return 0
    tokens = RefreshRepository(conn)
    async with conn.transaction():  # the family's lock lasts as long as this transaction
        await tokens.lock_family(family)  # after a refresh in flight: its new token is revoked too
        return await tokens.revoke_family(family, now)
