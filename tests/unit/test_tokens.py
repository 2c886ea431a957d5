import base64
import hashlib
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from services.runtime.settings import ServiceSettings
from services.runtime.tokens import (
    CLOCK_SKEW_S,
    InvalidToken,
    Principal,
    TokenIssuer,
    TokenVerifier,
    generate_keypair,
    load_private_key,
    load_public_key,
    pem_key_id,
)

ISSUER, AUDIENCE = "espace-recouvrement/auth", "espace-recouvrement"


@pytest.fixture
def keys(tmp_path: Path) -> tuple[TokenIssuer, TokenVerifier]:
    generate_keypair(tmp_path / "k.pem", tmp_path / "k.pub")
    issuer = TokenIssuer((tmp_path / "k.pem").read_bytes(), issuer=ISSUER, audience=AUDIENCE, ttl=timedelta(minutes=15))
    return issuer, TokenVerifier.from_file(tmp_path / "k.pub", issuer=ISSUER, audience=AUDIENCE)


PRINCIPAL = Principal("acc-1", "demo.groupe", frozenset({"1000002", "1000003"}))


def test_a_token_carries_the_account_and_its_affiliates(keys: tuple[TokenIssuer, TokenVerifier]) -> None:
    issuer, verifier = keys
    token, _ = issuer.issue(PRINCIPAL, datetime.now(UTC))
    assert verifier.verify(token) == PRINCIPAL
    assert verifier.verify(token) == PRINCIPAL  # from the cache this time


def test_a_remembered_token_still_expires(
    keys: tuple[TokenIssuer, TokenVerifier], monkeypatch: pytest.MonkeyPatch
) -> None:
    issuer, verifier = keys
    token, expires = issuer.issue(PRINCIPAL, datetime.now(UTC))
    assert verifier.verify(token) == PRINCIPAL
    later = expires.timestamp() + 1
    monkeypatch.setattr(time, "time", lambda: later)
    with pytest.raises(InvalidToken):
        verifier.verify(token)


def test_a_token_from_an_issuer_whose_clock_runs_a_little_ahead_is_accepted_and_expires_exactly(
    keys: tuple[TokenIssuer, TokenVerifier],
) -> None:
    """Security review 2026-12-04 §B (leeway 0): a token whose iat was a second ahead of the verifying
    host's clock was refused ("The token is not yet valid (iat)")."""
    issuer, verifier = keys
    now = datetime.now(UTC)
    ahead, _ = issuer.issue(PRINCIPAL, now + timedelta(seconds=CLOCK_SKEW_S - 5))
    assert verifier.verify(ahead) == PRINCIPAL
    far_ahead, _ = issuer.issue(PRINCIPAL, now + timedelta(seconds=CLOCK_SKEW_S + 60))
    with pytest.raises(InvalidToken, match="not yet valid"):
        verifier.verify(far_ahead)
    expired, expires = issuer.issue(PRINCIPAL, now - issuer.ttl - timedelta(seconds=2))
    assert expires < now
    with pytest.raises(InvalidToken, match="expired"):  # two seconds after exp: no leeway there
        verifier.verify(expired)


def test_an_altered_or_foreign_token_is_refused(keys: tuple[TokenIssuer, TokenVerifier], tmp_path: Path) -> None:
    issuer, verifier = keys
    token, _ = issuer.issue(PRINCIPAL, datetime.now(UTC))
    verifier.verify(token)
    header, payload, signature = token.split(".")
    with pytest.raises(InvalidToken):
        verifier.verify(f"{header}.{payload}.{signature[:-4]}AAAA")
    generate_keypair(tmp_path / "other.pem", tmp_path / "other.pub")
    foreign = TokenIssuer(
        (tmp_path / "other.pem").read_bytes(), issuer=ISSUER, audience=AUDIENCE, ttl=timedelta(minutes=15)
    )
    with pytest.raises(InvalidToken):
        verifier.verify(foreign.issue(PRINCIPAL, datetime.now(UTC))[0])
    wrong_audience = TokenIssuer(
        (tmp_path / "k.pem").read_bytes(), issuer=ISSUER, audience="another-app", ttl=timedelta(minutes=15)
    )
    with pytest.raises(InvalidToken):
        verifier.verify(wrong_audience.issue(PRINCIPAL, datetime.now(UTC))[0])


def _issuer(private_key: Path) -> TokenIssuer:
    return TokenIssuer(private_key.read_bytes(), issuer=ISSUER, audience=AUDIENCE, ttl=timedelta(minutes=15))


def test_a_token_names_its_signing_key(tmp_path: Path) -> None:
    generate_keypair(tmp_path / "k.pem", tmp_path / "k.pub")
    issuer = _issuer(tmp_path / "k.pem")
    token, _ = issuer.issue(PRINCIPAL, datetime.now(UTC))
    header = jwt.get_unverified_header(token)
    raw = load_public_key((tmp_path / "k.pub").read_bytes()).public_bytes(Encoding.Raw, PublicFormat.Raw)
    assert header["kid"] == issuer.kid == hashlib.sha256(raw).hexdigest()[:16]
    assert header["alg"] == "EdDSA"
    assert pem_key_id((tmp_path / "k.pem").read_bytes()) == pem_key_id((tmp_path / "k.pub").read_bytes()) == issuer.kid


def test_a_rotation_refuses_no_valid_token(tmp_path: Path) -> None:
    """Add the new public key everywhere, switch auth's private key, remove the old public key."""
    generate_keypair(tmp_path / "old.pem", tmp_path / "old.pub")
    generate_keypair(tmp_path / "new.pem", tmp_path / "new.pub")
    old_token, _ = _issuer(tmp_path / "old.pem").issue(PRINCIPAL, datetime.now(UTC))

    both = TokenVerifier.from_files([tmp_path / "old.pub", tmp_path / "new.pub"], issuer=ISSUER, audience=AUDIENCE)
    assert both.verify(old_token) == PRINCIPAL  # step 1: the new key is known, auth still signs with the old
    new_token, _ = _issuer(tmp_path / "new.pem").issue(PRINCIPAL, datetime.now(UTC))
    assert both.verify(new_token) == PRINCIPAL  # step 2: auth signs with the new key
    assert both.verify(old_token) == PRINCIPAL  # ... and tokens already out still pass

    after = TokenVerifier.from_file(tmp_path / "new.pub", issuer=ISSUER, audience=AUDIENCE)  # step 3
    assert after.verify(new_token) == PRINCIPAL
    with pytest.raises(InvalidToken, match="unknown signing key"):
        after.verify(old_token)


def test_a_token_without_kid_or_with_a_forged_kid_is_refused(tmp_path: Path) -> None:
    generate_keypair(tmp_path / "k.pem", tmp_path / "k.pub")
    generate_keypair(tmp_path / "other.pem", tmp_path / "other.pub")
    issuer = _issuer(tmp_path / "k.pem")
    verifier = TokenVerifier.from_files([tmp_path / "k.pub"], issuer=ISSUER, audience=AUDIENCE)
    claims = jwt.decode(issuer.issue(PRINCIPAL, datetime.now(UTC))[0], options={"verify_signature": False})
    private = load_private_key((tmp_path / "k.pem").read_bytes())
    with pytest.raises(InvalidToken, match="no kid"):
        verifier.verify(jwt.encode(claims, private, algorithm="EdDSA"))
    with pytest.raises(InvalidToken, match="unknown signing key"):
        verifier.verify(jwt.encode(claims, private, algorithm="EdDSA", headers={"kid": "0123456789abcdef"}))
    _, payload, signature = issuer.issue(PRINCIPAL, datetime.now(UTC))[0].split(".")
    numeric_kid = base64.urlsafe_b64encode(b'{"alg":"EdDSA","typ":"JWT","kid":7}').rstrip(b"=").decode()
    with pytest.raises(InvalidToken):
        verifier.verify(f"{numeric_kid}.{payload}.{signature}")
    # another key claiming this key's kid: the kid picks the key, the signature still has to match it
    other = load_private_key((tmp_path / "other.pem").read_bytes())
    with pytest.raises(InvalidToken):
        verifier.verify(jwt.encode(claims, other, algorithm="EdDSA", headers={"kid": issuer.kid}))
    with pytest.raises(InvalidToken):
        verifier.verify("not-a-token")


def test_the_settings_list_public_keys_for_a_rotation(tmp_path: Path) -> None:
    generate_keypair(tmp_path / "keys" / "old.pem", tmp_path / "keys" / "old.pub.pem")
    generate_keypair(tmp_path / "next" / "new.pem", tmp_path / "next" / "new.pub.pem")
    # a folder laid out like .data/keys also holds the private key: only *.pub.pem is taken
    single = ServiceSettings(TOKEN_PUBLIC_KEY_FILE=tmp_path / "keys" / "old.pub.pem")
    assert single.token_public_keys() == [tmp_path / "keys" / "old.pub.pem"]
    with pytest.raises(FileNotFoundError):  # configured but not there: a wrongly mounted Secret
        ServiceSettings(TOKEN_PUBLIC_KEY_FILE=tmp_path / "missing.pem").token_public_keys()
    listed = ServiceSettings(
        TOKEN_PUBLIC_KEY_FILE=tmp_path / "missing.pem",
        TOKEN_PUBLIC_KEY_FILES=[tmp_path / "keys" / "old.pub.pem", tmp_path / "next"],
    )
    assert listed.token_public_keys() == [tmp_path / "keys" / "old.pub.pem", tmp_path / "next" / "new.pub.pem"]
    with pytest.raises(FileNotFoundError):
        ServiceSettings(TOKEN_PUBLIC_KEY_FILES=[tmp_path / "gone.pub.pem"]).token_public_keys()


def test_the_public_key_list_is_read_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    both = [tmp_path / "a.pub.pem", tmp_path / "b.pub.pem"]
    monkeypatch.setenv("TOKEN_PUBLIC_KEY_FILES", f'["{both[0]}", "{both[1]}"]')
    assert ServiceSettings().token_public_key_files == both
    monkeypatch.setenv("TOKEN_PUBLIC_KEY_FILES", f"{both[0]}, {both[1]}")
    assert ServiceSettings().token_public_key_files == both
    monkeypatch.setenv("TOKEN_PUBLIC_KEY_FILES", "")
    assert ServiceSettings().token_public_key_files == []
