import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from services.runtime.tokens import InvalidToken, Principal, TokenIssuer, TokenVerifier, generate_keypair

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
