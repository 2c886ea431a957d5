"""``SealVerifier.open`` reads a seal itself (PyJWT took 1.6 ms per quote): it must accept exactly the
seals ``Sealer`` makes with a held key and refuse everything PyJWT's reading refused, and more."""

import base64
import json
from pathlib import Path

import jwt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.runtime.seals import InvalidSeal, Sealer, SealVerifier
from services.runtime.tokens import ALGORITHM, generate_keypair, key_id, load_public_key

KIND = "quote"


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    folder = tmp_path_factory.mktemp("keys")
    generate_keypair(folder / "ours.pem", folder / "ours.pub.pem")
    generate_keypair(folder / "stranger.pem", folder / "stranger.pub.pem")
    return folder / "ours.pem", folder / "ours.pub.pem", folder / "stranger.pem"


@pytest.fixture(scope="module")
def sealer(keys: tuple[Path, Path, Path]) -> Sealer:
    return Sealer.from_file(keys[0], kind=KIND)


@pytest.fixture(scope="module")
def verifier(keys: tuple[Path, Path, Path]) -> SealVerifier:
    return SealVerifier.from_files([keys[1]], kind=KIND)


def pyjwt_open(public_pem: bytes, seal: str) -> bytes | None:
    """How the verifier read a seal before (PyJWT), as the reference: the document or None."""
    key = load_public_key(public_pem)
    reader = jwt.PyJWS(algorithms=[ALGORITHM])
    try:
        header = reader.get_unverified_header(seal)
        if header.get("kid") != key_id(key) or header.get("typ") != KIND:
            return None
        document: bytes = reader.decode(seal, key, algorithms=[ALGORITHM])
    except jwt.PyJWTError:
        return None
    return document


def ours(verifier: SealVerifier, seal: str) -> bytes | None:
    try:
        return verifier.open(seal)
    except InvalidSeal:
        return None


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def reheaded(seal: str, header: dict[str, object]) -> str:
    """The same payload and signature under another header (the signature no longer matches)."""
    _, payload, signature = seal.split(".")
    return f"{b64(json.dumps(header).encode())}.{payload}.{signature}"


DOCUMENT = json.dumps({"quote_id": "q-1", "to_pay": "123456.78", "schedule": ["x" * 40] * 61}).encode()


def test_a_seal_opens_to_its_document_byte_for_byte(sealer: Sealer, verifier: SealVerifier) -> None:
    assert verifier.open(sealer.seal(DOCUMENT)) == DOCUMENT


def test_every_kind_of_wrong_seal_is_refused_as_pyjwt_refused_it(
    sealer: Sealer, verifier: SealVerifier, keys: tuple[Path, Path, Path]
) -> None:
    seal = sealer.seal(DOCUMENT)
    header, payload, signature = seal.split(".")
    kid = sealer.kid
    stranger = Sealer.from_file(keys[2], kind=KIND)
    wrong = {
        "sealed by another key": stranger.seal(DOCUMENT),
        "another kind of seal": Sealer.from_file(keys[0], kind="account").seal(DOCUMENT),
        "another document under the signature": f"{header}.{b64(DOCUMENT.replace(b'123456', b'000001'))}.{signature}",
        "a signature cut short": f"{header}.{payload}.{signature[:-4]}",
        "no signature": f"{header}.{payload}.",
        "alg none": reheaded(seal, {"alg": "none", "kid": kid, "typ": KIND}),
        "a crit member": reheaded(seal, {"alg": ALGORITHM, "kid": kid, "typ": KIND, "crit": ["b64"], "b64": False}),
        "a kid that is not a string": reheaded(seal, {"alg": ALGORITHM, "kid": 7, "typ": KIND}),
        "padding": f"{header}.{payload}==.{signature}",
        "a character outside base64url": f"{header}.{payload[:10]}+{payload[11:]}.{signature}",
        "a non-ASCII character": f"{header}.{payload[:10]}é{payload[11:]}.{signature}",
        "four parts": f"{seal}.{payload}",
        "two parts": f"{header}.{payload}",
        "empty": "",
        "not a seal": "abc.def.ghi",
        "a header that is not JSON": f"{b64(b'{alg')}.{payload}.{signature}",
        "a header that is a list": f"{b64(b'[1]')}.{payload}.{signature}",
        "a header nested past the parser's depth": f"{b64(b'[' * 5000 + b']' * 5000)}.{payload}.{signature}",
    }
    public_pem = keys[1].read_bytes()
    for what, bad in wrong.items():
        assert ours(verifier, bad) is None, what
        assert pyjwt_open(public_pem, bad) is None, what  # the reference refused each too


@settings(max_examples=300, deadline=None)
@given(document=st.binary(max_size=2000), position=st.integers(min_value=0), replacement=st.characters())
def test_a_seal_changed_in_any_one_character_is_refused(
    sealer: Sealer, verifier: SealVerifier, document: bytes, position: int, replacement: str
) -> None:
    seal = sealer.seal(document)
    assert ours(verifier, seal) == document
    index = position % len(seal)
    changed = seal[:index] + replacement + seal[index + 1 :]
    if changed != seal:
        assert ours(verifier, changed) is None, (index, replacement)
