"""Who is calling: the peer, unless a trusted proxy names someone (and only then)."""

import pytest

from services.runtime.client_address import client_address, trusted_networks

PORTAL = trusted_networks("10.0.0.0/8, 127.0.0.1")


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        ("198.51.100.1", None, "198.51.100.1"),
        ("198.51.100.1", "203.0.113.9", "198.51.100.1"),  # not a proxy of ours: its header is a wish
        ("10.0.0.5", "203.0.113.9", "203.0.113.9"),
        ("10.0.0.5", "1.2.3.4, 203.0.113.9", "203.0.113.9"),  # the leftmost is the client's own claim
        ("10.0.0.5", "203.0.113.9, 10.0.0.7", "203.0.113.9"),  # through two proxies of ours
        ("10.0.0.5", "10.0.0.7", "10.0.0.5"),
        ("10.0.0.5", "pas une adresse", "10.0.0.5"),
        ("127.0.0.1", None, "127.0.0.1"),
        (None, None, "inconnu"),
        ("10.0.0.5", " 2001:db8::1 ", "2001:db8::1"),
    ],
)
def test_client_address(peer: str | None, forwarded: str | None, expected: str) -> None:
    assert client_address(peer, forwarded, PORTAL) == expected


def test_a_typo_in_the_trusted_list_is_refused_not_ignored() -> None:
    with pytest.raises(ValueError):
        trusted_networks("10.0.0.0/8, 10.0.0.300")
    assert trusted_networks("") == ()
