"""Access tokens: EdDSA-signed JWTs that auth issues and every service verifies with the public key,
without calling auth.

Every token names its signing key in a ``kid`` header (derived from the public key, see ``key_id``),
and a verifier may hold several public keys: that is how the signing key rotates without refusing a
single valid token (docs/operations.md, "Token signing key rotation"). A token without a kid, or with
a kid the verifier does not hold, is refused like any other invalid token.
"""

import hashlib
import hmac
import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ALGORITHM = "EdDSA"
CLOCK_SKEW_S = 30
"""How far ahead of this host's clock the issuer's may be: a token is refused as "not yet valid" only
when issued more than this in the future. auth signs on its host, the services verify on theirs; with
none, a login answered while the verifying host's clock was a second behind gave a token refused
until that second passed. Expiry stays exact (no leeway after ``exp``)."""


def key_id(public_key: Ed25519PublicKey) -> str:
    """The ``kid`` of a signing key: the first 16 hex digits of the SHA-256 of its raw public bytes.

    Derived, never configured: the issuer and every verifier compute the same id from the same key,
    and ``recouvrement keys kid FILE`` prints it for an operator.
    """
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def load_public_key(public_key_pem: bytes) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(public_key_pem)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError(f"not an Ed25519 public key: {type(key).__name__}")
    return key


def load_private_key(private_key_pem: bytes) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(private_key_pem, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"not an Ed25519 private key: {type(key).__name__}")
    return key


def pem_key_id(pem: bytes) -> str:
    """The kid of a PEM key, public or private (for the operators' command line)."""
    if b"PRIVATE KEY" in pem:
        return key_id(load_private_key(pem).public_key())
    return key_id(load_public_key(pem))


@dataclass(frozen=True)
class Principal:
    """Who calls: a Damancom account and the affiliates it holds."""

    account_id: str
    login: str
    affiliates: frozenset[str]
    session_id: str | None = None
    """the session (auth's refresh-token family) the token belongs to: what logout ends"""

    def holds(self, affiliate: str) -> bool:
        return affiliate in self.affiliates


class InvalidToken(Exception):
    pass


class TokenVerifier:
    """Verifies the signing key (by ``kid``), signature, issuer, audience and expiry.

    A verified token is remembered until it expires: the portal presents the same token on every
    call for its 15 minutes, and an Ed25519 verification costs more than the rest of a debt read.
    The cache key is the whole token, so a token altered by one byte is verified afresh. Removing a
    public key means starting the service with the new list (a new verifier, an empty cache).
    """

    def __init__(
        self,
        public_keys_pem: bytes | Iterable[bytes],
        *,
        issuer: str,
        audience: str,
        cache_size: int = 50_000,
    ) -> None:
        pems = [public_keys_pem] if isinstance(public_keys_pem, bytes) else list(public_keys_pem)
        if not pems:
            raise ValueError("a token verifier needs at least one public key")
        self._keys: dict[str, Ed25519PublicKey] = {}
        for pem in pems:
            key = load_public_key(pem)
            self._keys[key_id(key)] = key
        self._issuer = issuer
        self._audience = audience
        self._cache: OrderedDict[str, tuple[Principal, float]] = OrderedDict()
        self._cache_size = cache_size

    @classmethod
    def from_file(cls, path: Path, *, issuer: str, audience: str) -> "TokenVerifier":
        return cls(path.read_bytes(), issuer=issuer, audience=audience)

    @classmethod
    def from_files(cls, paths: Iterable[Path], *, issuer: str, audience: str) -> "TokenVerifier":
        return cls([path.read_bytes() for path in paths], issuer=issuer, audience=audience)

    @property
    def key_ids(self) -> frozenset[str]:
        return frozenset(self._keys)

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
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError as exc:
            raise InvalidToken(str(exc)) from exc
        key = self._keys.get(kid) if isinstance(kid, str) else None
        if key is None:
            raise InvalidToken("no kid header" if kid is None else "unknown signing key")
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                issuer=self._issuer,
                audience=self._audience,
                # iat and nbf are checked below, with the hosts' clock skew allowed; exp is exact.
                options={"require": ["exp", "iat", "sub", "iss", "aud"], "verify_iat": False, "verify_nbf": False},
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(str(exc)) from exc
        issued = max(float(claims["iat"]), float(claims.get("nbf", 0)))
        if issued > time.time() + CLOCK_SKEW_S:
            raise InvalidToken("token not yet valid")
        principal = Principal(
            account_id=str(claims["sub"]),
            login=str(claims.get("login", "")),
            affiliates=frozenset(str(a) for a in claims.get("aff", [])),
            session_id=str(claims["sid"]) if "sid" in claims else None,
        )
        return principal, float(claims["exp"])


class TokenIssuer:
    def __init__(self, private_key_pem: bytes, *, issuer: str, audience: str, ttl: timedelta) -> None:
        self._key = load_private_key(private_key_pem)
        self.kid = key_id(self._key.public_key())
        self._issuer = issuer
        self._audience = audience
        self.ttl = ttl

    def derived_key(self, purpose: str) -> bytes:
        """A secret of auth's own for ``purpose``, derived from the signing key (HMAC-SHA256 keyed by
        its 32 private bytes): one secret to keep in the secret store, not one per use. A key
        rotation changes it too."""
        raw = self._key.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )
        return hmac.new(raw, f"recouvrement:{purpose}".encode(), hashlib.sha256).digest()

    def issue(self, principal: Principal, now: datetime) -> tuple[str, datetime]:
        expires = now + self.ttl
        claims: dict[str, Any] = {
            "iss": self._issuer,
            "aud": self._audience,
            "sub": principal.account_id,
            "login": principal.login,
            "aff": sorted(principal.affiliates),
            **({"sid": principal.session_id} if principal.session_id else {}),
            "iat": int(now.timestamp()),
            "nbf": int(now.timestamp()),
            "exp": int(expires.timestamp()),
            "jti": str(uuid4()),
        }
        token = jwt.encode(claims, self._key, algorithm=ALGORITHM, headers={"kid": self.kid})
        return token, expires


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
