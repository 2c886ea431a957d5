"""Use case: import Damancom accounts and their affiliates (no self-registration in this space)."""

from typing import Self
from uuid import uuid4

import asyncpg
from pydantic import BaseModel, ConfigDict, Field, model_validator

from contracts.auth import (
    AccountImported,
    AccountImportedPayload,
    AffiliateProfilePayload,
    AffiliateRegistered,
    Contact,
)
from contracts.debt import Perception
from contracts.identifiers import AffiliateNumber, Ice
from contracts.topics import AUTH_AFFILIATES, AUTH_EVENTS
from services.auth.adapters.repository import AccountRepository
from services.auth.domain.accounts import Account, Affiliate, normalize_login
from services.auth.service.passwords import Passwords
from services.runtime.clock import Clock
from services.runtime.outbox import OutgoingMessage, enqueue, enqueue_many

PRODUCER = "auth"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AffiliateRecord(_Strict):
    numero: AffiliateNumber
    raison_sociale: str = Field(min_length=1, max_length=200)
    ice: Ice
    perception: Perception
    contact: Contact | None = None


class AccountRecord(_Strict):
    login: str = Field(min_length=3, max_length=128)
    display_name: str = Field(min_length=1, max_length=200)
    password: str | None = Field(default=None, min_length=8, max_length=256, description="en clair, haché à l'import")
    password_hash: str | None = Field(default=None, pattern=r"^\$argon2id\$")
    affiliates: list[AffiliateNumber] = Field(min_length=1)

    @model_validator(mode="after")
    def _one_secret(self) -> Self:
        if (self.password is None) == (self.password_hash is None):
            raise ValueError("chaque compte a soit 'password' soit 'password_hash'")
        return self


class DamancomExport(_Strict):
    affiliates: list[AffiliateRecord]
    accounts: list[AccountRecord]

    @model_validator(mode="after")
    def _known_affiliates(self) -> Self:
        known = {a.numero for a in self.affiliates}
        for account in self.accounts:
            unknown = set(account.affiliates) - known
            if unknown:
                raise ValueError(f"le compte {account.login} référence des affiliés absents : {sorted(unknown)}")
        return self


def profile_messages(affiliates: list[Affiliate], clock: Clock) -> list[OutgoingMessage]:
    """Who each affiliate is, for the services that show it to perceptions and banks."""
    return [
        OutgoingMessage.of(
            AUTH_AFFILIATES.name,
            a.numero,
            AffiliateRegistered.build(
                AffiliateProfilePayload(
                    affiliate=a.numero,
                    raison_sociale=a.raison_sociale,
                    ice=a.ice,
                    perception=Perception(code=a.perception_code, name=a.perception_name),
                    contact=_contact(a),
                ),
                producer=PRODUCER,
                occurred_at=clock.now(),
            ),
        )
        for a in affiliates
    ]


def _contact(affiliate: Affiliate) -> Contact | None:
    if affiliate.email is None and affiliate.mobile is None:
        return None
    return Contact(email=affiliate.email, mobile=affiliate.mobile, language=affiliate.language)


async def republish_affiliates(conn: asyncpg.Connection, clock: Clock, page: int = 1000) -> int:
    """Re-announce every affiliate profile (a memory-only broker forgot them; a new consumer needs them)."""
    repo = AccountRepository(conn)
    count, after = 0, ""
    while affiliates := await repo.affiliates_after(after, page):
        async with conn.transaction():
            await enqueue_many(conn, profile_messages(affiliates, clock))
        count += len(affiliates)
        after = affiliates[-1].numero
    return count


def _affiliate(record: AffiliateRecord) -> Affiliate:
    contact = record.contact or Contact()
    return Affiliate(
        record.numero,
        record.raison_sociale,
        record.ice,
        record.perception.code,
        record.perception.name,
        email=contact.email,
        mobile=contact.mobile,
        language=contact.language,
    )


async def import_accounts(conn: asyncpg.Connection, export: DamancomExport, passwords: Passwords, clock: Clock) -> int:
    """Creates or updates every account of the export in one transaction; returns how many."""
    repo = AccountRepository(conn)
    async with conn.transaction():
        affiliates = [_affiliate(record) for record in export.affiliates]
        for affiliate in affiliates:
            await repo.upsert_affiliate(affiliate)
        await enqueue_many(conn, profile_messages(affiliates, clock))
        for account in export.accounts:
            login = normalize_login(account.login)
            secret = account.password_hash or passwords.hash(account.password or "")
            account_id = await repo.upsert_account(
                Account(id=str(uuid4()), login=login, password_hash=secret, display_name=account.display_name),
                list(account.affiliates),
            )
            await enqueue(
                conn,
                AUTH_EVENTS.name,
                login,
                AccountImported.build(
                    AccountImportedPayload(
                        account_id=account_id,
                        login=login,
                        affiliates=list(account.affiliates),
                    ),
                    producer=PRODUCER,
                    occurred_at=clock.now(),
                ),
            )
    return len(export.accounts)
