"""Which address a request came from, with proxy headers trusted only from configured proxies.

``allowed_ips`` of an integration is only as good as this answer. uvicorn's own proxy support
trusts 127.0.0.1 by default, so any local process could send ``X-Forwarded-For: <allowed IP>`` and
pass; ``callfunnel serve`` turns it off and the service decides here instead, from
``CALLFUNNEL_TRUSTED_PROXIES``.
"""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

Network = IPv4Network | IPv6Network


def _parse(value: str) -> IPv4Address | IPv6Address | None:
    try:
        return ip_address(value.strip())
    except ValueError:
        return None


def _trusted(address: IPv4Address | IPv6Address, proxies: Sequence[Network]) -> bool:
    return any(address.version == net.version and address in net for net in proxies)


def client_address(
    peer: str | None, forwarded_for: str | None, proxies: Sequence[Network]
) -> str | None:
    """The client's address: the peer, unless the peer is a trusted proxy.

    Behind trusted proxies, ``X-Forwarded-For`` is read from the right (each proxy appends the
    address it saw) and the first hop that is not itself a trusted proxy is the client. Entries
    left of it were written by the client and prove nothing. An unreadable entry stops the walk at
    the proxy that passed it on: its address is the most that can be vouched for.
    """
    if peer is None or not proxies:
        return peer
    current = _parse(peer)
    if current is None or not _trusted(current, proxies):
        return peer
    hops = [hop for hop in (forwarded_for or "").split(",") if hop.strip()]
    for hop in reversed(hops):
        address = _parse(hop)
        if address is None:
            return str(current)
        current = address
        if not _trusted(current, proxies):
            return str(current)
    return str(current)


def request_scheme(
    scheme: str, peer: str | None, forwarded_proto: str | None, proxies: Sequence[Network]
) -> str:
    """``http`` or ``https`` as the client used it: ``X-Forwarded-Proto`` only from a trusted proxy
    (the nearest one's word: the right-most entry), the connection's own scheme otherwise."""
    current = _parse(peer) if peer is not None else None
    if current is None or not forwarded_proto or not _trusted(current, proxies):
        return scheme
    nearest = forwarded_proto.split(",")[-1].strip().lower()
    return nearest if nearest in {"http", "https"} else scheme
