"""Access tokens: EdDSA-signed JWTs that auth issues and every service verifies with the public key,
without calling auth."""

import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

ALGORITHM = "EdDSA"


@dataclass(frozen=True)
class Principal:
    """Who calls: a Damancom account and the affiliates it holds."""

    account_id: str
    login: str
    affiliates: frozenset[str]

    def holds(self, affiliate: str) -> bool:
        return affiliate in self.affiliates


class InvalidToken(Exception):
    pass


class TokenVerifier:
    """Verifies signature, issuer, audience and expiry.

    A verified token is remembered until it expires: the portal presents the same token on every
    call for its 15 minutes, and an Ed25519 verification costs more than the rest of a debt read.
    The cache key is the whole token, so a token altered by one byte is verified afresh.
    """

    def __init__(self, public_key_pem: bytes, *, issuer: str, audience: str, cache_size: int = 50_000) -> None:
        self._key = serialization.load_pem_public_key(public_key_pem)
        self._issuer = issuer
        self._audience = audience
        self._cache: OrderedDict[str, tuple[Principal, float]] = OrderedDict()
        self._cache_size = cache_size

    @classmethod
    def from_file(cls, path: Path, *, issuer: str, audience: str) -> "TokenVerifier":
        return cls(path.read_bytes(), issuer=issuer, audience=audience)

    def verify(self, token: str) -> Principal:
        cached = self._cache.get(token)
        if cached is not None:
            if time.time() < cached[1]:
                self._cache.move_to_end(token)
                return cached[0]
            del self._cache[token]
            raise InvalidToken("token expired")
        principal, expires = self._verify(token)
        self._cache[token] = (principal, expires)
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return principal

    def _verify(self, token: str) -> tuple[Principal, float]:
        try:
            claims = jwt.decode(
                token,
                self._key,  # type: ignore[arg-type]
                algorithms=[ALGORITHM],
                issuer=self._issuer,
                audience=self._audience,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(str(exc)) from exc
        principal = Principal(
            account_id=str(claims["sub"]),
            login=str(claims.get("login", "")),
            affiliates=frozenset(str(a) for a in claims.get("aff", [])),
        )
        return principal, float(claims["exp"])


class TokenIssuer:
    def __init__(self, private_key_pem: bytes, *, issuer: str, audience: str, ttl: timedelta) -> None:
        self._key = serialization.load_pem_private_key(private_key_pem, password=None)
        self._issuer = issuer
        self._audience = audience
        self.ttl = ttl

    def issue(self, principal: Principal, now: datetime) -> tuple[str, datetime]:
        expires = now + self.ttl
        claims: dict[str, Any] = {
            "iss": self._issuer,
            "aud": self._audience,
            "sub": principal.account_id,
            "login": principal.login,
            "aff": sorted(principal.affiliates),
            "iat": int(now.timestamp()),
            "nbf": int(now.timestamp()),
            "exp": int(expires.timestamp()),
            "jti": str(uuid4()),
        }
        return jwt.encode(claims, self._key, algorithm=ALGORITHM), expires  # type: ignore[arg-type]


def generate_keypair(private_path: Path, public_path: Path) -> None:
    """Development keys for the embedded stack; production keys come from a secret store."""
    key = Ed25519PrivateKey.generate()
    private_path.parent.mkdir(parents=True, exist_ok=True)
    private_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    private_path.chmod(0o600)
    public_path.write_bytes(
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
