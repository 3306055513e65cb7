"""The guarded HTTP client recordings are downloaded with.

No private, loopback, link-local, reserved or multicast address is contacted. The client from
``make_http_client`` resolves each host itself, checks every address, and connects to the address
it checked, so a name that resolves differently the second time (DNS rebinding) gains nothing; TLS
still verifies the certificate against the host name. It never follows a redirect by itself: the
downloader (``app/recordings/download.py``) follows them, checking every hop with ``host_allowed``
and ``checked_addresses`` before the client connects.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable

import httpcore
import httpx

from app.config import Settings
from app.recordings.errors import RecordingFetchError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# (host, port) → the IP addresses the host stands for; raises OSError when it cannot tell.
Resolver = Callable[[str, int], Awaitable[Iterable[str]]]

# NAT64's well-known prefix reaches the IPv4 address in its last 32 bits.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
# Ranges that ``is_global`` calls public but that reach a local network: deprecated site-local
# (fec0::/10), IPv4-compatible addresses (::a.b.c.d, the IPv4 address inside; ``::/96``) and
# local-use NAT64 (64:ff9b:1::/48, RFC 8215: whatever IPv4 network the site maps it to).
_SITE_LOCAL = ipaddress.IPv6Network("fec0::/10")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
_LOCAL_NAT64 = ipaddress.IPv6Network("64:ff9b:1::/48")

_SocketOption = (
    tuple[int, int, int] | tuple[int, int, bytes | bytearray] | tuple[int, int, None, int]
)


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def is_public(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        # What such an address reaches is the IPv4 address inside it.
        if address.ipv4_mapped is not None:
            return is_public(address.ipv4_mapped)
        if address.sixtofour is not None:
            return is_public(address.sixtofour)
        if address in _NAT64:
            return is_public(ipaddress.IPv4Address(int(address) & 0xFFFF_FFFF))
        if address in _SITE_LOCAL or address in _IPV4_COMPATIBLE or address in _LOCAL_NAT64:
            return False
    return address.is_global and not address.is_multicast


async def checked_addresses(
    host: str, port: int, resolver: Resolver, *, allow_private: bool
) -> list[IPAddress]:
    """The addresses ``host`` stands for; ``OSError`` when DNS cannot tell.

    One address that is not public refuses the host: a name mixing public and private answers is
    broken or hostile, and trying only its public addresses would hide which.
    """
    try:
        addresses: list[IPAddress] = [ipaddress.ip_address(host)]
    except ValueError:
        addresses = [ipaddress.ip_address(address) for address in await resolver(host, port)]
    if not addresses:
        raise OSError(f"{host} has no address")
    if not allow_private:
        for address in addresses:
            if not is_public(address):
                raise RecordingFetchError(
                    f"refused {host}: {address} is not a public address", retryable=False
                )
    return addresses


def host_allowed(host: str, pattern: str) -> bool:
    """``*.example.com`` allows example.com and every name under it; anything else is exact."""
    host, pattern = host.lower().rstrip("."), pattern.lower().rstrip(".")
    if pattern.startswith("*."):
        domain = pattern[2:]
        # "*.com" would allow a whole top-level domain: never what an allow-list means.
        return "." in domain and (host == domain or host.endswith("." + domain))
    return host == pattern


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    """Connects only to addresses it has resolved and checked itself."""

    def __init__(
        self,
        resolver: Resolver,
        *,
        allow_private: bool,
        inner: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self._resolver = resolver
        self._allow_private = allow_private
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[_SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            addresses = await checked_addresses(
                host, port, self._resolver, allow_private=self._allow_private
            )
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}") from exc
        options = None if socket_options is None else list(socket_options)

        async def connect(address: IPAddress) -> httpcore.AsyncNetworkStream:
            return await self._inner.connect_tcp(
                str(address),
                port,
                timeout=timeout,
                local_address=local_address,
                socket_options=options,
            )

        for address in addresses[:-1]:
            with contextlib.suppress(httpcore.ConnectError):
                return await connect(address)
        return await connect(addresses[-1])

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _GuardedTransport(httpx.AsyncHTTPTransport):
    def __init__(self, backend: httpcore.AsyncNetworkBackend) -> None:
        super().__init__(trust_env=False)
        # httpx has no parameter for the pool's network backend, so its pool is replaced by one
        # that connects through the guard. No connection limit: the worker's batch bounds it.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=None,
            keepalive_expiry=5.0,
            network_backend=backend,
        )


def make_http_client(settings: Settings, *, resolver: Resolver | None = None) -> httpx.AsyncClient:
    """The client recordings are downloaded with: it never reaches a non-public address unless
    ``recordings_allow_private_hosts``, and never follows a redirect by itself."""
    backend = _GuardedBackend(
        resolver or system_resolver, allow_private=settings.recordings_allow_private_hosts
    )
    connect = settings.recordings_connect_timeout_seconds
    read = settings.recordings_read_timeout_seconds
    return httpx.AsyncClient(
        transport=_GuardedTransport(backend),
        timeout=httpx.Timeout(connect=connect, read=read, write=read, pool=connect),
        follow_redirects=False,
        # No proxy and no .netrc credentials from the environment.
        trust_env=False,
        headers={"user-agent": "callfunnel"},
    )
