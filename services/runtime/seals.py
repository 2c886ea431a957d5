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

import base64
import json
import re
from collections.abc import Iterable
from pathlib import Path

import jwt
from cryptography.exceptions import InvalidSignature
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
        """The sealed document; raises ``InvalidSeal`` for anything not sealed by a held key.

        Read here, not by PyJWT: its decoding checks each base64 character in a Python loop and
        ``get_unverified_header`` then ``decode`` read the whole seal twice, 1.6 ms for a quote of
        60 installments (10 kB), on every validation. The checks are PyJWT's, stricter where a
        seal of ours never differs (no padding, only the three header members ``Sealer`` writes)."""
        parts = seal.encode("ascii", errors="replace").split(b".")
        if len(parts) != 3:
            raise InvalidSeal("un sceau a trois parties")
        header_part, payload_part, signature_part = parts
        header = _header(_segment(header_part, "en-tête"))
        key = self._keys.get(header["kid"])
        if key is None:
            raise InvalidSeal("clé de scellement inconnue")
        if header["typ"] != self._kind:
            raise InvalidSeal(f"sceau d'un autre type : {header['typ']!r}")
        signature = _segment(signature_part, "signature")
        try:
            key.verify(signature, header_part + b"." + payload_part)  # the signed text is the base64 itself
        except InvalidSignature:
            raise InvalidSeal("signature invalide") from None
        return _segment(payload_part, "document")


_BASE64URL = re.compile(rb"[A-Za-z0-9_-]*")
_HEADER_MEMBERS = frozenset({"alg", "kid", "typ"})


def _segment(part: bytes, name: str) -> bytes:
    """A base64url part as JWS writes it: no padding, no other character, the one canonical spelling
    (the unused low bits of the last character at zero)."""
    if len(part) % 4 == 1 or not _BASE64URL.fullmatch(part):
        raise InvalidSeal(f"{name} illisible")
    decoded = base64.urlsafe_b64decode(part + b"=" * (-len(part) % 4))
    if base64.urlsafe_b64encode(decoded).rstrip(b"=") != part:
        raise InvalidSeal(f"{name} illisible")
    return decoded


def _header(raw: bytes) -> dict[str, str]:
    """Exactly what ``Sealer`` writes: ``alg`` EdDSA, ``kid`` and ``typ`` strings, nothing else (a
    ``crit`` or ``b64`` member would change how the rest is read)."""
    try:
        header = json.loads(raw)
    except (ValueError, RecursionError):  # not JSON, or nested past the parser's depth
        raise InvalidSeal("en-tête illisible") from None
    if (
        not isinstance(header, dict)
        or set(header) != _HEADER_MEMBERS
        or header["alg"] != ALGORITHM
        or not all(isinstance(value, str) for value in header.values())
    ):
        raise InvalidSeal("en-tête inattendu")
    return header
