"""What auth's events call a login typed at the door (services/auth/domain/pseudonyms.py)."""

import re
from datetime import timedelta
from pathlib import Path

from services.auth.domain.pseudonyms import LoginPseudonyms
from services.runtime.tokens import TokenIssuer, generate_keypair


def test_a_known_login_is_said_and_an_unknown_text_only_as_a_keyed_pseudonym() -> None:
    ours, theirs = LoginPseudonyms(b"k" * 32), LoginPseudonyms(b"j" * 32)
    assert ours.announced("groupe.atlas", known=True) == "groupe.atlas"
    said = ours.announced("motdepasse!2026", known=False)
    assert re.fullmatch(r"inconnu:[0-9a-f]{24}", said)
    assert ours.announced("motdepasse!2026", known=False) == said  # the same text, the same name
    assert ours.announced("motdepasse!2027", known=False) != said
    assert theirs.announced("motdepasse!2026", known=False) != said  # without the key, no test of a guess


def test_the_key_is_derived_from_the_signing_key_one_per_purpose(tmp_path: Path) -> None:
    def issuer(name: str) -> TokenIssuer:
        generate_keypair(tmp_path / f"{name}.pem", tmp_path / f"{name}.pub")
        pem = (tmp_path / f"{name}.pem").read_bytes()
        return TokenIssuer(pem, issuer="i", audience="a", ttl=timedelta(minutes=1))

    one, other = issuer("one"), issuer("other")
    assert one.derived_key("login-pseudonym") == one.derived_key("login-pseudonym")
    assert len(one.derived_key("login-pseudonym")) == 32
    assert one.derived_key("login-pseudonym") != one.derived_key("something-else")
    assert one.derived_key("login-pseudonym") != other.derived_key("login-pseudonym")
