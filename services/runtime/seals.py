"""Seals: a service vouches for a document it issued, so that another can trust it without waiting
for the event that announces it.

A seal is a compact JWS (EdDSA, the issuer's key named by ``kid`` as for access tokens) whose
payload is the document's JSON. simulation seals every quote it issues; the portal (or any gateway)
hands the seal back with the validation, and requests takes the quote from the seal when its own
projection of ``simulation.quotes.v1`` has not caught up yet: a user who clicks "Valider" right after
"Simuler" on a busy day is never told that his quote does not exist. The seal proves who issued the
document and that not a byte changed; what the document says is checked as for one that came by
Kafka (owner, expiry, debt version, not superseded).
"""

from collections.abc import Iterable
from pathlib import Path

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from services.runtime.tokens import ALGORITHM, key_id, load_private_key, load_public_key

_JWS = jwt.PyJWS(algorithms=[ALGORITHM])


class InvalidSeal(Exception):
    pass


class Sealer:
    def __init__(self, private_key_pem: bytes, *, kind: str) -> None:
        self._key = load_private_key(private_key_pem)
        self.kid = key_id(self._key.public_key())
        self._kind = kind

    @classmethod
    def from_file(cls, path: Path, *, kind: str) -> "Sealer":
        return cls(path.read_bytes(), kind=kind)

    def seal(self, document: bytes) -> str:
        return _JWS.encode(document, self._key, algorithm=ALGORITHM, headers={"kid": self.kid, "typ": self._kind})


class SealVerifier:
    """Holds the issuer's public keys (several during a rotation) and returns a sealed document."""

    def __init__(self, public_keys_pem: Iterable[bytes], *, kind: str) -> None:
        self._keys: dict[str, Ed25519PublicKey] = {}
        for pem in public_keys_pem:
            key = load_public_key(pem)
            self._keys[key_id(key)] = key
        if not self._keys:
            raise ValueError("a seal verifier needs at least one public key")
        self._kind = kind

    @classmethod
    def from_files(cls, paths: Iterable[Path], *, kind: str) -> "SealVerifier":
        return cls([path.read_bytes() for path in paths], kind=kind)

    @property
    def key_ids(self) -> frozenset[str]:
        return frozenset(self._keys)

    def open(self, seal: str) -> bytes:
        """The sealed document; raises ``InvalidSeal`` for anything not sealed by a held key."""
        try:
            header = _JWS.get_unverified_header(seal)
        except jwt.PyJWTError as exc:
            raise InvalidSeal(str(exc)) from exc
        kid = header.get("kid")
        key = self._keys.get(kid) if isinstance(kid, str) else None
        if key is None:
            raise InvalidSeal("clé de scellement inconnue")
        if header.get("typ") != self._kind:
            raise InvalidSeal(f"sceau d'un autre type : {header.get('typ')!r}")
        try:
            document: bytes = _JWS.decode(seal, key, algorithms=[ALGORITHM])
        except jwt.PyJWTError as exc:
            raise InvalidSeal(str(exc)) from exc
        return document
