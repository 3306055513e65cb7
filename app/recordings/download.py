"""Recording downloads: one guarded path from a provider's file to storage, for every provider.

A provider module says what to ask for (``RecordingPlan``); this module asks safely:

- Every hop, redirects included, must be https to a host on the provider's allow-list (plain http
  too when private hosts are allowed, which is for tests and closed networks only). Redirects are
  followed here, at most ``MAX_REDIRECTS``, and credentials (a signed form, an ``Authorization``
  header) go to the first origin only.
- No private, loopback, link-local, reserved or multicast address is contacted. The client from
  ``make_http_client`` resolves each host itself, checks every address, and connects to the
  address it checked, so a name that resolves differently the second time (DNS rebinding) gains
  nothing; TLS still verifies the certificate against the host name. The downloader checks before
  each hop as well, which refuses early, with a clear message, whatever client it was given.
- The file must be audio; it is streamed to a temporary file under a size cap while its sha256 is
  computed, and moved into storage only when complete. The temporary file never outlives a failure.

Every failure is a ``RecordingFetchError`` that says whether retrying can help. Its message names
hosts and HTTP statuses, never a URL's path or query (one-time links) nor a secret.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import ipaddress
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpcore
import httpx
import mutagen

from app.config import Settings
from app.recordings.storage import RecordingStorage
from app.webhooks.providers import generic, mango, twilio, zadarma
from app.webhooks.providers.base import (
    ProviderConfig,
    RecordingNotReadyError,
    RecordingPlan,
    RecordingSourceError,
    RecordingTarget,
)

MAX_REDIRECTS = 5
# "Not ready yet" in HTTP terms: the provider may well have the file on a later attempt.
_RETRYABLE_STATUSES = frozenset({404, 408, 409, 425, 429})
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_BODY_HEADERS = frozenset({"content-type", "content-length", "transfer-encoding"})
# A provider's JSON answer naming a link is a few hundred bytes.
_MAX_ANSWER_BYTES = 64 * 1024
_MAX_PROVIDER_TEXT = 160

# The audio types callfunnel keeps, with the file extension each is stored under.
_AUDIO_TYPES: Mapping[str, str] = {
    "audio/mpeg": "mp3",
    "audio/mp3": "mp3",
    "audio/mpeg3": "mp3",
    "audio/x-mpeg": "mp3",
    "audio/x-mpeg-3": "mp3",
    "audio/x-mp3": "mp3",
    "audio/wav": "wav",
    "audio/wave": "wav",
    "audio/x-wav": "wav",
    "audio/vnd.wave": "wav",
    "audio/ogg": "ogg",
    "audio/opus": "ogg",
    "audio/mp4": "m4a",
    "audio/m4a": "m4a",
    "audio/x-m4a": "m4a",
}
# Storage buckets and CDNs behind providers often label every file this way, and no provider
# promises a content type. Such a file is kept only when its first bytes are an audio container,
# under the type those bytes show.
_OCTET_STREAM = "application/octet-stream"
_SNIFF_BYTES = 12

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# (host, port) → the IP addresses the host stands for; raises OSError when it cannot tell.
Resolver = Callable[[str, int], Awaitable[Iterable[str]]]

# NAT64's well-known prefix reaches the IPv4 address in its last 32 bits.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")

_SocketOption = (
    tuple[int, int, int] | tuple[int, int, bytes | bytearray] | tuple[int, int, None, int]
)

PlanBuilder = Callable[[ProviderConfig, RecordingTarget], RecordingPlan]
_PLANS: Mapping[str, PlanBuilder] = {
    "mango": mango.recording_plan,
    "zadarma": zadarma.recording_plan,
    "novofon": functools.partial(zadarma.recording_plan, api_url=zadarma.NOVOFON_API_URL),
    "twilio": twilio.recording_plan,
    "generic": generic.recording_plan,
}


class RecordingFetchError(Exception):
    """A recording could not be downloaded; ``retryable`` says whether asking again can help."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable


@dataclass(frozen=True, slots=True)
class StoredRecording:
    storage_key: str
    content_type: str
    size_bytes: int
    sha256: str
    # Not measured here: an MP3's first bytes do not give it reliably (variable bit rates).
    duration_seconds: int | None = None


# --- where a download may go ---------------------------------------------------------------------


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _is_public(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        # What such an address reaches is the IPv4 address inside it.
        if address.ipv4_mapped is not None:
            return _is_public(address.ipv4_mapped)
        if address.sixtofour is not None:
            return _is_public(address.sixtofour)
        if address in _NAT64:
            return _is_public(ipaddress.IPv4Address(int(address) & 0xFFFF_FFFF))
    return address.is_global and not address.is_multicast


async def _checked_addresses(
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
            if not _is_public(address):
                raise RecordingFetchError(
                    f"refused {host}: {address} is not a public address", retryable=False
                )
    return addresses


def _host_allowed(host: str, pattern: str) -> bool:
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
            addresses = await _checked_addresses(
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


# --- what is downloaded --------------------------------------------------------------------------


def _duration_seconds(path: Path) -> int | None:
    """The length the audio container states; None when it states none (or is not parseable)."""
    try:
        audio = mutagen.File(path)
    except mutagen.MutagenError:
        return None
    length = getattr(getattr(audio, "info", None), "length", None)
    return round(length) if isinstance(length, int | float) and length > 0 else None


def _sniff(head: bytes) -> tuple[str, str] | None:
    """(content type, extension) of a file whose first bytes are a known audio container."""
    if head.startswith(b"ID3"):
        return "audio/mpeg", "mp3"
    # An MPEG audio frame header; layer bits 00 would be AAC's ADTS, not MP3.
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0 and head[1] & 0x06:
        return "audio/mpeg", "mp3"
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return "audio/wav", "wav"
    if head.startswith(b"OggS"):
        return "audio/ogg", "ogg"
    if head[4:8] == b"ftyp":
        return "audio/mp4", "m4a"
    return None


def _media_type(response: httpx.Response) -> str:
    media_type: str = response.headers.get("content-type", "")
    return media_type.split(";")[0].strip().lower()


def _is_file(response: httpx.Response) -> bool:
    media_type = _media_type(response)
    return media_type in _AUDIO_TYPES or media_type == _OCTET_STREAM


def _content_length(response: httpx.Response) -> int | None:
    try:
        return int(response.headers["content-length"])
    except (KeyError, ValueError):
        return None


def _host(url: httpx.URL) -> str:
    return url.raw_host.decode("ascii")


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return url.scheme, _host(url), url.port


def _check_status(response: httpx.Response, host: str) -> None:
    status = response.status_code
    if 200 <= status < 300:
        return
    retryable = status >= 500 or status in _RETRYABLE_STATUSES
    raise RecordingFetchError(f"{host} answered HTTP {status}", retryable=retryable)


@contextlib.contextmanager
def _network_errors(host: str) -> Iterator[None]:
    try:
        yield
    except httpx.TimeoutException as exc:
        raise RecordingFetchError(f"timed out talking to {host}", retryable=True) from exc
    except httpx.TransportError as exc:
        raise RecordingFetchError(
            f"connection to {host} failed ({type(exc).__name__})", retryable=True
        ) from exc


async def _read_answer(response: httpx.Response, host: str) -> object:
    """A provider's answer that is not the file, parsed as JSON (``None`` when it is not JSON)."""
    body = bytearray()
    with _network_errors(host):
        async for chunk in response.aiter_raw():
            body += chunk
            if len(body) > _MAX_ANSWER_BYTES:
                raise RecordingFetchError(
                    f"{host} answered a document of over {_MAX_ANSWER_BYTES} bytes",
                    retryable=False,
                )
    try:
        return json.loads(body)
    except ValueError:
        return None


def _provider_text(text: str, config: ProviderConfig) -> str:
    """A provider's own words made fit for an error message: one short line, no secret echoed."""
    text = " ".join(text.split())
    for name in config.secret_fields:
        secret = getattr(config, name, None)
        if isinstance(secret, str) and secret:
            text = text.replace(secret, "***")
    return text[:_MAX_PROVIDER_TEXT]


@dataclass(frozen=True, slots=True)
class _Written:
    size: int
    sha256: str
    head: bytes


class RecordingDownloader:
    """Downloads one recording per ``fetch`` into ``storage``.

    ``resolver`` serves the check before each hop (the system's DNS by default); the client's own
    connect-time check is what closes DNS rebinding, so pass one from ``make_http_client``.
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        storage: RecordingStorage,
        *,
        max_bytes: int,
        allow_private_hosts: bool,
        resolver: Resolver | None = None,
    ) -> None:
        self._client = client
        self._storage = storage
        self._max_bytes = max_bytes
        self._allow_private = allow_private_hosts
        self._resolver = resolver or system_resolver

    async def fetch(
        self,
        provider: str,
        config: ProviderConfig,
        *,
        provider_ref: str,
        source_url: str | None,
        provider_call_id: str,
    ) -> StoredRecording:
        build_plan = _PLANS.get(provider)
        if build_plan is None:
            raise RecordingFetchError(
                f"recordings of provider {provider[:40]!r} cannot be downloaded", retryable=False
            )
        target = RecordingTarget(
            provider_ref=provider_ref, source_url=source_url, provider_call_id=provider_call_id
        )
        # The provider's words may quote the request; "from None" keeps them out of tracebacks.
        try:
            return await self._carry_out(build_plan(config, target))
        except RecordingNotReadyError as exc:
            raise RecordingFetchError(_provider_text(str(exc), config), retryable=True) from None
        except RecordingSourceError as exc:
            raise RecordingFetchError(_provider_text(str(exc), config), retryable=False) from None

    async def _carry_out(self, plan: RecordingPlan) -> StoredRecording:
        request = self._request(plan.method, plan.url, plan.headers, plan.body)
        async with self._open(request, plan.hosts) as response:
            # Only the provider's API itself answers documents; from the file host, a page
            # is simply not the file.
            answered_by_api = _origin(response.request.url) == _origin(request.url)
            if plan.read_answer is None or _is_file(response) or not answered_by_api:
                return await self._store(response)
            link = plan.read_answer(await _read_answer(response, _host(request.url)))
        async with self._open(self._request("GET", link), plan.hosts) as response:
            return await self._store(response)

    def _request(
        self,
        method: str,
        url: str | httpx.URL,
        headers: Mapping[str, str] | None = None,
        body: bytes = b"",
    ) -> httpx.Request:
        try:
            return self._client.build_request(
                method,
                url,
                # Raw bytes are what is capped, hashed and stored: no decompression bombs.
                headers={**(headers or {}), "accept-encoding": "identity"},
                content=body or None,
            )
        except httpx.InvalidURL:
            raise RecordingFetchError("the recording URL is not valid", retryable=False) from None

    @contextlib.asynccontextmanager
    async def _open(
        self, request: httpx.Request, hosts: Iterable[str]
    ) -> AsyncIterator[httpx.Response]:
        """The successful answer to ``request``, its redirects followed and every hop checked."""
        for _ in range(MAX_REDIRECTS + 1):
            host = await self._check_hop(request.url, hosts)
            with _network_errors(host):
                response = await self._client.send(request, stream=True, follow_redirects=False)
            location = response.headers.get("location")
            if response.status_code not in _REDIRECT_STATUSES or location is None:
                break
            await response.aclose()
            request = self._redirect(request, response.status_code, location, host)
        else:
            raise RecordingFetchError(f"more than {MAX_REDIRECTS} redirects", retryable=False)
        try:
            _check_status(response, host)
            yield response
        finally:
            await response.aclose()

    async def _check_hop(self, url: httpx.URL, hosts: Iterable[str]) -> str:
        host = _host(url)
        if url.scheme != "https" and not (url.scheme == "http" and self._allow_private):
            raise RecordingFetchError(
                f"refused {url.scheme or 'a scheme-less'} URL to {host}: only https is allowed",
                retryable=False,
            )
        if not any(_host_allowed(host, pattern) for pattern in hosts):
            raise RecordingFetchError(
                f"{host or 'a URL without a host'} is not an allowed recording host",
                retryable=False,
            )
        port = url.port or (443 if url.scheme == "https" else 80)
        try:
            await _checked_addresses(host, port, self._resolver, allow_private=self._allow_private)
        except OSError:
            raise RecordingFetchError(f"cannot resolve {host}", retryable=True) from None
        return host

    def _redirect(
        self, previous: httpx.Request, status: int, location: str, host: str
    ) -> httpx.Request:
        try:
            target = previous.url.join(location)
        except httpx.InvalidURL:
            raise RecordingFetchError(
                f"{host} redirected to an invalid URL", retryable=False
            ) from None
        if _origin(target) != _origin(previous.url):
            # Credentials (Mango's signed form, Twilio's and Zadarma's Authorization) are for
            # the origin they were made for, never for where it sends us.
            return self._request("GET", target)
        if status in (307, 308):
            return self._request(previous.method, target, previous.headers, previous.content)
        headers = {k: v for k, v in previous.headers.items() if k.lower() not in _BODY_HEADERS}
        return self._request("GET", target, headers)

    async def _store(self, response: httpx.Response) -> StoredRecording:
        host = _host(response.request.url)
        declared = _media_type(response)
        extension = _AUDIO_TYPES.get(declared)
        if extension is None and declared != _OCTET_STREAM:
            raise RecordingFetchError(
                f"{host} sent {declared or 'no content type'}, not a supported audio type",
                retryable=False,
            )
        if response.headers.get("content-encoding", "identity").strip().lower() != "identity":
            raise RecordingFetchError(f"{host} sent a compressed file", retryable=False)
        length = _content_length(response)
        if length is not None and length > self._max_bytes:
            raise self._too_large(length)
        temp = self._storage.temp_path()
        try:
            written = await self._write(response, temp, host)
            if written.size == 0:
                raise RecordingFetchError(f"{host} sent an empty file", retryable=True)
            content_type = declared
            if extension is None:
                sniffed = _sniff(written.head)
                if sniffed is None:
                    raise RecordingFetchError(
                        f"{host} sent {_OCTET_STREAM} that is not a known audio format",
                        retryable=False,
                    )
                content_type, extension = sniffed
            duration = await asyncio.to_thread(_duration_seconds, temp)
            key = await self._storage.save(temp, extension=extension)
        finally:
            # After a save the file has moved on and this finds nothing.
            await asyncio.to_thread(temp.unlink, missing_ok=True)
        return StoredRecording(
            storage_key=key,
            content_type=content_type,
            size_bytes=written.size,
            sha256=written.sha256,
            duration_seconds=duration,
        )

    async def _write(self, response: httpx.Response, temp: Path, host: str) -> _Written:
        digest = hashlib.sha256()
        size = 0
        head = b""
        file = await asyncio.to_thread(temp.open, "wb")
        try:
            with _network_errors(host):
                async for chunk in response.aiter_raw():
                    size += len(chunk)
                    if size > self._max_bytes:
                        raise self._too_large()
                    digest.update(chunk)
                    head += chunk[: max(0, _SNIFF_BYTES - len(head))]
                    await asyncio.to_thread(file.write, chunk)
        finally:
            await asyncio.to_thread(file.close)
        return _Written(size=size, sha256=digest.hexdigest(), head=head)

    def _too_large(self, size: int | None = None) -> RecordingFetchError:
        what = "" if size is None else f" {size} bytes,"
        return RecordingFetchError(
            f"the recording is{what} over the limit of {self._max_bytes} bytes", retryable=False
        )
