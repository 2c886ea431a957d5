"""Damancom accounts and the affiliates they hold."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Affiliate:
    numero: str
    raison_sociale: str
    ice: str
    perception_code: str
    perception_name: str
    email: str | None = None
    mobile: str | None = None
    language: str = "fr"
    """where and in which language the affiliate is told what happens to its requests"""


@dataclass(frozen=True)
class Account:
    id: str
    login: str
    password_hash: str
    display_name: str


def normalize_login(login: str) -> str:
    """Logins compare case-insensitively and without surrounding blanks, as users type them."""
    return login.strip().lower()
