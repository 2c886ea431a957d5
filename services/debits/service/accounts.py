"""Use cases: register bank accounts and announce each affiliate's whole list, masked."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Self

import asyncpg
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from contracts.banks import BANKS, REGISTRY_FILE
from contracts.debits import BankAccountsChanged, BankAccountsPayload
from contracts.identifiers import AffiliateNumber, Rib, bank_code
from contracts.refusal_texts import field_message
from contracts.refusals import Refusal
from contracts.topics import DEBITS_ACCOUNTS
from services.debits.adapters.account_repository import AccountRepository
from services.debits.domain.accounts import InvalidAccount, RegisteredAccount, consolidate, default_account_id
from services.runtime.clock import Clock
from services.runtime.outbox import OutgoingMessage, enqueue_many

PRODUCER = "debits"


class DeclaredAccount(BaseModel):
    """One account as a bank-account file or the demo seeding declares it."""

    # hide_input_in_errors: a refusal message must never repeat a full RIB.
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    affiliate: AffiliateNumber
    rib: Rib
    bank_code: str | None = Field(default=None, pattern=r"^[0-9]{3}$")
    bank_name: str = Field(min_length=1, max_length=128)
    holder: str = Field(min_length=1, max_length=200)
    id: str | None = Field(default=None, min_length=1, max_length=64)

    @model_validator(mode="after")
    def _bank_code_of_rib(self) -> Self:
        if self.bank_code is not None and self.bank_code != bank_code(self.rib):
            raise ValueError("le code banque ne correspond pas aux 3 premiers chiffres du RIB")
        return self

    @model_validator(mode="after")
    def _bank_in_registry(self) -> Self:
        # Its orders would go to a topic no bank reads: refused at the import, not found at the first run.
        code = bank_code(self.rib)
        if code not in BANKS:
            raise ValueError(
                f"affilié {self.affiliate}, banque {code} inconnue du registre des banques "
                f"(contracts/{REGISTRY_FILE}) : aucun prélèvement possible ; retirez ce compte du fichier, "
                "ou faites d'abord ajouter la banque au registre et créer son topic"
            )
        return self

    def to_registered(self) -> RegisteredAccount:
        return RegisteredAccount(
            id=self.id or default_account_id(self.affiliate, self.rib),
            affiliate=self.affiliate,
            rib=self.rib,
            bank_code=bank_code(self.rib),
            bank_name=self.bank_name,
            holder=self.holder,
        )


_DECLARATIONS: TypeAdapter[list[DeclaredAccount]] = TypeAdapter(list[DeclaredAccount])


class FileRefused(Refusal):
    """The whole batch is refused: nothing of it is registered. The message is one French line.

    All or nothing, an unknown bank included: the operator fixes or removes the line named and imports
    the same file again (re-importing what is registered already changes nothing), instead of working
    out which half of a file went in."""

    def __init__(self, message: str) -> None:
        super().__init__("fichier-refuse", message, kind="invalid")


def _reason(exc: ValidationError) -> str:
    first = exc.errors(include_url=False, include_input=False)[0]
    index, *fields = first["loc"] or ("",)
    where = ""
    if isinstance(index, int):  # numbered from 1 for the person who reads the file
        where = f"compte n° {index + 1}" + (f" ({'.'.join(str(p) for p in fields)})" if fields else "")
    # Our validators (the contracts' RIB check) already speak French; pydantic's own messages do not.
    message = field_message("fr", first["type"], str(first["msg"]).removeprefix("Value error, "))
    more = exc.error_count() - 1
    suffix = f" (et {more} autre{'s' if more > 1 else ''} erreur{'s' if more > 1 else ''})" if more else ""
    return f"{where} : {message}{suffix}" if where else f"{message}{suffix}"


def parse_declarations(data: bytes | Sequence[Mapping[str, Any]]) -> list[DeclaredAccount]:
    """A JSON list (file bytes) or already-decoded records; raises ``FileRefused``."""
    try:
        if isinstance(data, bytes):
            declarations = _DECLARATIONS.validate_json(data)
        else:
            declarations = _DECLARATIONS.validate_python(list(data))
        consolidate(d.to_registered() for d in declarations)
    except ValidationError as exc:
        if any(e["type"] == "json_invalid" for e in exc.errors(include_url=False, include_input=False)):
            raise FileRefused("le fichier n'est pas un JSON valide") from None
        raise FileRefused(_reason(exc)) from None
    except InvalidAccount as exc:
        raise FileRefused(str(exc)) from None
    return declarations


@dataclass(frozen=True)
class Registration:
    accounts: int
    affiliates_announced: int


def _announcements(
    registered: Mapping[str, Sequence[RegisteredAccount]], versions: Mapping[str, int], clock: Clock
) -> list[OutgoingMessage]:
    occurred_at = clock.now()
    messages = []
    for affiliate in sorted(versions):
        event = BankAccountsChanged.build(
            BankAccountsPayload(
                affiliate=affiliate,
                version=versions[affiliate],
                accounts=[c.masked() for c in registered.get(affiliate, ())],
            ),
            producer=PRODUCER,
            occurred_at=occurred_at,
        )
        messages.append(OutgoingMessage.of(DEBITS_ACCOUNTS.name, affiliate, event))
    return messages


async def register_accounts(
    conn: asyncpg.Connection, accounts: Sequence[DeclaredAccount], clock: Clock
) -> Registration:
    """In one transaction: upsert the accounts, bump once the version of every affiliate whose accounts
    changed, and write its whole masked list to the outbox. Re-registering the same accounts changes
    nothing and announces nothing."""
    registered = consolidate(d.to_registered() for d in accounts)
    repo = AccountRepository(conn)
    async with conn.transaction():
        changed = sorted(await repo.upsert(registered, clock.now()))
        if changed:
            versions = await repo.bump_versions(changed)  # also locks them until commit
            await enqueue_many(conn, _announcements(await repo.accounts_of(changed), versions, clock))
    return Registration(len(registered), len(changed))


async def republish_accounts(conn: asyncpg.Connection, clock: Clock, page: int = 500) -> int:
    """Re-announce every affiliate's list as it stands (same versions), for consumers that lost it."""
    repo = AccountRepository(conn)
    count, after = 0, ""
    while affiliates := await repo.affiliates_after(after, page):
        async with conn.transaction():
            versions = await repo.lock_versions(affiliates)  # an older list never follows a newer one
            await enqueue_many(conn, _announcements(await repo.accounts_of(affiliates), versions, clock))
        count += len(affiliates)
        after = affiliates[-1]
    return count
