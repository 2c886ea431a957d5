"""``auth.events.v1``: what happens to Damancom accounts (audit trail)."""

from datetime import datetime
from typing import Annotated, ClassVar, Literal

from pydantic import Field

from contracts.debt import Perception
from contracts.envelope import Contract, Envelope
from contracts.identifiers import AffiliateNumber, Email, Ice, MoroccanMobile


class LoginPayload(Contract):
    login: str = Field(
        max_length=128,
        description=(
            "l'identifiant du compte ; pour un texte qui ne correspond à aucun compte, un pseudonyme "
            "« inconnu:<24 chiffres hexadécimaux> », le même pour le même texte : ce qui a été tapé, "
            "parfois un mot de passe, ne quitte pas auth"
        ),
    )
    account_id: str | None = Field(default=None, description="absent quand l'identifiant est inconnu")


class LoginSucceeded(Envelope):
    TYPE: ClassVar[str] = "auth.login_succeeded"
    type: Literal["auth.login_succeeded"]
    payload: LoginPayload


class LoginFailedPayload(LoginPayload):
    consecutive_failures: int = Field(ge=0)
    reason: Literal["bad_credentials", "locked"] = Field(
        description="mauvais identifiants, ou tentative pendant un verrouillage"
    )


class LoginFailed(Envelope):
    TYPE: ClassVar[str] = "auth.login_failed"
    type: Literal["auth.login_failed"]
    payload: LoginFailedPayload


class LoginLockedPayload(LoginPayload):
    locked_until: datetime


class LoginLocked(Envelope):
    TYPE: ClassVar[str] = "auth.login_locked"
    type: Literal["auth.login_locked"]
    payload: LoginLockedPayload


class AccountImportedPayload(Contract):
    account_id: str
    login: str = Field(max_length=128)
    affiliates: list[AffiliateNumber]


class AccountImported(Envelope):
    """An account created or updated by an import from Damancom (its affiliations included)."""

    TYPE: ClassVar[str] = "auth.account_imported"
    type: Literal["auth.account_imported"]
    payload: AccountImportedPayload


AuthMessage = LoginSucceeded | LoginFailed | LoginLocked | AccountImported
AuthEvent = Annotated[
    AuthMessage,
    Field(discriminator="type"),
]


# --- auth.affiliates.v1 ------------------------------------------------------------------------


Language = Literal["fr", "ar"]
"""the languages the CNSS writes to affiliates in"""


class Contact(Contract):
    """How the affiliate is told what happens to its requests (``services/notifications``), as Damancom
    holds it: no address, no message on that channel."""

    email: Email | None = None
    mobile: MoroccanMobile | None = None
    language: Language = Field(default="fr", description="la langue des messages : fr ou ar")


class AffiliateProfilePayload(Contract):
    """Who an affiliate is, as Damancom knows it: what requests shows perceptions and debits shows banks."""

    affiliate: AffiliateNumber
    raison_sociale: str = Field(min_length=1, max_length=200)
    ice: Ice
    perception: Perception = Field(description="la perception qui gère l'affilié")
    contact: Contact | None = Field(default=None, description="où prévenir l'affilié (absent : nulle part)")


class AffiliateRegistered(Envelope):
    TYPE: ClassVar[str] = "auth.affiliate_registered"
    type: Literal["auth.affiliate_registered"]
    payload: AffiliateProfilePayload


AffiliateEvent = Annotated[AffiliateRegistered, Field(discriminator="type")]
