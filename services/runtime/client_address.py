"""Who is calling, as an address: what rate limits and lockouts are counted by.

A caller's own address is the peer of the connection. Only a trusted proxy (the portal, an ingress)
may speak for someone else through ``X-Forwarded-For``; the client is then the rightmost address
that is not itself a trusted proxy. Anyone else's header is ignored: believing it would let a
flooder pick a fresh address for every attempt, or borrow its victim's.
"""

import ipaddress
from collections.abc import Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def trusted_networks(setting: str) -> tuple[Network, ...]:
    """``"127.0.0.1, 10.0.0.0/8"`` as networks; raises ``ValueError`` on anything else (a typo here
    would silently trust nobody, or everybody)."""
    return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in setting.split(",") if part.strip())


def _trusted(address: str, networks: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_address(peer: str | None, forwarded_for: str | None, trusted: Sequence[Network]) -> str:
    peer = peer or "inconnu"
    if not forwarded_for or not _trusted(peer, trusted):
        return peer
    for hop in reversed(forwarded_for.split(",")):
        try:
            address = str(ipaddress.ip_address(hop.strip()))
        except ValueError:
            return peer  # a proxy we trust wrote nonsense: count the proxy, not the nonsense
        if not _trusted(address, trusted):
            return address
    return peer
